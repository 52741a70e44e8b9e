/**
 * Weight formats and installation: Keras .h5 (written here with h5wasm), the project's store,
 * and `models fetch` against a real local HTTP server (Range requests, a broken connection,
 * a bad checksum, an unreachable host).
 */
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChecksumError, DownloadError, FileNotFoundError, WeightsError } from '../../server/errors.js';
import { readWeights } from '../../server/engine/networks/load-network.js';
import { randomVgg19Weights } from '../../server/engine/networks/vgg19.js';
import { downloadFile } from '../../server/engine/weights/download.js';
import { readKerasH5 } from '../../server/engine/weights/keras-h5.js';
import { fetchVgg19, importVgg19 } from '../../server/engine/weights/vgg19-install.js';
import { roundToFloat16 } from '../../server/engine/weights/float16.js';
import { readWeightStore, writeWeightStore } from '../../server/engine/weights/weight-store.js';
import { sameFloats } from '../helpers/backend.js';
import { writeKerasH5 } from '../helpers/keras-h5.js';
import { SHIPPED_VGG19, tempDir } from '../helpers/paths.js';
import { writeTfjsLayersDir } from '../helpers/tfjs-layers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const weights = randomVgg19Weights(11, 'block2_conv1');

describe('Keras .h5', () => {
  for (const naming of ['keras2', 'keras1'] as const) {
    it(`reads ${naming}-style weight names`, async () => {
      const file = path.join(dir, `${naming}.h5`);
      await writeKerasH5(file, weights, naming);
      const read = await readKerasH5(file);
      expect([...read.keys()].sort()).toEqual([...weights.keys()].sort());
      for (const [name, w] of weights) {
        expect(read.get(name)!.shape).toEqual(w.shape);
        expect(read.get(name)!.data).toEqual(w.data);
      }
    });
  }

  it('says clearly when a file is not HDF5 or does not exist', async () => {
    const bogus = path.join(dir, 'bogus.h5');
    await writeFile(bogus, 'not an hdf5 file at all');
    await expect(readKerasH5(bogus)).rejects.toThrow(WeightsError);
    await expect(readKerasH5(path.join(dir, 'nope.h5'))).rejects.toThrow(FileNotFoundError);
  });
});

describe('models import', () => {
  it('converts a Keras .h5 into the project format, loadable by readWeights', async () => {
    const file = path.join(dir, 'import.h5');
    await writeKerasH5(file, weights);
    const modelsDir = path.join(dir, 'models-a');
    const result = await importVgg19(file, modelsDir);
    expect(result.layers).toEqual(['block1_conv1', 'block1_conv2', 'block2_conv1']);
    const { manifest, weights: stored } = await readWeightStore(result.dir);
    expect(manifest.source).toBe('import.h5');
    expect(stored.get('block2_conv1/kernel')!.data).toEqual(weights.get('block2_conv1/kernel')!.data);
    const again = await readWeights(result.dir);
    expect(again.source.kind).toBe('stylize');
  });

  it('converts a partial TF.js layers directory (blocks 1–3, deeper groups listed without shards)', async () => {
    const { weights: shipped } = await readWeightStore(SHIPPED_VGG19);
    const tfjs = path.join(dir, 'tfjs-partial');
    await writeTfjsLayersDir(tfjs, shipped, { block3_conv3: [3, 3, 256, 256] });
    const result = await importVgg19(tfjs, path.join(dir, 'models-b'));
    expect(result.layers).toHaveLength(6);
    expect(result.layers.at(-1)).toBe('block3_conv2');
    const { manifest, weights: installed } = await readWeightStore(result.dir);
    expect(manifest.dtype ?? 'float32').toBe('float32');
    expect(sameFloats(installed.get('block3_conv2/kernel')!.data, shipped.get('block3_conv2/kernel')!.data)).toBe(true);
  });

  it('stores float16 when asked, half the bytes, and checks the checksum on every load', async () => {
    const storeDir = path.join(dir, 'store16');
    const manifest = await writeWeightStore(storeDir, 'vgg19', 'test', weights, { dtype: 'float16' });
    const bin = await readFile(path.join(storeDir, 'weights.bin'));
    const floats = [...weights.values()].reduce((n, w) => n + w.data.length, 0);
    expect(bin.length).toBe(floats * 2);
    const { weights: read } = await readWeightStore(storeDir);
    for (const [name, w] of weights) expect(sameFloats(read.get(name)!.data, roundToFloat16(w.data)), name).toBe(true);
    bin[7] = bin[7]! ^ 1;
    await writeFile(path.join(storeDir, 'weights.bin'), bin);
    await expect(readWeightStore(storeDir)).rejects.toThrow(ChecksumError);
    await expect(readWeightStore(storeDir)).rejects.toThrow(new RegExp(`weights\\.bin: checksum [0-9a-f]{12}… does not match the expected ${manifest.sha256.slice(0, 12)}…; the file is damaged`));
  });

  it('refuses weights that are not VGG19', async () => {
    const file = path.join(dir, 'other.h5');
    await writeKerasH5(file, new Map([['dense_1/kernel', { shape: [2, 2, 2, 2], data: new Float32Array(16) }]]));
    await expect(importVgg19(file, path.join(dir, 'models-c'))).rejects.toThrow(/no VGG19 weights/);
  });
});

