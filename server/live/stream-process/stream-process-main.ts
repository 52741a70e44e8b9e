/**
 * A live stream process: one per published stream, forked by the painter pool. It owns the
 * tfjs backend, the network, the stream's stylizer (warm-start state, Adam moments, style
 * targets) and every decode and encode of the stream's frames, so none of that ever runs on the
 * server's event loop or in its thread pool. The server kills it when the stream ends, when a
 * frame overruns the hard limit, or when it grows too large; all its memory goes with it.
 */
import { decodeImage, encodeImage } from '../../codec/image-codec.js';
import { loadEngine } from '../../engine/load-engine.js';
import type { RgbImage } from '../../engine/image.js';
import { createStylizer, type Stylizer } from '../../engine/stylizer.js';
import { StylizeError, ErrorCode } from '../../errors.js';
import { createPainterCache, type PainterCache } from '../../painter/painter-cache.js';
import type { FeatureNetwork } from '../../engine/networks/network.js';
import { createStyleLibrary, type StyleLibrary } from '../../styles/style-library.js';
import { createFrameStylizer, type FrameStylizer } from './frame-stylizer.js';
import { createLivePainter, type LivePainter } from './live-painter.js';
import { createStrokeLivePainter } from './stroke-live-painter.js';
import { strokePainterFor } from '../../painter/stroke-painter-key.js';
import { SHIPPED_PAINTERS_DIR } from '../../paths.js';
import type { FromStreamProcess, StreamProcessInit, PaintRequest, ToStreamProcess } from './stream-process-protocol.js';

/** Error messages go to clients: short, and never an echo of what a client sent. */
const MAX_MESSAGE = 200;

let frames: FrameStylizer | undefined;
let queue: Promise<void> = Promise.resolve();
/** Messages received and not yet handled: the learned painter's idle training yields to them. */
let waiting = 0;

function send(message: FromStreamProcess): void {
  process.send?.(message);
}

function describe(error: unknown): { code: string; message: string } {
  const code = error instanceof StylizeError ? error.code : ErrorCode.INTERNAL;
  const message = error instanceof Error ? error.message : String(error);
  return { code, message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message };
}

async function init(message: StreamProcessInit): Promise<void> {
  try {
    const { backend, network } = await loadEngine(message);
    const styles = createStyleLibrary({ stylesDir: message.stylesDir, uploadsDir: message.uploadsDir });
    const stylizer = createStylizer(network, {}, { ownsNetwork: true });
    await warmUp(stylizer);
    frames = createFrameStylizer({
      stylizer,
      minSide: network.minSide,
      floorShortSide: message.minWorkingSize,
      styleImage: (id, longSide) => styles.decoded(id, longSide, network.minSide),
      maxImagePixels: message.maxImagePixels,
      maxWorkPixels: message.maxWorkPixels,
      createPainter: painterFactory(
        network,
        styles,
        message.paintersDir
          ? createPainterCache(message.paintersDir, { warn: (m) => process.stderr.write(`warning: ${m}\n`), shipped: SHIPPED_PAINTERS_DIR })
          : undefined,
      ),
    });
    send({ type: 'ready', backend: backend.name, threads: backend.threads, model: network.name, description: network.description });
  } catch (error) {
    send({ type: 'fatal', ...describe(error) });
    process.exitCode = 1;
    process.disconnect?.();
  }
}

/**
 * One cold and one flow-following frame on a tiny picture before saying ready: the first run of
 * each kernel compiles and allocates (seconds on a slow machine), and that must not count against
 * a stream's first frame.
 */
async function warmUp(stylizer: Stylizer): Promise<void> {
  const tiny = (seed: number): RgbImage => {
    const data = new Uint8Array(64 * 64 * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * seed) % 251;
    return { width: 64, height: 64, data };
  };
  stylizer.setStyle([{ image: tiny(37) }]);
  await stylizer.stylizeFrame(tiny(11), { steps: 1 });
  await stylizer.stylizeFrame(tiny(13), { steps: 1, warmStart: true, motion: 'flow', temporalWeight: 1 });
  stylizer.reset();
  await decodeImage(await encodeImage(tiny(7), 'jpeg'));
}

/** A stream's learned painter: the kept one for its style and weights, or a fresh one. */
function painterFactory(network: FeatureNetwork, styles: StyleLibrary, cache: PainterCache | undefined) {
  return async (what: { mode: 'keyframes' | 'learned'; style: string; contentWeight: number; styleWeight: number; workSize: { width: number; height: number } }): Promise<LivePainter> => {
    if (what.mode === 'keyframes') {
      const bytes = (await styles.image(what.style)).bytes;
      return createStrokeLivePainter({
        dirs: cache ? [cache.dir, SHIPPED_PAINTERS_DIR] : [SHIPPED_PAINTERS_DIR],
        what: strokePainterFor(bytes, what.style, network.name),
        warn: (m) => process.stderr.write(`warning: ${m}\n`),
      });
    }
    // The style at the training size's long side (half the working size's).
    const longSide = Math.max(what.workSize.width, what.workSize.height) / 2;
    const style = await styles.decoded(what.style, Math.max(network.minSide, Math.round(longSide)), network.minSide);
    const bytes = cache ? (await styles.image(what.style)).bytes : undefined;
    return createLivePainter({
      network,
      style,
      contentWeight: what.contentWeight,
      styleWeight: what.styleWeight,
      workSize: what.workSize,
      ...(cache && bytes
        ? { cache: { store: cache, what: { styleBytes: bytes, styleName: what.style, network: network.name, contentWeight: what.contentWeight, styleWeight: what.styleWeight, preserveColors: false } } }
        : {}),
    });
  };
}

async function paint(request: PaintRequest): Promise<void> {
  if (!frames) return send({ type: 'failed', id: request.id, code: ErrorCode.INTERNAL, message: 'painter not initialised' });
  try {
    const painted = await frames.process(
      { seq: request.seq, timestampMs: request.timestampMs, jpeg: request.jpeg, receivedAt: performance.now() },
      request.settings,
      request.budgetMs,
      request.costHint,
    );
    const { queueAgeMs: _queued, ...report } = painted;
    send({ type: 'painted', id: request.id, frame: { ...report, rss: process.memoryUsage.rss() } });
  } catch (error) {
    send({ type: 'failed', id: request.id, ...describe(error) });
    return;
  }
  // The frame is answered: the learned painter (if any) trains now, yielding to the next frame
  // once it paints (frame-stylizer.ts idle()).
  try {
    await frames.idle(() => waiting > 0);
  } catch (error) {
    process.stderr.write(`warning: learned painter: ${describe(error).message}\n`);
  }
}

process.on('message', (message: ToStreamProcess) => {
  // One frame at a time, in order: the server sends the next only after this one's answer.
  waiting++;
  queue = queue.then(() => {
    waiting--;
    return message.type === 'init' ? init(message) : paint(message);
  });
});
// The server went away (or killed our channel): nothing to paint for. The stream's painter is
// kept first (if it earned it), within a second.
process.on('disconnect', () => {
  const done = (): never => process.exit(process.exitCode ?? 0);
  if (!frames) done();
  setTimeout(done, 1000).unref();
  void queue.then(() => frames?.dispose()).then(done, done);
});
