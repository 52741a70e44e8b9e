/**
 * A chunk worker process (forked by a worker pool): loads the backend and network once, then
 * paints chunks on request, one at a time, with stylizeChunk — this file only carries messages.
 * A parent that goes away stops the chunk in progress (its ffmpeg children too) and the process.
 */
import { loadEngine } from '../../engine/load-engine.js';
import { createPainterCache, type PainterCache } from '../../painter/painter-cache.js';
import type { FeatureNetwork } from '../../engine/networks/network.js';
import { SHIPPED_PAINTERS_DIR } from '../../paths.js';
import { FfmpegError } from '../../video/ffmpeg.js';
import { stylizeChunk } from './stylize-chunk.js';
import type { ChunkTask, FromChunkProcess, ToChunkProcess, ChunkProcessInit } from './chunk-process-protocol.js';

const send = (message: FromChunkProcess): void => {
  process.send?.(message);
};

function main(): void {
  let network: FeatureNetwork | undefined;
  let painters: PainterCache | undefined;
  let queue: Promise<void> = Promise.resolve();
  const stop = new AbortController();

  const init = async (message: ChunkProcessInit): Promise<void> => {
    const engine = await loadEngine(message);
    const backend = engine.backend;
    network = engine.network;
    // A damaged painter file is ignored (a new painter learns); the warning goes to the parent's log.
    // The built-in paintings' shipped painters (models/painters) start a job in one of them
    // trained: its chunks then only go on teaching it (PAINTER_TRAINING.learnedSteps).
    if (message.paintersDir) painters = createPainterCache(message.paintersDir, { warn: (m) => process.stderr.write(`warning: ${m}\n`), shipped: SHIPPED_PAINTERS_DIR });
    send({ type: 'ready', backend: backend.name, model: network.name });
  };

  const paint = async (task: ChunkTask): Promise<void> => {
    if (!network) throw new Error('worker not initialised');
    const { frames } = await stylizeChunk(task, {
      network,
      ...(painters ? { painters } : {}),
      signal: stop.signal,
      onProgress: (framesKept) => send({ type: 'progress', jobId: task.jobId, chunk: task.chunk.index, framesKept }),
      onLearning: (step, steps) => send({ type: 'learning', jobId: task.jobId, chunk: task.chunk.index, step, steps }),
      onPreview: (jpeg) => send({ type: 'preview', jobId: task.jobId, chunk: task.chunk.index, jpeg }),
    });
    send({ type: 'done', jobId: task.jobId, chunk: task.chunk.index, frames });
  };

  process.on('message', (message: ToChunkProcess) => {
    queue = queue
      .then(() => (message.type === 'init' ? init(message) : paint(message)))
      .catch((error: unknown) => {
        const detail = error instanceof FfmpegError ? error.detail : undefined;
        send({
          type: 'error',
          ...(message.type === 'chunk' ? { jobId: message.jobId, chunk: message.chunk.index } : {}),
          message: error instanceof Error ? error.message : String(error),
          ...(detail ? { detail } : {}),
        });
      });
  });
  // The parent going away (disconnect) or closing us (SIGTERM): stop the encoder first, or the
  // ffmpeg child, seeing its input end, would go on to finish a segment in a folder being deleted.
  const quit = (): void => {
    stop.abort();
    // The aborted chunk removes its temp segment; then nothing is left to do here.
    void queue.finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('disconnect', quit);
  process.on('SIGTERM', quit);
}

main();
