/** What the live page's output canvas shows, measured in the page against the camera's picture. */
import type { Page } from 'playwright-core';

export interface CanvasFacts {
  width: number;
  height: number;
  /** Standard deviation of the red channel: a flat or blank canvas is near 0. */
  std: number;
  /** Mean absolute difference from the source video drawn at the same size, per channel, 0–255. */
  diff: number;
}

export function paintedCanvasFacts(page: Page): Promise<CanvasFacts> {
  return page.evaluate(() => {
    const output = document.querySelector<HTMLCanvasElement>('#output')!;
    const video = document.querySelector<HTMLVideoElement>('#source')!;
    const { width, height } = output;
    const out = output.getContext('2d')!.getImageData(0, 0, width, height).data;
    const scratch = document.createElement('canvas');
    scratch.width = width;
    scratch.height = height;
    const ctx = scratch.getContext('2d')!;
    ctx.drawImage(video, 0, 0, width, height);
    const src = ctx.getImageData(0, 0, width, height).data;
    let mean = 0;
    let diff = 0;
    for (let i = 0; i < out.length; i += 4) {
      mean += out[i]!;
      diff += Math.abs(out[i]! - src[i]!) + Math.abs(out[i + 1]! - src[i + 1]!) + Math.abs(out[i + 2]! - src[i + 2]!);
    }
    const n = out.length / 4;
    mean /= n;
    let variance = 0;
    for (let i = 0; i < out.length; i += 4) variance += (out[i]! - mean) ** 2;
    return { width, height, std: Math.sqrt(variance / n), diff: diff / (3 * n) };
  });
}
