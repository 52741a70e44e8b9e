/**
 * Reads Keras HDF5 weight files (e.g. `vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`) with
 * h5wasm. Keras stores, on the root, a `layer_names` attribute and, on each layer's group, a
 * `weight_names` attribute naming its datasets (`block1_conv1/kernel:0`, or
 * `block1_conv1_W_1:0` in files from Keras 1). Kernels come first, biases second.
 */
import { open } from 'node:fs/promises';
import { FileNotFoundError, WeightsError } from '../engine-errors.js';
import { elementCount, type WeightSet } from './weight-set.js';

type H5Module = typeof import('h5wasm/node');
let h5: Promise<H5Module> | undefined;

async function loadH5(): Promise<H5Module> {
  h5 ??= import('h5wasm/node').then(async (m) => {
    await m.ready;
    return m;
  });
  return h5;
}

export async function readKerasH5(file: string): Promise<WeightSet> {
  if (!(await hasHdf5Signature(file))) throw new WeightsError(`${file}: not an HDF5 file (no HDF5 signature)`);
  const { File, Group, Dataset } = await loadH5();
  let h5file: InstanceType<typeof File>;
  try {
    h5file = new File(file, 'r');
    if (h5file.file_id < 0n) throw new Error('h5wasm could not open it');
  } catch (error) {
    throw new WeightsError(`${file}: not an HDF5 file`, { cause: error });
  }
  try {
    // Whole-model saves keep the weights under /model_weights.
    const nested = h5file.get('model_weights');
    const root = nested instanceof Group ? nested : h5file;
    const layerNames = stringList(root.attrs['layer_names']?.value) ?? root.keys();
    const weights: WeightSet = new Map();
    for (const layer of layerNames) {
      const group = root.get(layer);
      if (!(group instanceof Group)) continue;
      const weightNames = stringList(group.attrs['weight_names']?.value) ?? [];
      const arrays = weightNames.map((name) => {
        const dataset = group.get(name);
        if (!(dataset instanceof Dataset)) throw new WeightsError(`${file}: ${layer}/${name} is listed but missing`);
        const shape = dataset.shape ?? [];
        const value = dataset.value;
        if (!(value instanceof Float32Array) && !(value instanceof Float64Array)) {
          throw new WeightsError(`${file}: ${layer}/${name} is not floating point`);
        }
        if (value.length !== elementCount(shape)) throw new WeightsError(`${file}: ${layer}/${name} has the wrong size`);
        return { shape, data: Float32Array.from(value) };
      });
      const kernel = arrays.find((a) => a.shape.length === 4);
      const bias = arrays.find((a) => a.shape.length === 1);
      if (kernel) weights.set(`${layer}/kernel`, kernel);
      if (bias) weights.set(`${layer}/bias`, bias);
    }
    if (weights.size === 0) throw new WeightsError(`${file}: no conv layer weights found (is it a Keras weights file?)`);
    return weights;
  } finally {
    h5file.close();
  }
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** HDF5 files start with an 8-byte signature at 0 (or 512, 1024, … after a user block). */
async function hasHdf5Signature(file: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    throw new FileNotFoundError(file);
  }
  try {
    for (const offset of [0, 512, 1024, 2048]) {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(8), 0, 8, offset);
      if (bytesRead === 8 && buffer.equals(HDF5_SIGNATURE)) return true;
    }
    return false;
  } finally {
    await handle.close();
  }
}

function stringList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v)).replace(/\0+$/, ''));
}