describe('models fetch (download)', () => {
  let server: http.Server;
  let base: string;
  let body: Buffer;
  let md5: string;
  /** Requests the server saw, with their Range headers. */
  const ranges: (string | undefined)[] = [];
  let breakAfter: number | undefined;

  beforeAll(async () => {
    const file = path.join(dir, 'served.h5');
    await writeKerasH5(file, weights);
    body = await readFile(file);
    md5 = createHash('md5').update(body).digest('hex');
    server = http.createServer((req, res) => {
      ranges.push(req.headers.range);
      const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = match ? Number(match[1]) : 0;
      const slice = body.subarray(start);
      res.writeHead(match ? 206 : 200, { 'content-length': slice.length, 'content-type': 'application/octet-stream' });
      if (breakAfter !== undefined) {
        // Send part of the file, let it arrive, then drop the connection mid-transfer.
        res.write(slice.subarray(0, breakAfter));
        setTimeout(() => res.destroy(), 200);
        breakAfter = undefined;
        return;
      }
      res.end(slice);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('resumes a broken download with a Range request, checks the MD5 and installs', async () => {
    const modelsDir = path.join(dir, 'models-fetch');
    breakAfter = 100_000;
    await expect(fetchVgg19(modelsDir, { url: `${base}/vgg19.h5`, md5 })).rejects.toThrow(/run the same command again to resume/);
    const progress: number[] = [];
    const result = await fetchVgg19(modelsDir, { url: `${base}/vgg19.h5`, md5, onProgress: (r) => progress.push(r) });
    expect(ranges.at(-1)).toMatch(/^bytes=\d+-$/);
    expect(result.resumedFrom).toBeGreaterThan(0);
    expect(result.downloaded).toBe(body.length);
    expect(progress.at(-1)).toBe(body.length);
    expect(result.layers).toEqual(['block1_conv1', 'block1_conv2', 'block2_conv1']);
    // The downloaded .h5 is removed once converted.
    await expect(stat(path.join(modelsDir, '.cache', 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5'))).rejects.toThrow();
  });

  it('rejects a file whose checksum does not match and keeps nothing', async () => {
    const dest = path.join(dir, 'bad', 'file.h5');
    await expect(downloadFile(`${base}/x`, dest, { md5: '0'.repeat(32) })).rejects.toThrow(ChecksumError);
    await expect(stat(dest)).rejects.toThrow();
    await expect(stat(`${dest}.part`)).rejects.toThrow();
  });

  it('explains an unreachable host (offline) in one line', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await downloadFile(`http://127.0.0.1:${port}/w.h5`, path.join(dir, 'off', 'w.h5')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/could not reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. Offline\?/);
  });

  it('reports an HTTP error status', async () => {
    const notFound = http.createServer((_, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => notFound.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(notFound.address() as AddressInfo).port}/missing.h5`;
    try {
      await expect(downloadFile(url, path.join(dir, 'nf', 'w.h5'))).rejects.toThrow(/answered 404/);
    } finally {
      await new Promise<void>((resolve) => notFound.close(() => resolve()));
    }
  });
});
