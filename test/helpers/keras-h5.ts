/**
 * Writes small Keras-layout HDF5 weight files with h5wasm, the way Keras' save_weights does:
 * root attribute `layer_names`, per-layer attribute `weight_names`, datasets under the layer group.
 */
import h5wasm from 'h5wasm/node';
import type { WeightSet } from '../../server/engine/weights/weight-set.js';

export type H5Naming = 'keras2' | 'keras1';

export async function writeKerasH5(file: string, weights: WeightSet, naming: H5Naming = 'keras2'): Promise<void> {
  await h5wasm.ready;
  const f = new h5wasm.File(file, 'w');
  try {
    const layers = [...new Set([...weights.keys()].map((k) => k.split('/')[0]!))];
    f.create_attribute('layer_names', layers);
    f.create_attribute('backend', 'tensorflow');
    for (const layer of layers) {
      const group = f.create_group(layer);
      const names: string[] = [];
      for (const kind of ['kernel', 'bias'] as const) {
        const w = weights.get(`${layer}/${kind}`);
        if (!w) continue;
        const name = naming === 'keras2' ? `${layer}/${kind}:0` : `${layer}_${kind === 'kernel' ? 'W' : 'b'}_1:0`;
        if (naming === 'keras2' && !group.keys().includes(layer)) group.create_group(layer);
        group.create_dataset({ name, data: w.data, shape: [...w.shape], dtype: '<f' });
        names.push(name);
      }
      group.create_attribute('weight_names', names);
    }
  } finally {
    f.close();
  }
}
