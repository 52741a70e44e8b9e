/**
 * The placement-blind judge (bench/patch-wasserstein.ts): 0 for the reference itself, 1 for the
 * photo, near 0 for the reference's own paint moved elsewhere (its tiles swapped) where the
 * placement-bound reference gap reads it far off, and farther for the painting's colours without
 * its texture (a colour grade).
 */
import { describe, expect, it } from 'vitest';
import { patchWassersteinGap } from '../../bench/patch-wasserstein.js';
import { referenceGap } from '../../bench/reference-gap.js';
import type { RgbImage } from '../../server/engine/image.js';
import { seededValues } from '../helpers/backend.js';

const W = 64;
const H = 48;

function image(f: (x: number, y: number, c: number) => number): RgbImage {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) data[(y * W + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(f(x, y, c))));
  return { width: W, height: H, data };
}

/** A smooth "photo", and a "painting" of it: other colours, broad diagonal strokes and fine noise. */
const noise = seededValues(W * H, 3);
const photo = image((x, y, c) => 60 + 2 * x + y + 30 * c);
const stroke = (x: number, y: number): number => ((x + y) % 24 < 12 ? 70 : -70);
const painting = image((x, y, c) => (c === 2 ? 150 : 90) + stroke(x, y) + 30 * noise[y * W + x]!);

/** The left and right halves swapped: the same patches (bar the seams), the strokes 8 px off. */
const swapped: RgbImage = (() => {
  const data = new Uint8Array(painting.data.length);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.set(painting.data.subarray((y * W + ((x + W / 2) % W)) * 3, (y * W + ((x + W / 2) % W)) * 3 + 3), (y * W + x) * 3);
  return { width: W, height: H, data };
})();

describe('patchWassersteinGap', () => {
  it('reads 0 for the reference and 1 for the photo', () => {
    expect(patchWassersteinGap(painting, painting, photo)).toBe(0);
    expect(patchWassersteinGap(photo, painting, photo)).toBeCloseTo(1, 10);
  });

  it("is blind to where the paint is: the reference's halves swapped read near 0, where the reference gap does not", () => {
    const blind = patchWassersteinGap(swapped, painting, photo);
    const placed = referenceGap(swapped, painting, photo);
    expect(blind).toBeLessThan(0.15);
    expect(placed).toBeGreaterThan(0.5);
  });

  it("the painting's colours without its texture read farther than its texture moved elsewhere", () => {
    const cast = image((_x, _y, c) => (c === 2 ? 150 : 90));
    expect(patchWassersteinGap(cast, painting, photo)).toBeGreaterThan(2 * patchWassersteinGap(swapped, painting, photo));
  });
});
