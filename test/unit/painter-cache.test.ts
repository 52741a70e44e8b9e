/**
 * Learned painters kept per style and settings: a kept painter comes back as it was saved, a
 * different style or weight is a different painter, a damaged file is a warning and a fresh
 * painter (never a crash), the cap drops the least recently used, clear empties the folder.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPainterCache, painterKey, type PainterFor } from '../../server/painter/painter-cache.js';
import type { PainterNet } from '../../server/engine/painter-net/painter-net.js';
import { sameFloats, seededValues, useWasm } from '../helpers/backend.js';
import { tempDir } from '../helpers/paths.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  await useWasm();
  ({ dir, cleanup } = await tempDir('stylize-painter-cache-'));
});
afterAll(async () => cleanup());

const shape = { channels: 8, blocks: 1 };
const starry: PainterFor = { styleBytes: new Uint8Array([1, 2, 3]), styleName: 'starry', network: 'vgg19', contentWeight: 10, styleWeight: 40, preserveColors: false, shape };
const photo = seededValues(16 * 24 * 3, 3).map((v) => (v + 1) / 2);
const paint = (net: PainterNet): Float32Array => tf.tidy(() => net.apply(tf.tensor4d(photo, [1, 16, 24, 3])).dataSync() as Float32Array);

/** Weights that paint something (a fresh painter's last layer is zero: it returns the photo). */
async function scramble(net: PainterNet, seed: number): Promise<void> {
  const weights = await net.read();
  for (const w of weights.values()) w.values.set(seededValues(w.values.length, seed++).map((v) => v * 0.2));
  net.write(weights);
}

