/**
 * Per-client rate limits as token buckets (`perMinute` tokens, refilled continuously, a burst of
 * the same size), keyed by client address. The map is bounded: at `maxClients` the fullest
 * buckets (clients that have been quiet) are forgotten first, which can only be generous to them.
 */
export interface RateLimiter {
  /** Takes one token for `client`: 0 if allowed, else seconds until one is free. */
  take(client: string): number;
}

export function createRateLimiter(perMinute: number, maxClients = 10_000, now: () => number = () => Date.now()): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const ratePerMs = perMinute / 60_000;

  function refill(bucket: { tokens: number; at: number }, t: number): void {
    bucket.tokens = Math.min(perMinute, bucket.tokens + (t - bucket.at) * ratePerMs);
    bucket.at = t;
  }

  function forgetQuietest(t: number): void {
    for (const [key, bucket] of buckets) {
      refill(bucket, t);
      if (bucket.tokens >= perMinute) buckets.delete(key);
    }
    // Everyone is busy: drop the oldest entries (insertion order) to stay within the cap.
    while (buckets.size >= maxClients) buckets.delete(buckets.keys().next().value!);
  }

  return {
    take(client) {
      const t = now();
      let bucket = buckets.get(client);
      if (!bucket) {
        if (buckets.size >= maxClients) forgetQuietest(t);
        bucket = { tokens: perMinute, at: t };
        buckets.set(client, bucket);
      }
      refill(bucket, t);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.ceil((1 - bucket.tokens) / ratePerMs / 1000);
    },
  };
}
