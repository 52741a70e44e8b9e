/**
 * A chunk worker process (forked by the job runner): loads the backend and network once, then
 * stylizes chunks on request — in order, none dropped, each frame warm-started from the previous
 * one, more steps on the first frame and after scene cuts — and encodes the kept frames.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { decodeImage, encodeImage } from '../../codec/image-codec.js';
import { DEFAULTS } from '../../config.js';
import { selectBackend } from '../../engine/backend.js';
import type { FeatureNetwork } from '../../engine/networks/network.js';
import { loadNetwork } from '../../engine/networks/load-network.js';
import { createStylizer } from '../../engine/stylizer.js';
import { createSceneCutDetector } from '../../pipeline/scene-cut.js';
import { FfmpegError, decodeRgbFrames, encodeH264, type FrameSink } from '../ffmpeg.js';
import type { ChunkTask, FromWorker, ToWorker } from './worker-protocol.js';

const PREVIEW_EVERY_MS = 1000;
let network: FeatureNetwork | undefined;
let queue: Promise<void> = Promise.resolve();
/** The encoder of the chunk in progress: stopped if the runner goes away mid-chunk. */
let activeSink: FrameSink | undefined;

function send(message: FromWorker): void {
  process.send?.(message);
}

process.on('message', (message: ToWorker) => {
  queue = queue.then(() => handle(message)).catch((error: unknown) => {
    const detail = error instanceof FfmpegError ? error.detail : undefined;
    send({
      type: 'error',
      ...(message.type === 'chunk' ? { jobId: message.jobId, chunk: message.chunk.index } : {}),
      message: error instanceof Error ? error.message : String(error),
      ...(detail ? { detail } : {}),
    });
  });
});
// The runner going away (disconnect) or closing us (SIGTERM): stop the encoder first, or the
// ffmpeg child, seeing its input end, would go on to finish a segment in a folder being deleted.
const stop = (): void => {
  activeSink?.abort();
  process.exit(0);
};
process.on('disconnect', stop);
process.on('SIGTERM', stop);

async function handle(message: ToWorker): Promise<void> {
  if (message.type === 'init') {
    const backend = await selectBackend({ prefer: message.backend, wasmThreads: message.threads });
    network = (await loadNetwork({ model: message.model, weights: message.weights, modelsDir: message.modelsDir, seed: message.seed })).network;
    send({ type: 'ready', backend: backend.name, model: network.name });
    return;
  }
  await stylizeChunk(message);
}

async function stylizeChunk(task: ChunkTask): Promise<void> {
  if (!network) throw new Error('worker not initialised');
  const { chunk, options, workSize } = task;
  const stylizer = createStylizer(network, options, { ownsNetwork: false });
  const tmp = `${task.segmentPath}.tmp`;
  const sink = encodeH264(tmp, task.info, workSize, task.outSize);
  activeSink = sink;
  try {
    const style = await decodeImage(task.stylePath, { longSide: Math.max(workSize.width, workSize.height), minShortSide: network.minSide });
    stylizer.setStyle([{ image: style }]);
    const cuts = createSceneCutDetector();
    let index = chunk.decodeFrom;
    let kept = 0;
    let lastPreview = 0;
    for await (const data of decodeRgbFrames(task.input, task.info, workSize, { start: chunk.decodeFrom, end: chunk.end })) {
      const frame = { ...workSize, data };
      const cold = index === chunk.decodeFrom || cuts.isCut(frame);
      if (index === chunk.decodeFrom) cuts.isCut(frame); // seed the detector with the first frame
      const result = await stylizer.stylizeFrame(frame, {
        steps: cold ? options.firstFrameSteps : options.stepsPerFrame,
        warmStart: !cold,
        motion: options.motion ?? DEFAULTS.motion,
        temporalWeight: options.temporalWeight ?? DEFAULTS.temporalWeight,
      });
      if (index >= chunk.start) {
        await sink.write(result.image.data);
        kept++;
        send({ type: 'progress', jobId: task.jobId, chunk: chunk.index, framesKept: kept });
        if (performance.now() - lastPreview > PREVIEW_EVERY_MS) {
          lastPreview = performance.now();
          await writeFile(`${task.previewPath}.${process.pid}.tmp`, await encodeImage(result.image, 'jpeg', 80));
          await rename(`${task.previewPath}.${process.pid}.tmp`, task.previewPath);
        }
      }
      index++;
    }
    if (kept !== chunk.end - chunk.start) throw new Error(`chunk ${chunk.index}: decoded ${kept} of its ${chunk.end - chunk.start} frames`);
    await sink.finish();
    await rename(tmp, task.segmentPath);
    send({ type: 'done', jobId: task.jobId, chunk: chunk.index, frames: kept });
  } catch (error) {
    sink.abort();
    await rm(tmp, { force: true });
    throw error;
  } finally {
    activeSink = undefined;
    stylizer.dispose();
  }
}
