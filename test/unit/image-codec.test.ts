/** Decoding every kind of image a person may hand us, and refusing what is not one. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawScene } from '../../fixtures/draw.js';
import { ImageTooLargeError, decodeImage, encodeImage, formatForPath, probeImage, sniffImageFormat } from '../../server/codec/image-codec.js';
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

describe('decode limits', () => {
  it('tells the raster formats we take by their first bytes; SVG, PDF and the rest are refused', async () => {
    const encoders: [string, (s: Sharp) => Sharp][] = [
      ['jpeg', (x) => x.jpeg()],
      ['png', (x) => x.png()],
      ['webp', (x) => x.webp()],
      ['gif', (x) => x.gif()],
      ['tiff', (x) => x.tiff()],
    ];
    for (const [format, encode] of encoders) {
      expect(sniffImageFormat(await encode(sharp(scene.data, raw)).toBuffer())).toBe(format);
    }
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    expect(sniffImageFormat(svg)).toBeUndefined();
    expect(sniffImageFormat(Buffer.from('%PDF-1.7'))).toBeUndefined();
    // sharp itself would render this SVG; we never hand it over.
    expect((await sharp(svg).metadata()).format).toBe('svg');
    await expect(decodeImage(svg, { label: 'the style' })).rejects.toThrow(NotAnImageError);
    await expect(probeImage(svg)).rejects.toThrow(NotAnImageError);
  });

  it('refuses an image over the pixel limit from its header, before decoding it', async () => {
    // A 64×64 progressive JPEG whose frame header (SOF2) is patched to claim 16383×16383.
    const bomb = Buffer.from(await sharp(scene.data, raw).resize(64, 64).jpeg({ progressive: true }).toBuffer());
    const sof = bomb.indexOf(Buffer.from([0xff, 0xc2]));
    bomb.writeUInt16BE(16383, sof + 5);
    bomb.writeUInt16BE(16383, sof + 7);
    expect(bomb.length).toBeLessThan(2000);
    const before = process.memoryUsage.rss();
    await expect(decodeImage(bomb, { maxPixels: 25_000_000 })).rejects.toThrow(ImageTooLargeError);
    await expect(decodeImage(bomb, { maxPixels: 25_000_000 })).rejects.toThrow(/16383×16383 \(268\.4 megapixels\); the limit is 25\.0 megapixels/);
    expect(process.memoryUsage.rss() - before).toBeLessThan(100 * 1024 * 1024); // 800 MB had it been decoded
    // Under the limit, the same limit lets a normal image through.
    expect((await decodeImage(await sharp(scene.data, raw).jpeg().toBuffer(), { maxPixels: 60 * 40 })).width).toBe(60);
    await expect(decodeImage(await sharp(scene.data, raw).jpeg().toBuffer(), { maxPixels: 60 * 40 - 1 })).rejects.toThrow(ImageTooLargeError);
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
