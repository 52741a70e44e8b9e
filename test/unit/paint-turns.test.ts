/** Turns at the CPU for live streams: order and budgets, by hand (virtual clock). */
import { describe, expect, it } from 'vitest';
import { createPaintTurns, turnEndsAfterMs, type Turn, type TurnTimer } from '../../server/live/paint-turns.js';

/** A virtual timer: `advance(ms)` fires what is due. */
function virtualTimer(): { timer: TurnTimer; advance: (ms: number) => void; pending: () => number } {
  let t = 0;
  let due: { at: number; fire: () => void }[] = [];
  return {
    timer: (fire, ms) => {
      const entry = { at: t + ms, fire };
      due.push(entry);
      return () => {
        due = due.filter((d) => d !== entry);
      };
    },
    advance(ms) {
      t += ms;
      const now = due.filter((d) => d.at <= t);
      due = due.filter((d) => d.at > t);
      for (const d of now) d.fire();
    },
    pending: () => due.length,
  };
}

describe('paint turns', () => {
  it('one stream at a time, first come first served', async () => {
    const turns = createPaintTurns(1, () => 0);
    const a = turns.join('a');
    const b = turns.join('b');
    const order: string[] = [];
    const first = await a.acquire();
    const waitingB = b.acquire().then((t) => (order.push('b'), t));
    const waitingA = a.acquire().then((t) => (order.push('a'), t));
    expect(turns.waiting).toBe(2);
    first.release();
    (await waitingB).release();
    (await waitingA).release();
    expect(order).toEqual(['b', 'a']);
    first.release(); // safe twice
    expect(turns.waiting).toBe(0);
  });

  it('alone: a stream gets its own limit; with others: no more than the least they wish for', async () => {
    let t = 0;
    const turns = createPaintTurns(1, () => t);
    const healthy = turns.join('healthy');
    const greedy = turns.join('greedy');
    healthy.wish(100, 1500); // deadline 10 fps
    greedy.wish(20_000, 1500); // 10 steps at 640×360
    const h1 = await healthy.acquire();
    expect(h1.budgetMs).toBe(1500); // greedy has not painted yet: not active
    h1.release();
    const g1 = await greedy.acquire();
    expect(g1.budgetMs).toBe(100); // healthy is active: greedy paints within healthy's frame time
    g1.release();
    const h2 = await healthy.acquire();
    expect(h2.budgetMs).toBe(1500); // greedy's wish (capped at its limit) does not shrink healthy
    h2.release();
    t += 10_000; // healthy went quiet
    const g2 = await greedy.acquire();
    expect(g2.budgetMs).toBe(1500);
    g2.release();
  });

  it('leaving drops a waiting turn', async () => {
    const turns = createPaintTurns(1, () => 0);
    const a = turns.join('a');
    const b = turns.join('b');
    const held: Turn = await a.acquire();
    const waiting = b.acquire();
    b.leave();
    await expect(waiting).rejects.toThrow(/left/);
    await expect(b.acquire()).rejects.toThrow(/left/);
    held.release();
    b.leave(); // safe twice
  });

  it('a turn held past its budget is taken back: its holder is told and the next stream paints (issue 20, item 2)', async () => {
    const clock = virtualTimer();
    const told: string[] = [];
    const turns = createPaintTurns(1, () => 0, clock.timer);
    const greedy = turns.join('greedy', () => told.push('greedy'));
    const healthy = turns.join('healthy', () => told.push('healthy'));
    greedy.wish(undefined, 2000);
    healthy.wish(100, 2000);
    const held = await healthy.acquire();
    held.release();
    const g = await greedy.acquire();
    expect(g.budgetMs).toBe(100); // healthy is active: greedy's turn is healthy's frame time
    let granted = false;
    const next = healthy.acquire().then((t) => ((granted = true), t));
    // Just before its end the turn is still greedy's…
    clock.advance(turnEndsAfterMs(100) - 1);
    await Promise.resolve();
    expect(granted).toBe(false);
    expect(told).toEqual([]);
    // …then it is taken back, whatever greedy's painter is doing: healthy paints.
    clock.advance(1);
    const h = await next;
    expect(told).toEqual(['greedy']);
    expect(turns.takenBack).toBe(1);
    g.release(); // greedy's late release changes nothing (healthy keeps its turn)
    let third = false;
    void greedy.acquire().then(() => (third = true));
    await Promise.resolve();
    expect(third).toBe(false);
    h.release();
    await Promise.resolve();
    expect(third).toBe(true);
    expect(clock.pending()).toBe(1); // only greedy's new turn has a timer: released turns cancel theirs
  });

  it('a stream without a finite budget (no limit, nobody else) has no timer', async () => {
    const clock = virtualTimer();
    const turns = createPaintTurns(1, () => 0, clock.timer);
    const alone = turns.join('alone');
    const turn = await alone.acquire();
    expect(turn.budgetMs).toBe(Number.POSITIVE_INFINITY);
    expect(clock.pending()).toBe(0);
    turn.release();
  });
});
