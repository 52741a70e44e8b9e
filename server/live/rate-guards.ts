/** Per-connection guards on how often a client may send. */

/** A publisher sending more than this many messages a second, for 3 seconds running, is flooding. */
export const MAX_MESSAGES_PER_SECOND = 120;

/** At most `perSecond` events in any one-second window. */
export function createRateCap(perSecond: number): { allow(): boolean } {
  const times: number[] = [];
  return {
    allow() {
      const now = performance.now();
      while (times.length > 0 && times[0]! <= now - 1000) times.shift();
      if (times.length >= perSecond) return false;
      times.push(now);
      return true;
    },
  };
}

/** True once a client has sent over MAX_MESSAGES_PER_SECOND for 3 seconds, or 3× that within one. */
export function createFloodGuard(): { tooMany(): boolean } {
  let windowStart = performance.now();
  let count = 0;
  let overSeconds = 0;
  return {
    tooMany() {
      const now = performance.now();
      if (now - windowStart >= 1000) {
        overSeconds = count > MAX_MESSAGES_PER_SECOND ? overSeconds + 1 : 0;
        windowStart = now;
        count = 0;
      }
      count++;
      return overSeconds >= 3 || count > MAX_MESSAGES_PER_SECOND * 3;
    },
  };
}
