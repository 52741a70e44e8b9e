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
 *
 * A turn is the stream's for its budget only: one not given back by `turnEndsAfterMs(budget)`
 * (the budget with some slack) is taken back, whatever its holder is still doing, and the holder
 * is told (`onTakenBack`, given at join: the stream's painter goes on at background priority,
 * pooled-stream.ts). So however slow a stream's frames are — and however long its own hard limit
 * grows for frames abandoned in a row — no other stream waits for it longer than its budget
 * (issue 20, item 2: one odd frame held the single turn for 30 s).
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
  /** `onTakenBack`: called when one of this stream's turns is taken back (it overran its budget). */
  join(name: string, onTakenBack?: () => void): TurnTaker;
  /** Streams waiting for a turn right now (for metrics). */
  readonly waiting: number;
  /** Turns taken back so far because they overran their budget. */
  readonly takenBack: number;
}

/** A stream counts as active (its wish bounds others) for this long after its last turn. */
const ACTIVE_MS = 3000;

/** A turn is taken back this many times its budget after it was granted… */
export const TURN_SLACK = 1.5;
/** …plus this much (IPC, a frame's encode): a frame planned to its budget is never cut short. */
export const TURN_GRACE_MS = 100;

/** When a turn with this budget is taken back if it is still held, ms after it was granted. */
export function turnEndsAfterMs(budgetMs: number): number {
  return budgetMs * TURN_SLACK + TURN_GRACE_MS;
}

/** Runs `fire` after `ms`; the returned function cancels it (tests pass a virtual one). */
export type TurnTimer = (fire: () => void, ms: number) => () => void;

const realTimer: TurnTimer = (fire, ms) => {
  const timer = setTimeout(fire, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

interface Member {
  name: string;
  wishMs: number | undefined;
  limitMs: number;
  lastTurnAt: number;
  left: boolean;
  onTakenBack: (() => void) | undefined;
}

export function createPaintTurns(slots = 1, now: () => number = () => performance.now(), timer: TurnTimer = realTimer): PaintTurns {
  const members = new Set<Member>();
  const queue: { member: Member; grant: (turn: Turn) => void; refuse: (e: Error) => void }[] = [];
  let busy = 0;
  let takenBack = 0;

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

  /** A turn for `member`: given back by its holder, or taken back once its budget (with slack) is spent. */
  function grantTo(member: Member): Turn {
    busy++;
    member.lastTurnAt = now();
    const budgetMs = budgetFor(member);
    let released = false;
    let cancel = (): void => undefined;
    const release = (): void => {
      if (released) return;
      released = true;
      cancel();
      member.lastTurnAt = now();
      busy--;
      pump();
    };
    if (Number.isFinite(budgetMs)) {
      cancel = timer(() => {
        if (released) return;
        takenBack++;
        try {
          member.onTakenBack?.(); // first: its painter steps back before the next stream paints
        } finally {
          release();
        }
      }, turnEndsAfterMs(budgetMs));
    }
    return { budgetMs, release };
  }

  function pump(): void {
    while (busy < slots && queue.length > 0) {
      const next = queue.shift()!;
      next.grant(grantTo(next.member));
    }
  }

  return {
    get waiting() {
      return queue.length;
    },
    get takenBack() {
      return takenBack;
    },
    join(name, onTakenBack) {
      const member: Member = { name, wishMs: undefined, limitMs: Number.POSITIVE_INFINITY, lastTurnAt: Number.NEGATIVE_INFINITY, left: false, onTakenBack };
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
