/** A real `ws` client that records what the server sends. */
import WebSocket from 'ws';

export interface RecordingClient {
  socket: WebSocket;
  /** Binary messages received (kept only with keepFrames, the default). */
  frames: Buffer[];
  frameCount: number;
  messages: Record<string, unknown>[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves when `predicate` holds (checked on every message), or rejects after `ms`. */
  until(predicate: () => boolean, ms?: number): Promise<void>;
}

export function connect(url: string, { keepFrames = true }: { keepFrames?: boolean } = {}): Promise<RecordingClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const frames: Buffer[] = [];
    const messages: Record<string, unknown>[] = [];
    const waiters = new Set<() => void>();
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      socket.on('close', (code, reason) => done({ code, reason: reason.toString() })),
    );
    const counter = { frames: 0 };
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        counter.frames++;
        if (keepFrames) frames.push(data as Buffer);
      }
      if (!isBinary) messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
      for (const w of waiters) w();
    });
    socket.once('open', () =>
      resolve({
        socket,
        frames,
        get frameCount() {
          return counter.frames;
        },
        messages,
        closed,
        until(predicate, ms = 60_000) {
          return new Promise((ok, fail) => {
            if (predicate()) return ok();
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`condition not met within ${ms} ms (${frames.length} frames, ${messages.length} messages)`));
            }, ms);
            const check = (): void => {
              if (!predicate()) return;
              clearTimeout(timer);
              waiters.delete(check);
              ok();
            };
            waiters.add(check);
          });
        },
      }),
    );
    socket.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    socket.once('error', reject);
  });
}
