/** Turns at the CPU for live streams: order and budgets, by hand (virtual clock). */
import { describe, expect, it } from 'vitest';
import { createPaintTurns, type Turn } from '../../server/live/paint-turns.js';

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
});