describe('painter cache', () => {
  it('keys on the style bytes and the settings, not on the name', () => {
    expect(painterKey(starry)).toBe(painterKey({ ...starry, styleName: 'other name' }));
    expect(painterKey(starry)).not.toBe(painterKey({ ...starry, styleBytes: new Uint8Array([1, 2, 4]) }));
    expect(painterKey(starry)).not.toBe(painterKey({ ...starry, styleWeight: 41 }));
    expect(painterKey(starry)).not.toBe(painterKey({ ...starry, network: 'random-multiscale' }));
  });

  it('a new style gets a fresh painter that paints the photo; a kept one comes back identical, with its meta', async () => {
    const cache = createPainterCache(path.join(dir, 'a'));
    const fresh = await cache.open(starry);
    expect(fresh.learned).toBe(false);
    expect(fresh.meta.steps).toBe(0);
    expect(sameFloats(paint(fresh.painter), photo)).toBe(true);
    await scramble(fresh.painter, 7);
    const painted = paint(fresh.painter);
    await cache.save(starry, fresh.painter, { ...fresh.meta, steps: 60, framesSeen: 18, loss: 2.5e8 });
    fresh.painter.dispose();
    const tensors = tf.memory().numTensors;
    const kept = await cache.open({ ...starry, styleName: 'renamed' });
    expect(kept.learned).toBe(true);
    expect(kept.meta).toMatchObject({ style: 'starry', steps: 60, framesSeen: 18, loss: 2.5e8 });
    expect(sameFloats(paint(kept.painter), painted)).toBe(true);
    kept.painter.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    const listed = await cache.list();
    expect(listed).toHaveLength(1);
    expect(listed[0]!.meta?.steps).toBe(60);
  });

  it('a damaged file: one warning naming it, a fresh painter, the file replaced on the next save', async () => {
    const warnings: string[] = [];
    const cache = createPainterCache(path.join(dir, 'b'), { warn: (m) => warnings.push(m) });
    const first = await cache.open(starry);
    await cache.save(starry, first.painter, { ...first.meta, steps: 60 });
    first.painter.dispose();
    const file = path.join(cache.dir, `${painterKey(starry)}.slpaint`);
    await writeFile(file, Buffer.from('SLPAINT1 but not really'));
    expect((await cache.list())[0]!.problem).toMatch(/painter file/);
    const again = await cache.open(starry);
    expect(again.learned).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(file);
    await cache.save(starry, again.painter, { ...again.meta, steps: 5 });
    again.painter.dispose();
    const reopened = await cache.open(starry);
    expect(reopened.learned).toBe(true);
    expect(reopened.meta.steps).toBe(5);
    reopened.painter.dispose();
  });

  it('keeps at most maxFiles painters, dropping the least recently used; clear deletes them all', async () => {
    const cache = createPainterCache(path.join(dir, 'c'), { maxFiles: 2 });
    const styles = [1, 2, 3].map((b) => ({ ...starry, styleBytes: new Uint8Array([b]), styleName: `s${b}` }));
    for (const s of styles) {
      const p = await cache.open(s);
      await cache.save(s, p.painter, p.meta);
      p.painter.dispose();
      await new Promise((r) => setTimeout(r, 20)); // distinct modification times
    }
    const names = (await cache.list()).map((l) => l.meta?.style).sort();
    expect(names).toEqual(['s2', 's3']);
    expect(await cache.clear()).toBe(2);
    expect((await readdir(cache.dir)).filter((n) => n.endsWith('.slpaint'))).toHaveLength(0);
  });

  it('falls back to a shipped painter for a key it has none of; what is learnt from it is saved in the cache, never in the shipped folder', async () => {
    const shippedDir = path.join(dir, 'shipped');
    const maker = createPainterCache(shippedDir);
    const made = await maker.open(starry);
    await scramble(made.painter, 11);
    const painted = paint(made.painter);
    await maker.save(starry, made.painter, { ...made.meta, steps: 150, framesSeen: 24 });
    made.painter.dispose();

    const cache = createPainterCache(path.join(dir, 'd'), { shipped: shippedDir });
    const opened = await cache.open(starry);
    expect(opened.learned).toBe(true);
    expect(opened.meta.steps).toBe(150);
    expect(sameFloats(paint(opened.painter), painted)).toBe(true);
    await cache.save(starry, opened.painter, { ...opened.meta, steps: 160 });
    opened.painter.dispose();
    expect((await cache.list()).map((l) => l.meta?.steps)).toEqual([160]);
    expect((await maker.list()).map((l) => l.meta?.steps)).toEqual([150]);
    // Another style has no shipped painter: a fresh one.
    const other = await cache.open({ ...starry, styleBytes: new Uint8Array([9]) });
    expect(other.learned).toBe(false);
    other.painter.dispose();
    // A damaged shipped file: a warning, a fresh painter.
    const warnings: string[] = [];
    await writeFile(path.join(shippedDir, `${painterKey({ ...starry, styleBytes: new Uint8Array([8]) })}.slpaint`), Buffer.from('nope'));
    const damaged = await createPainterCache(path.join(dir, 'e'), { shipped: shippedDir, warn: (m) => warnings.push(m) }).open({ ...starry, styleBytes: new Uint8Array([8]) });
    expect(damaged.learned).toBe(false);
    expect(warnings[0]).toMatch(/shipped painter/);
    damaged.painter.dispose();
  });

  it('a damaged kept painter falls back to the shipped one, not a fresh one shadowing it', async () => {
    const shippedDir = path.join(dir, 'shipped-f');
    const maker = createPainterCache(shippedDir);
    const made = await maker.open(starry);
    await scramble(made.painter, 21);
    await maker.save(starry, made.painter, { ...made.meta, steps: 150 });
    made.painter.dispose();
    const warnings: string[] = [];
    const cache = createPainterCache(path.join(dir, 'f'), { shipped: shippedDir, warn: (m) => warnings.push(m) });
    const kept = await cache.open(starry);
    await cache.save(starry, kept.painter, { ...kept.meta, steps: 170 });
    kept.painter.dispose();
    await writeFile(path.join(cache.dir, `${painterKey(starry)}.slpaint`), Buffer.from('SLPAINT1 damaged'));
    const opened = await cache.open(starry);
    expect(opened.learned).toBe(true);
    expect(opened.meta.steps).toBe(150);
    expect(warnings).toHaveLength(1);
    opened.painter.dispose();
  });

  it("a directory at a painter's path: said once, however often the style is opened and kept", async () => {
    const warnings: string[] = [];
    const cache = createPainterCache(path.join(dir, 'g'), { warn: (m) => warnings.push(m) });
    await mkdir(path.join(cache.dir, `${painterKey(starry)}.slpaint`), { recursive: true });
    for (let i = 0; i < 20; i += 1) {
      const opened = await cache.open(starry);
      expect(opened.learned).toBe(false);
      await cache.save(starry, opened.painter, { ...opened.meta, steps: i });
      opened.painter.dispose();
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/EISDIR.*nothing is kept for this style/);
  });
});
