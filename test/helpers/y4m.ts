/**
 * Writes a Y4M (YUV4MPEG2, 4:2:0) video from RGB frames: Chromium's fake webcam plays it.
 * BT.601 full-range conversion; even width and height.
 */
import { writeFile } from 'node:fs/promises';
import type { RgbImage } from '../../server/engine/image.js';

export async function writeY4m(file: string, frames: RgbImage[], fps: number): Promise<void> {
  const { width, height } = frames[0]!;
  if (width % 2 || height % 2) throw new RangeError('Y4M 4:2:0 needs even dimensions');
  const parts: Buffer[] = [Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`)];
  for (const frame of frames) {
    const y = Buffer.alloc(width * height);
    const u = Buffer.alloc((width / 2) * (height / 2));
    const v = Buffer.alloc((width / 2) * (height / 2));
    for (let row = 0; row < height; row++) {
      for (let col = 0; col < width; col++) {
        const i = (row * width + col) * 3;
        const [r, g, b] = [frame.data[i]!, frame.data[i + 1]!, frame.data[i + 2]!];
        y[row * width + col] = clamp(0.299 * r + 0.587 * g + 0.114 * b);
        if (row % 2 === 0 && col % 2 === 0) {
          const c = (row / 2) * (width / 2) + col / 2;
          u[c] = clamp(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
          v[c] = clamp(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
        }
      }
    }
    parts.push(Buffer.from('FRAME\n'), y, u, v);
  }
  await writeFile(file, Buffer.concat(parts));
}

function clamp(value: number): number {
  return Math.max(0, Math.min(255, Math.round(value)));
}

/**
 * A slow pan across the top 180 rows of `wide` (at least 320 + 4·(count − 1) px wide): `count`
 * frames of 320×180, each 4 px further right. Two seconds of fake camera at 10 fps by default.
 */
export function panningFrames(wide: RgbImage, count = 20): RgbImage[] {
  if (wide.height < 180 || wide.width < 320 + 4 * (count - 1)) throw new RangeError(`a ${count}-frame pan needs a picture at least ${320 + 4 * (count - 1)}×180`);
  return Array.from({ length: count }, (_, i) => {
    const data = new Uint8Array(320 * 180 * 3);
    for (let y = 0; y < 180; y++) data.set(wide.data.subarray((y * wide.width + i * 4) * 3, (y * wide.width + i * 4 + 320) * 3), y * 320 * 3);
    return { width: 320, height: 180, data };
  });
}
