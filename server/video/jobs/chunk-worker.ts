/**
 * A chunk worker process (forked by a worker pool): loads the backend and network once, then
 * paints chunks on request, one at a time, with stylizeChunk — this file only carries messages.
 * A parent that goes away stops the chunk in progress (its ffmpeg children too) and the process.
 */
import { selectBackend } from '../../engine/backend.js';
import type { FeatureNetwork } from '../../engine/networks/network.js';
import { loadNetwork } from '../../engine/networks/load-network.js';
import { FfmpegError } from '../ffmpeg.js';
import { stylizeChunk } from './stylize-chunk.js';
import type { ChunkTask, FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

const send = (message: FromWorker): void => {
  process.send?.(message);
};

function main(): void {
  let network: FeatureNetwork | undefined;
  let queue: Promise<void> = Promise.resolve();
  const stop = new AbortController();

  const init = async (message: WorkerInit): Promise<void> => {
    const backend = await selectBackend({ prefer: message.backend, wasmThreads: message.threads });
    network = (await loadNetwork({ model: message.model, weights: message.weights, modelsDir: message.modelsDir, seed: message.seed })).network;
    send({ type: 'ready', backend: backend.name, model: network.name });
  };

  const paint = async (task: ChunkTask): Promise<void> => {
    if (!network) throw new Error('worker not initialised');
    const { frames } = await stylizeChunk(task, {
      network,
      signal: stop.signal,
      onProgress: (framesKept) => send({ type: 'progress', jobId: task.jobId, chunk: task.chunk.index, framesKept }),
      onPreview: (jpeg) => send({ type: 'preview', jobId: task.jobId, chunk: task.chunk.index, jpeg }),
    });
    send({ type: 'done', jobId: task.jobId, chunk: task.chunk.index, frames });
  };

  process.on('message', (message: ToWorker) => {
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
  process.on('disconnect', () => {
    stop.abort();
    // The aborted chunk removes its temp segment; then nothing is left to do here.
    void queue.finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}

main();
