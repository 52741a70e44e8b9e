/**
 * Writes a TF.js layers-format directory (model.json + one weight group per layer, float32
 * shards) as an old tfjs-converter wrote Keras models, so the import path is tested without
 * keeping a converted copy in the repo. `listedOnly` names layers that model.json lists but
 * whose shards are absent, like the partial VGG19 export the shipped weights were made from.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { WeightSet } from '../../server/engine/weights/weight-set.js';

export async function writeTfjsLayersDir(dir: string, weights: WeightSet, listedOnly: Record<string, number[]> = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const layers = [...new Set([...weights.keys()].map((name) => name.split('/')[0]!))];
  const manifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[] = [];
  for (const [i, layer] of layers.entries()) {
    const parts = ['kernel', 'bias'].map((p) => ({ name: `${layer}/${p}`, w: weights.get(`${layer}/${p}`)! }));
    const file = `group${i + 1}-shard1of1`;
    await writeFile(path.join(dir, file), Buffer.concat(parts.map(({ w }) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength))));
    manifest.push({ paths: [file], weights: parts.map(({ name, w }) => ({ name, shape: [...w.shape], dtype: 'float32' })) });
  }
  for (const [i, [layer, kernelShape]] of Object.entries(listedOnly).entries()) {
    manifest.push({
      paths: [`group${layers.length + i + 1}-shard1of1`],
      weights: [
        { name: `${layer}/kernel`, shape: kernelShape, dtype: 'float32' },
        { name: `${layer}/bias`, shape: [kernelShape.at(-1)!], dtype: 'float32' },
      ],
    });
  }
  await writeFile(path.join(dir, 'model.json'), JSON.stringify({ modelTopology: { class_name: 'Model' }, weightsManifest: manifest }));
}
