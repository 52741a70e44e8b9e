/**
 * A painter network's named weights (both painter-net.ts and unet-painter-net.ts): made from a
 * seed in a fixed order, read for saving, written from a file (names and shapes checked), freed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRandom, uniformArray } from '../random.js';

export interface WeightSpec {
  name: string;
  shape: number[];
  /** 'he': He-uniform for a conv with fan-in = product of all but the last dim; 'zero'; 'one'. */
  init: 'he' | 'zero' | 'one';
}

export type StoredWeights = ReadonlyMap<string, { shape: readonly number[]; values: Float32Array }>;

export interface PainterWeights {
  get(name: string): tf.Variable;
  /** In the specs' order (the storage order). */
  readonly variables: readonly tf.Variable[];
  read(): Promise<Map<string, { shape: number[]; values: Float32Array }>>;
  /** Sets every weight from `weights` (same names and shapes, else throws before setting any). */
  write(weights: StoredWeights): void;
  dispose(): void;
}

/** A conv's kernel and bias specs (bias zero). */
export function convSpecs(name: string, shape: number[], init: WeightSpec['init'] = 'he'): WeightSpec[] {
  return [
    { name: `${name}/kernel`, shape, init },
    { name: `${name}/bias`, shape: [shape[3]!], init: 'zero' },
  ];
}

function initial(spec: WeightSpec, random: () => number): Float32Array {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.init === 'zero') return new Float32Array(size);
  if (spec.init === 'one') return new Float32Array(size).fill(1);
  const fanIn = size / spec.shape[spec.shape.length - 1]!;
  const limit = Math.sqrt(6 / fanIn);
  return uniformArray(size, random, -limit, limit);
}

/** tfjs wants every variable name unique in the process. */
let made = 0;

export function createPainterWeights(list: readonly WeightSpec[], prefix: string, seed: number): PainterWeights {
  const id = ++made;
  const random = createRandom(seed);
  const vars = new Map<string, tf.Variable>();
  // tidy frees the initial tensors; variables survive it.
  tf.tidy(() => {
    for (const spec of list) vars.set(spec.name, tf.variable(tf.tensor(initial(spec, random), spec.shape), true, `${prefix}${id}/${spec.name}`));
  });
  const get = (name: string): tf.Variable => vars.get(name)!;
  return {
    get,
    variables: [...vars.values()],
    async read() {
      const out = new Map<string, { shape: number[]; values: Float32Array }>();
      for (const spec of list) out.set(spec.name, { shape: [...spec.shape], values: (await get(spec.name).data()) as Float32Array });
      return out;
    },
    write(weights) {
      for (const spec of list) {
        const given = weights.get(spec.name);
        if (!given || given.shape.join('×') !== spec.shape.join('×')) {
          throw new RangeError(`painter weight ${spec.name}: expected ${spec.shape.join('×')}, got ${given ? given.shape.join('×') : 'nothing'}`);
        }
      }
      tf.tidy(() => {
        for (const spec of list) get(spec.name).assign(tf.tensor(weights.get(spec.name)!.values, spec.shape));
      });
    },
    dispose() {
      for (const variable of vars.values()) variable.dispose();
      vars.clear();
    },
  };
}
