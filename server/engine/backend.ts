/**
 * The only module that chooses and initialises the TensorFlow.js backend.
 * Order: tensorflow-gpu → tensorflow (libtensorflow CPU) → wasm (threaded SIMD) → cpu (pure JS).
 * Both native packages are optional dependencies; when they are missing or broken we say why and
 * move on. `--backend` / `STYLIZE_BACKEND` force one and fail loudly if it cannot start.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// The umbrella package registers the ops' gradients (tfjs-core alone does not).
import '@tensorflow/tfjs';
import * as tfWasm from '@tensorflow/tfjs-backend-wasm';
import { BACKEND_NAMES, type BackendName } from './engine-options.js';
import { BackendUnavailableError } from './engine-errors.js';
import { enableWasmThreadsInNode } from './wasm-threads.js';

export interface BackendInfo {
  name: BackendName;
  /** Threads used by the math library (wasm), or undefined where the backend decides. */
  threads: number | undefined;
  /** Why each backend earlier in the order was not used. */
  skipped: { name: BackendName; reason: string }[];
}

export interface SelectBackendOptions {
  /** Force this backend; undefined means "the best that starts". */
  prefer?: BackendName | undefined;
  /** Threads for the wasm backend (default: the machine's available parallelism). */
  wasmThreads?: number | undefined;
}

let current: Promise<BackendInfo> | undefined;
let currentKey = '';

/** Selects (once per process) and initialises the backend. Safe to call concurrently. */
export function selectBackend(options: SelectBackendOptions = {}): Promise<BackendInfo> {
  const key = `${options.prefer ?? 'auto'}:${options.wasmThreads ?? 'auto'}`;
  if (current && key === currentKey) return current;
  if (current) {
    // A different choice in the same process: wait for the first to settle, then switch.
    const previous = current;
    current = previous.catch(() => undefined).then(() => initialise(options));
  } else {
    current = initialise(options);
  }
  currentKey = key;
  current.catch(() => {
    current = undefined;
  });
  return current;
}

async function initialise(options: SelectBackendOptions): Promise<BackendInfo> {
  // Production mode: no tfjs banners ("install our node backend…"); our own log says which
  // backend runs and why.
  tf.env().set('PROD', true);
  const order: BackendName[] = options.prefer ? [options.prefer] : [...BACKEND_NAMES];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of order) {
    try {
      const threads = await start(name, options);
      return { name, threads, skipped };
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      if (options.prefer) {
        throw new BackendUnavailableError(`backend "${name}" could not start: ${reason}`, { cause: error });
      }
      skipped.push({ name, reason });
    }
  }
  throw new BackendUnavailableError(`no backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

async function start(name: BackendName, options: SelectBackendOptions): Promise<number | undefined> {
  switch (name) {
    case 'tensorflow-gpu': {
      await importOptional('@tensorflow/tfjs-node-gpu');
      await activate('tensorflow');
      const backend = tf.backend() as { isUsingGpuDevice?: boolean };
      if (backend.isUsingGpuDevice === false) throw new Error('libtensorflow found no CUDA device');
      return undefined;
    }
    case 'tensorflow':
      await importOptional('@tensorflow/tfjs-node');
      await activate('tensorflow');
      return undefined;
    case 'wasm':
      return startWasm(options.wasmThreads ?? os.availableParallelism());
    case 'cpu':
      await activate('cpu');
      return 1;
  }
}

async function importOptional(specifier: string): Promise<void> {
  try {
    await import(specifier);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(`${specifier} is not installed (optional dependency)`, { cause: error });
    }
    throw error;
  }
}

async function activate(name: string): Promise<void> {
  if (tf.findBackendFactory(name) === null && tf.findBackend(name) === null) {
    throw new Error(`no "${name}" backend is registered`);
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend("${name}") failed`);
  await tf.ready();
}

let wasmThreads: number | undefined;

async function startWasm(threads: number): Promise<number> {
  if (tf.findBackend('wasm') !== null && wasmThreads !== undefined) {
    // Emscripten modules initialise once per process; reuse whatever thread count we got.
    await activate('wasm');
    return wasmThreads;
  }
  const restoreCpuCount = threads > 1 ? enableWasmThreadsInNode() : () => undefined;
  try {
    tfWasm.setThreadsCount(threads);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', threads > 1);
    await activate('wasm');
  } finally {
    restoreCpuCount();
  }
  wasmThreads = tfWasm.getThreadsCount();
  return wasmThreads;
}

/** One human-readable line: which backend runs and why the better ones do not. */
export function describeBackend(info: BackendInfo): string {
  const threads = info.threads !== undefined ? ` (${info.threads} thread${info.threads === 1 ? '' : 's'})` : '';
  const skipped = info.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  return `backend ${info.name}${threads}${skipped ? ` — skipped ${skipped}` : ''}`;
}
