/**
 * Long-lived connections counted per client and in all (server-sent event streams): one more
 * than a cap is refused before it takes a file descriptor for long — 429 for a client at its
 * own cap, 503 when the server is at its total. Each admitted connection gives its place back
 * once, when it ends.
 */
import { BusyError, RateLimitedError } from '../errors.js';

export interface ConnectionCaps {
  /** A place for `client`, or a thrown 429/503; call the returned function once it ends (safe twice). */
  admit(client: string): () => void;
  readonly open: number;
}

export function createConnectionCaps(what: string, limits: { perClient: number; total: number }): ConnectionCaps {
  const perClient = new Map<string, number>();
  let open = 0;
  return {
    get open() {
      return open;
    },
    admit(client) {
      const mine = perClient.get(client) ?? 0;
      if (mine >= limits.perClient) throw new RateLimitedError(`this address already has ${limits.perClient} ${what} open, the most one client may; close some first`, 5);
      if (open >= limits.total) throw new BusyError(`the server has ${limits.total} ${what} open, the most it takes; try again later`, 5);
      perClient.set(client, mine + 1);
      open += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        open -= 1;
        const left = (perClient.get(client) ?? 1) - 1;
        if (left > 0) perClient.set(client, left);
        else perClient.delete(client);
      };
    },
  };
}
