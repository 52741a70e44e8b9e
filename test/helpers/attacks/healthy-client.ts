/**
 * The "healthy client" every attack is measured against: a publisher in its own room sending a
 * small real-looking JPEG, latest frame wins (the next frame goes when the previous stylized one
 * is back, at most `fps` a second), and an HTTP probe of cheap routes every 100 ms. Both record
 * timed samples; window statistics count a frame or request still unanswered at the time of the
 * question as lasting at least until then, so a frozen server shows as slow, not as no data.
 */
import type WebSocket from 'ws';
import { type Target, createRoom, liveFrame, openSocket, request } from './http.js';

export interface Sample {
  /** performance.now() when sent. */
  sentAt: number;
  /** Round trip in ms; undefined while unanswered. */
  ms?: number;
  /** HTTP status (0 = no answer) for probes. */
  status?: number;
}

export interface WindowStats {
  /** Samples sent in the window. */
  n: number;
  /** Of those, still unanswered (counted with their age so far). */
  unanswered: number;
  /** Of those, answered with no HTTP status (refused, reset: the server is down). */
  failed: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Statistics of the samples sent in [from, to). */
export function windowStats(samples: readonly Sample[], from: number, to: number, now = performance.now()): WindowStats {
  const inWindow = samples.filter((s) => s.sentAt >= from && s.sentAt < to);
  const values = inWindow.map((s) => s.ms ?? now - s.sentAt);
  const round = (v: number | null): number | null => (v === null ? null : Math.round(v));
  return {
    n: inWindow.length,
    unanswered: inWindow.filter((s) => s.ms === undefined).length,
    failed: inWindow.filter((s) => s.status === 0).length,
    p50: round(percentile(values, 0.5)),
    p99: round(percentile(values, 0.99)),
    max: round(values.length > 0 ? Math.max(...values) : null),
  };
}

/** The longest time any sample overlapping [from, to) waited (answered or not), in ms. */
export function longestWait(samples: readonly Sample[], from: number, to: number, now = performance.now()): number {
  let longest = 0;
  for (const s of samples) {
    const end = s.ms === undefined ? now : s.sentAt + s.ms;
    if (end < from || s.sentAt >= to) continue;
    longest = Math.max(longest, end - s.sentAt);
  }
  return Math.round(longest);
}

export interface HealthyPublisher {
  room: string;
  samples: Sample[];
  /** The close code, once the server closed the socket. */
  closedWith(): number | undefined;
  stop(): void;
}

export async function startHealthyPublisher(
  target: Target,
  { jpeg, fps = 5, resendAfterMs = 5000 }: { jpeg: Uint8Array; fps?: number; resendAfterMs?: number },
): Promise<HealthyPublisher> {
  const room = await createRoom(target, `healthy-${Math.random().toString(36).slice(2, 8)}`);
  const opened = await openSocket(room.publishUrl, { from: target.from });
  if ('refused' in opened) throw new Error(`healthy publisher refused: ${opened.refused}`);
  const socket: WebSocket = opened.socket;
  const samples: Sample[] = [];
  const bySeq = new Map<number, Sample>();
  let closed: number | undefined;
  socket.on('close', (code) => (closed = code));
  socket.on('error', () => undefined);
  socket.on('message', (data, isBinary) => {
    if (!isBinary) return;
    const bytes = data as Buffer;
    const sample = bySeq.get(bytes.readUInt32BE(0));
    if (sample && sample.ms === undefined) sample.ms = performance.now() - sample.sentAt;
  });
  let seq = 0;
  let last: Sample | undefined;
  const timer = setInterval(() => {
    if (socket.readyState !== socket.OPEN) return;
    const now = performance.now();
    if (last && now - last.sentAt < 1000 / fps) return;
    // Latest frame wins: a new frame only once the last one is back (or given up on).
    if (last && last.ms === undefined && now - last.sentAt < resendAfterMs) return;
    last = { sentAt: now };
    samples.push(last);
    bySeq.set(seq, last);
    socket.send(liveFrame(seq++, jpeg));
  }, 20);
  return {
    room: room.room,
    samples,
    closedWith: () => closed,
    stop() {
      clearInterval(timer);
      socket.terminate();
    },
  };
}

export interface HttpProbe {
  samples: Record<string, Sample[]>;
  stop(): void;
}

/** GETs each route every `intervalMs`, one request in flight per route (a frozen route waits). */
export function startHttpProbe(
  target: Target,
  { routes = ['/healthz', '/api/styles'], intervalMs = 100, timeoutMs = 120_000 }: { routes?: string[]; intervalMs?: number; timeoutMs?: number } = {},
): HttpProbe {
  const samples: Record<string, Sample[]> = Object.fromEntries(routes.map((r) => [r, []]));
  const busy = new Set<string>();
  const inFlight = new Set<AbortController>();
  let stopped = false;
  const timer = setInterval(() => {
    routes.forEach((route) => {
      if (busy.has(route) || stopped) return;
      busy.add(route);
      const sample: Sample = { sentAt: performance.now() };
      samples[route]!.push(sample);
      // A fresh connection each time: a kept-alive one can be reset by the server's keep-alive
      // timer right after a long stall, which would read as a failure of the server.
      const controller = new AbortController();
      inFlight.add(controller);
      void request(`${target.baseUrl}${route}`, { signal: controller.signal, timeoutMs, ...(target.from ? { from: target.from } : {}) }).then((answer) => {
        inFlight.delete(controller);
        busy.delete(route);
        if (stopped) return; // cut off by stop(): not an answer
        sample.ms = answer.ms;
        sample.status = answer.status;
      });
    });
  }, intervalMs);
  return {
    samples,
    stop() {
      stopped = true;
      clearInterval(timer);
      for (const controller of inFlight) controller.abort();
    },
  };
}
