/**
 * A worker process's engine in one call: the tfjs backend (once per process) and the feature
 * network. Stream processes (live) and chunk workers (video files) both start with it.
 */
import type { BackendName } from './engine-options.js';
import { selectBackend, type BackendInfo } from './backend.js';
import { loadNetwork, type LoadNetworkOptions } from './networks/load-network.js';
import type { FeatureNetwork } from './networks/network.js';

export interface EngineOptions extends LoadNetworkOptions {
  backend: BackendName | undefined;
  /** wasm threads (default: the machine's parallelism). */
  threads: number | undefined;
}

export async function loadEngine(options: EngineOptions): Promise<{ backend: BackendInfo; network: FeatureNetwork }> {
  const backend = await selectBackend({ prefer: options.backend, wasmThreads: options.threads });
  const { network } = await loadNetwork(options);
  return { backend, network };
}
