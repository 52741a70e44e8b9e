/**
 * Built-in styles drawn by code, offered after the paintings (paintings.ts): painterly patterns,
 * deterministic, any size.
 */
import type { RgbImage } from '../engine/image.js';

type Pixel = [number, number, number];

/** Fills an image from a colour function of (u, v) ∈ [0, 1)². */
export function paint(width: number, height: number, colour: (u: number, v: number) => Pixel): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = colour(x / width, y / height);
      const i = (y * width + x) * 3;
      data[i] = clamp(r);
      data[i + 1] = clamp(g);
      data[i + 2] = clamp(b);
    }
  }
  return { width, height, data };
}

function clamp(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

/** Swirling bands of warm and cool paint (a "starry" texture). */
export function drawSwirls(width: number, height: number): RgbImage {
  return paint(width, height, (u, v) => {
    const a = Math.sin(u * 18 + Math.sin(v * 11) * 2.5);
    const b = Math.cos(v * 15 + Math.cos(u * 7) * 3);
    const t = (a * b + 1) / 2;
    return [30 + 200 * t, 60 + 120 * (1 - t) * t * 4, 160 - 120 * t + 60 * b];
  });
}

/** Bold diagonal strokes in primary colours (a "cubist" texture). */
export function drawStrokes(width: number, height: number): RgbImage {
  return paint(width, height, (u, v) => {
    const band = Math.floor((u * 7 + v * 5) * 2) % 4;
    const shade = 0.75 + 0.25 * Math.sin((u - v) * 40);
    const palette: Pixel[] = [[220, 40, 40], [245, 200, 40], [30, 70, 200], [20, 20, 25]];
    const [r, g, b] = palette[band]!;
    return [r * shade, g * shade, b * shade];
  });
}

/** Concentric ripples in sea greens and sand, like brushed water. */
export function drawRipples(width: number, height: number): RgbImage {
  return paint(width, height, (u, v) => {
    const d = Math.hypot(u - 0.3, v - 0.4) * 40 + Math.sin(u * 12) * 2;
    const t = (Math.sin(d) + 1) / 2;
    const grain = Math.sin(u * 160 + v * 90) * 12;
    return [40 + 180 * t * t + grain, 120 + 90 * t + grain, 110 + 60 * (1 - t) + grain];
  });
}

/** Irregular tiles with dark grout, in warm earth tones (a "mosaic"). */
export function drawMosaic(width: number, height: number): RgbImage {
  const cell = (n: number): number => {
    const s = Math.sin(n * 127.1) * 43758.5453;
    return s - Math.floor(s);
  };
  return paint(width, height, (u, v) => {
    const gx = u * 14 + Math.sin(v * 9) * 0.3;
    const gy = v * 14 + Math.sin(u * 7) * 0.3;
    const fx = gx - Math.floor(gx);
    const fy = gy - Math.floor(gy);
    if (fx < 0.08 || fy < 0.08) return [35, 28, 22];
    const h = cell(Math.floor(gx) * 31 + Math.floor(gy) * 17);
    return [150 + 100 * h, 70 + 90 * cell(h * 3.1), 40 + 60 * cell(h * 7.7)];
  });
}
