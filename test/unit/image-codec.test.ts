/** Decoding every kind of image a person may hand us, and refusing what is not one. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawScene } from '../../fixtures/draw.js';
import { decodeImage, encodeImage, formatForPath } from '../../server/codec/image-codec.js';
import { FileNotFoundError, NotAnImageError } from '../../server/errors.js';
import { tempDir } from '../helpers/paths.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const scene = drawScene(60, 40);
const raw = { raw: { width: 60, height: 40, channels: 3 as const } };

describe('decodeImage', () => {
  it('reads JPEG, PNG and WebP into 8-bit RGB, resized by the long side', async () => {
    for (const [name, encode] of [
      ['a.jpg', (s: Sharp) => s.jpeg()],
      ['a.png', (s: Sharp) => s.png()],
      ['a.webp', (s: Sharp) => s.webp()],
    ] as const) {
      const file = path.join(dir, name);
      await encode(sharp(scene.data, raw)).toFile(file);
      const image = await decodeImage(file, { longSide: 30 });
      expect([image.width, image.height, image.data.length]).toEqual([30, 20, 30 * 20 * 3]);
    }
  });

  it('keeps a panorama usable: the short side never drops below minShortSide', async () => {
    const wide = await sharp(drawScene(400, 50).data, { raw: { width: 400, height: 50, channels: 3 } }).png().toBuffer();
    const image = await decodeImage(wide, { longSide: 128, minShortSide: 32 });
    expect([image.width, image.height]).toEqual([256, 32]);
  });

  it('turns greyscale, CMYK and alpha images into RGB', async () => {
    const grey = await sharp(scene.data, raw).greyscale().png().toBuffer();
    const g = await decodeImage(grey);
    expect(g.data.length).toBe(60 * 40 * 3);
    expect(g.data[0]).toBe(g.data[1]); // R = G = B

    const cmyk = await sharp(scene.data, raw).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const c = await decodeImage(cmyk);
    expect(c.data.length).toBe(60 * 40 * 3);
    // The sky stays blue after the CMYK round trip.
    expect(c.data[2]!).toBeGreaterThan(c.data[0]! + 40);

    // A fully transparent pixel is laid on white.
    const rgba = new Uint8Array(2 * 1 * 4).fill(0);
    rgba.set([255, 0, 0, 255], 0);
    const a = await decodeImage(await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer());
    expect(Array.from(a.data)).toEqual([255, 0, 0, 255, 255, 255]);
  });

  it('refuses a file that is not an image, and a missing file, with named errors', async () => {
    const text = path.join(dir, 'notes.jpg');
    await writeFile(text, 'these are not pixels');
    await expect(decodeImage(text)).rejects.toThrow(NotAnImageError);
    await expect(decodeImage(text)).rejects.toThrow(/notes\.jpg is not an image/);
    await expect(decodeImage(path.join(dir, 'missing.png'))).rejects.toThrow(FileNotFoundError);
    await expect(decodeImage(new Uint8Array([1, 2, 3]), { label: 'upload' })).rejects.toThrow(/upload is not an image/);
  });
});

describe('encodeImage', () => {
  it('writes the format the file name asks for, and round-trips PNG exactly', async () => {
    expect(formatForPath('x.JPG')).toBe('jpeg');
    expect(formatForPath('x.webp')).toBe('webp');
    expect(formatForPath('x.png')).toBe('png');
    expect(formatForPath('x.jpeg')).toBe('jpeg');
    expect(() => formatForPath('x.gif')).toThrow(/cannot write x\.gif: \.gif is not an image format .*\.png, \.jpg, \.jpeg or \.webp/);
    expect(() => formatForPath('x')).toThrow(/cannot write x: the name has no extension/);
    const png = await encodeImage(scene, 'png');
    expect((await sharp(png).metadata()).format).toBe('png');
    expect((await decodeImage(png)).data).toEqual(scene.data);
    expect((await sharp(await encodeImage(scene, 'jpeg')).metadata()).format).toBe('jpeg');
  });
});
