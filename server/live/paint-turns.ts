/**
 * Turns at the CPU for live streams. Painters are separate processes, but they share the
 * machine's cores: two painting at once would each run at half speed (worse with wasm's thread
 * pool, whose barriers wait for the slowest thread). So streams paint in turns, `slots` at a
 * time, first come first served (each stream waits for at most one turn, so this is round robin),
 * and each turn has a time budget:
 *
 *   budget(s) = min(own limit of s, the least that any *other* active stream wishes a frame to take)
 *
 * A stream's wish is its deadline (1000 / target fps) or, without one, what its full plan costs.
 * So a stream that asks for a lot (a big size, many steps) paints within the frame time of the
 * others while they are there: it gets a cheaper plan, and nobody waits longer than one of their
 * own frames for it. Alone, it gets its own limit.
 */

export interface Turn {
  /** The time this frame may take, ms. */
  readonly budgetMs: number;
  /** Gives the turn back (safe twice). */
  release(): void;
}

export interface TurnTaker {
  /** Waits for this stream's turn. Rejects if the stream has left. */
  acquire(): Promise<Turn>;
  /**
   * How long this stream would like a frame to take (ms): its deadline, or the cost of its full
   * plan; undefined while unknown.
   */
  wish(ms: number | undefined, limitMs: number): void;
  /** Leaves: drops a waiting turn and releases a held one. Safe twice. */
  leave(): void;
}

export interface PaintTurns {
  join(name: string): TurnTaker;
  /** Streams waiting for a turn right now (for metrics). */
  readonly waiting: number;
}

/** A stream counts as active (its wish bounds others) for this long after its last turn. */
const ACTIVE_MS = 3000;

interface Member {
  name: string;
  wishMs: number | undefined;
  limitMs: number;
  lastTurnAt: number;
  left: boolean;
}

export function createPaintTurns(slots = 1, now: () => number = () => performance.now()): PaintTurns {
  const members = new Set<Member>();
  const queue: { member: Member; grant: (turn: Turn) => void; refuse: (e: Error) => void }[] = [];
  let busy = 0;

  function budgetFor(member: Member): number {
    let budget = member.limitMs;
    const t = now();
    for (const other of members) {
      if (other === member || other.left) continue;
      const active = t - other.lastTurnAt < ACTIVE_MS || queue.some((w) => w.member === other);
      if (active) budget = Math.min(budget, other.wishMs ?? other.limitMs);
    }
    return budget;
  }

  function pump(): void {
    while (busy < slots && queue.length > 0) {
      const next = queue.shift()!;
      busy++;
      next.member.lastTurnAt = now();
      let released = false;
      next.grant({
        budgetMs: budgetFor(next.member),
        release() {
          if (released) return;
          released = true;
          next.member.lastTurnAt = now();
          busy--;
          pump();
        },
      });
    }
  }

  return {
    get waiting() {
      return queue.length;
    },
    join(name) {
      const member: Member = { name, wishMs: undefined, limitMs: Number.POSITIVE_INFINITY, lastTurnAt: Number.NEGATIVE_INFINITY, left: false };
      members.add(member);
      return {
        acquire() {
          if (member.left) return Promise.reject(new Error(`stream ${name} has left`));
          return new Promise<Turn>((grant, refuse) => {
            queue.push({ member, grant, refuse });
            pump();
          });
        },
        wish(ms, limitMs) {
          member.wishMs = ms === undefined ? undefined : Math.min(ms, limitMs);
          member.limitMs = limitMs;
        },
        leave() {
          if (member.left) return;
          member.left = true;
          members.delete(member);
          for (let i = queue.length - 1; i >= 0; i--) {
            if (queue[i]!.member === member) queue.splice(i, 1)[0]!.refuse(new Error(`stream ${name} has left`));
          }
        },
      };
    },
  };
}
