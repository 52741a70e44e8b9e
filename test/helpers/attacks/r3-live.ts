/**
 * Round 3's live attacks (issue 20), numbered as in the issue. Each takes the target and bounds
 * and returns what the attacker saw; the bench measures its healthy publisher beside it.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { type AttackResult, type Bounds, type Target, createRoom, hangUp, liveFrame, openSocket, recordSocket, sleep } from './http.js';

/** A `width`×`height` JPEG (a plain colour: tiny, whatever its size). */
export function sliverJpeg(width = 10_000, height = 16): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 40 } } }).jpeg().toBuffer();
}

/**
 * 20.2. A publisher sends a 10 000×16 JPEG as a live frame every `intervalMs`. Before: painted
 * as a 90 000×144 stream with a 4 800 px style, holding the one paint turn until the hard limit
 * (healthy streams elsewhere at 0.1–0.3 fps). After: each is refused from its header (BAD_FRAME,
 * naming the aspect limit) and the stream stays open.
 */
export async function sliverLiveFrames(
  target: Target,
  { intervalMs = 1000, width = 10_000, height = 16, ...bounds }: Bounds & { intervalMs?: number; width?: number; height?: number },
): Promise<AttackResult> {
  const answers = {};
  const attack = `a ${width}×${height} JPEG as a live frame every ${intervalMs} ms`;
  const room = await createRoom(target, `sliver-${randomBytes(3).toString('hex')}`);
  const jpeg = await sliverJpeg(width, height);
  const opened = await openSocket(room.publishUrl, { from: target.from });
  if ('refused' in opened) return { attack, answers: { [opened.refused]: 1 }, observed: {} };
  const { socket } = opened;
  const { errorMessages } = recordSocket(socket, answers);
  const started = performance.now();
  let firstAnswerMs: number | undefined;
  socket.once('message', () => (firstAnswerMs = performance.now() - started));
  let sent = 0;
  const deadline = performance.now() + bounds.durationMs;
  while (performance.now() < deadline && !bounds.signal?.aborted && socket.readyState === socket.OPEN) {
    socket.send(liveFrame(sent++, jpeg));
    await sleep(intervalMs, bounds.signal);
  }
  const stillOpen = socket.readyState === socket.OPEN;
  hangUp(socket);
  return {
    attack,
    answers,
    observed: {
      framesSent: sent,
      jpegBytes: jpeg.length,
      firstAnswerAfterMs: firstAnswerMs === undefined ? null : Math.round(firstAnswerMs),
      streamStillOpen: stillOpen,
      firstError: errorMessages[0] ?? null,
    },
  };
}
