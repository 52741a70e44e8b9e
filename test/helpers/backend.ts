/** Tests run on the wasm backend, as CI does (see README). */
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type BackendInfo } from '../../server/engine/backend.js';

export async function useWasm(): Promise<BackendInfo> {
  return selectBackend({ prefer: 'wasm' });
}

/** Runs `f` on the pure-JS cpu backend (stock tfjs kernels and gradients), then returns to wasm. */
export async function onCpu<T>(f: () => T): Promise<T> {
  await tf.setBackend('cpu');
  try {
    return f();
  } finally {
    await tf.setBackend('wasm');
  }
}

/** ‖a − b‖₂ / ‖b‖₂ */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} ≠ ${b.length}`);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    norm += b[i]! ** 2;
  }
  return Math.sqrt(diff / norm);
}

/** Seeded values in [−1, 1). */
export function seededValues(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Bit-identical float arrays (a byte compare: expect().toEqual walks a million floats slowly). */
export function sameFloats(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
