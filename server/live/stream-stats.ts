/**
 * Counters and rates for one live stream, reported about once a second.
 *
 * A rate is NOT "events in the last second": a stream painted at 0.5 fps would read 0.0 most of
 * the time, and a fast one would jitter by ±1 fps with the phase of the stats timer. Instead it
 * is the mean interval between the recent events (a sliding window of a few seconds, always
 * keeping the last two events so a slow stream still has an interval): exact for a steady
 * stream whatever its speed. Once the time since the last event outgrows that mean interval
 * (the stream slowed down or stopped), the open interval counts too, so the rate decays
 * smoothly toward 0, and reaches 0 when nothing happened for `forgetMs`.
 */
export interface StreamCounters {
  framesIn: number;
  framesOut: number;
  framesDropped: number;
}

export interface RateOptions {
  /** Events in this recent window are averaged, ms. */
  windowMs?: number;
  /** The last two events are kept this long even outside the window (slow streams), ms. */
  forgetMs?: number;
}

export function createRate({ windowMs = 5000, forgetMs = 30_000 }: RateOptions = {}, now: () => number = () => performance.now()) {
  const times: number[] = [];
  const prune = (t: number): void => {
    while (times.length > 0 && (t - times[0]! > forgetMs || (times.length > 2 && t - times[0]! > windowMs))) times.shift();
  };
  return {
    tick(): void {
      const t = now();
      times.push(t);
      prune(t);
    },
    /** Events per second. */
    perSecond(): number {
      const t = now();
      prune(t);
      const n = times.length;
      if (n === 0) return 0;
      const first = times[0]!;
      // One event so far: one in the time since (at most 1 a second, so a fresh one is not ∞).
      if (n === 1) return 1000 / Math.max(t - first, 1000);
      const span = times[n - 1]! - first;
      const meanGap = span / (n - 1);
      // Continuous at t − last = meanGap: n / (span + meanGap) = 1 / meanGap.
      if (span > 0 && t - times[n - 1]! <= meanGap) return (1000 * (n - 1)) / span;
      return (1000 * n) / Math.max(t - first, 1);
    },
  };
}

/** Exponentially weighted moving average; `value` is 0 until the first sample. */
export function createAverage(smoothing = 0.2) {
  let value: number | undefined;
  return {
    add(sample: number): void {
      value = value === undefined ? sample : value + smoothing * (sample - value);
    },
    get value(): number {
      return value ?? 0;
    },
  };
}
