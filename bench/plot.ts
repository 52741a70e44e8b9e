/**
 * A small line plot drawn straight into pixels (no plotting library is installed): for the
 * benches' learning curves. White background, grey grid at every 25 % of the y range and every
 * x tick, one coloured polyline with dots per series, and a legend swatch per series in the
 * top-left corner (the series' names go in the bench's printed table, not in the picture).
 */
import type { RgbImage } from '../server/engine/image.js';

export interface Series {
  points: { x: number; y: number }[];
  /** RGB 0–255. */
  colour: [number, number, number];
}

export function linePlot(series: Series[], options: { width?: number; height?: number; xMax: number; yMax: number; xTick: number }): RgbImage {
  const width = options.width ?? 480;
  const height = options.height ?? 240;
  const margin = 24;
  const data = new Uint8Array(width * height * 3).fill(255);
  const put = (x: number, y: number, [r, g, b]: [number, number, number]): void => {
    const px = Math.round(x);
    const py = Math.round(y);
    if (px < 0 || py < 0 || px >= width || py >= height) return;
    const i = (py * width + px) * 3;
    data[i] = r;
    data[i + 1] = g;
    data[i + 2] = b;
  };
  const toX = (x: number): number => margin + (x / options.xMax) * (width - 2 * margin);
  const toY = (y: number): number => height - margin - (Math.max(0, Math.min(options.yMax, y)) / options.yMax) * (height - 2 * margin);
  const line = (x0: number, y0: number, x1: number, y1: number, colour: [number, number, number]): void => {
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    for (let s = 0; s <= steps; s++) put(x0 + ((x1 - x0) * s) / steps, y0 + ((y1 - y0) * s) / steps, colour);
  };
  const grid: [number, number, number] = [220, 220, 220];
  for (let q = 0; q <= 4; q++) line(toX(0), toY((q * options.yMax) / 4), toX(options.xMax), toY((q * options.yMax) / 4), grid);
  for (let x = 0; x <= options.xMax; x += options.xTick) line(toX(x), toY(0), toX(x), toY(options.yMax), grid);
  const axis: [number, number, number] = [60, 60, 60];
  line(toX(0), toY(0), toX(options.xMax), toY(0), axis);
  line(toX(0), toY(0), toX(0), toY(options.yMax), axis);
  for (const [k, s] of series.entries()) {
    for (let i = 1; i < s.points.length; i++) line(toX(s.points[i - 1]!.x), toY(s.points[i - 1]!.y), toX(s.points[i]!.x), toY(s.points[i]!.y), s.colour);
    for (const p of s.points) for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) put(toX(p.x) + dx, toY(p.y) + dy, s.colour);
    for (let dy = 0; dy < 6; dy++) for (let dx = 0; dx < 14; dx++) put(margin + 6 + dx, 6 + k * 10 + dy, s.colour);
  }
  return { width, height, data };
}
