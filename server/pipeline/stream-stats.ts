/**
 * Counters and rates for one live stream, reported about once a second. Rates are frames seen
 * in the last second of a sliding window, so they fall to 0 when a stream stops.
 */
export interface StreamCounters {
  framesIn: number;
  framesOut: number;
  framesDropped: number;
}

export function createRate(windowMs = 1000, now: () => number = () => performance.now()) {
  const times: number[] = [];
  const prune = (t: number): void => {
    while (times.length > 0 && times[0]! <= t - windowMs) times.shift();
  };
  return {
    tick(): void {
      const t = now();
      times.push(t);
      prune(t);
    },
    /** Events per second over the window. */
    perSecond(): number {
      prune(now());
      return (times.length * 1000) / windowMs;
    },
  };
}

/** Exponentially weighted moving average; `value` is undefined until the first sample. */
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
