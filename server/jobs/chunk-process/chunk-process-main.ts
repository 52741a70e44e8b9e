/**
 * A chunk worker process (forked by a worker pool): loads the backend and network once, then
 * paints chunks on request, one at a time, with stylizeChunk — this file only carries messages.
 * A parent that goes away stops the chunk in progress (its ffmpeg children too) and the process.
 */
import { unlinkSync } from 'node:fs';
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

/**
 * Whether an error broke the engine itself: a WebAssembly trap (memory access out of bounds,
 * unreachable) or Emscripten's abort. Such a process must never paint again: every later chunk,
 * of any job, would fail ("Aborted()") or paint garbage.
 */
export function isEngineFault(error: unknown): boolean {
  if (error instanceof WebAssembly.RuntimeError) return true;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return /RuntimeError|Aborted\(|memory access out of bounds|unreachable executed|out of memory/i.test(text);
}

/** A test's stand-in for a broken wasm instance (ChunkProcessInit.testPoisonFile). */
function testPoison(init: ChunkProcessInit | undefined, task: ChunkTask, state: { poisoned: boolean }): void {
  if (state.poisoned) throw new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.');
  if (init?.testPoisonFile === undefined) return;
  try {
    unlinkSync(init.testPoisonFile); // only one process wins the file
  } catch {
    return;
  }
  state.poisoned = true;
  throw new WebAssembly.RuntimeError(`memory access out of bounds (job ${task.jobId})`);
}

function main(): void {
  let network: FeatureNetwork | undefined;
  let initMessage: ChunkProcessInit | undefined;
  const fault = { poisoned: false };
  let broken = false;
  let painters: PainterCache | undefined;
  let queue: Promise<void> = Promise.resolve();
  const stop = new AbortController();

  const init = async (message: ChunkProcessInit): Promise<void> => {
    initMessage = message;
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
    if (broken) throw new WebAssembly.RuntimeError('this process\'s engine failed earlier; it takes no more chunks');
    testPoison(initMessage, task, fault);
    const { frames } = await stylizeChunk(task, {
      network,
      ...(painters ? { painters } : {}),
      signal: stop.signal,
      onProgress: (report) => send({ type: 'progress', jobId: task.jobId, chunk: task.chunk.index, report }),
      onPreview: (jpeg) => send({ type: 'preview', jobId: task.jobId, chunk: task.chunk.index, jpeg }),
    });
    send({ type: 'done', jobId: task.jobId, chunk: task.chunk.index, frames });
  };

  process.on('message', (message: ToChunkProcess) => {
    queue = queue
      .then(() => (message.type === 'init' ? init(message) : paint(message)))
      .catch((error: unknown) => {
        const detail = error instanceof FfmpegError ? error.detail : undefined;
        const poisoned = isEngineFault(error);
        broken ||= poisoned;
        send({
          type: 'error',
          ...(message.type === 'chunk' ? { jobId: message.jobId, chunk: message.chunk.index } : {}),
          message: error instanceof Error ? error.message : String(error),
          ...(detail ? { detail } : {}),
          ...(poisoned ? { poisoned: true } : {}),
        });
        // A broken engine is never reused: the pool kills and replaces this process on reading
        // `poisoned`; should that message be lost, it leaves by itself (its exit fails the chunk).
        if (poisoned) setTimeout(() => process.exit(70), 2000).unref();
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
