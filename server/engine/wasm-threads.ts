/**
 * Multi-threaded tfjs-wasm under Node.
 *
 * tfjs-backend-wasm ships a pthreads (threaded SIMD) build but refuses to use it in Node
 * (tensorflow/tfjs#3830) for two reasons we can fix from outside, without patching the package:
 *  1. It hands Emscripten a `blob:` URL for the pthread worker script and a Blob for the main
 *     script. Node's `worker_threads.Worker` takes neither. We install a `Worker` class that
 *     starts the same worker code from a string (`eval: true`) and replaces the Blob with the
 *     path of the identical factory file shipped in `wasm-out/`.
 *  2. Its C++ side sizes the thread pool as `logical cores / 2` (assuming hyper-threading), so a
 *     2-core machine gets one thread. We report twice the cores while the module initialises.
 * Measured on this 2-core machine: a 64→64 3×3 conv at 256² goes from 42 to 77 GFLOP/s.
 */
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Worker as NodeWorker, type Transferable, type WorkerOptions } from 'node:worker_threads';

const require = createRequire(import.meta.url);

function wasmOutDir(): string {
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
}

/** CommonJS bootstrap run in each pthread worker: define what the Emscripten worker expects. */
function bootstrapSource(): string {
  const dir = wasmOutDir();
  const workerModule = path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js');
  const factory = path.join(dir, 'tfjs-backend-wasm-threaded-simd.js');
  return [
    `'use strict';`,
    `const { wasmWorkerContents } = require(${JSON.stringify(workerModule)});`,
    `globalThis.__filename = ${JSON.stringify(factory)};`,
    `globalThis.__dirname = ${JSON.stringify(dir)};`,
    `globalThis.require = require;`,
    // The worker source contains "\n" escapes that a template literal turned into newlines
    // inside string literals; tfjs escapes them the same way before making its Blob.
    `(0, eval)(wasmWorkerContents.replace(/\\n/g, '\\\\n'));`,
  ].join('\n');
}

let installed = false;

/**
 * Installs the Worker shim. Call before the wasm backend initialises; returns a function that
 * undoes the temporary CPU-count report once initialisation is over.
 */
export function enableWasmThreadsInNode(): () => void {
  const factoryPath = path.join(wasmOutDir(), 'tfjs-backend-wasm-threaded-simd.js');
  if (!installed) {
    const source = bootstrapSource();
    class PthreadWorker extends NodeWorker {
      constructor(url: string | URL, options?: WorkerOptions) {
        if (typeof url === 'string' && url.startsWith('blob:')) super(source, { ...options, eval: true });
        else super(url, options);
        // Idle pool threads must not keep the process alive after the work is done.
        this.unref();
      }
      // Emscripten re-refs a worker while a pthread runs on it; the pool's threads run forever,
      // so that would keep every process that touched the backend alive.
      override ref(): void {}
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      override postMessage(message: any, transferList?: readonly Transferable[]): void {
        const msg = message as { cmd?: string; urlOrBlob?: unknown } | null;
        if (msg?.cmd === 'load' && typeof msg.urlOrBlob !== 'string') {
          super.postMessage({ ...msg, urlOrBlob: factoryPath }, transferList);
          return;
        }
        super.postMessage(message, transferList);
      }
    }
    // Emscripten assigns `global.Worker = require('worker_threads').Worker` while it starts;
    // the setter ignores that so our class stays in place.
    Object.defineProperty(globalThis, 'Worker', {
      configurable: true,
      get: () => PthreadWorker,
      set: () => undefined,
    });
    installed = true;
  }
  const realCpus = os.cpus;
  os.cpus = () => {
    const cpus = realCpus.call(os);
    return [...cpus, ...cpus];
  };
  return () => {
    os.cpus = realCpus;
  };
}
