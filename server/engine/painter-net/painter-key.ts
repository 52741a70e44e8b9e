/**
 * What a kept painter is for, and the key its file is named by: everything that changes what the
 * painter should paint (the style image's bytes, the loss network, α, β, colour preservation, the
 * painter's shape). No tfjs here: the server process (which paints nothing) looks files up by it.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';

export interface PainterShape {
  /**
   * 'unet': the stroke painter (unet-painter-net.ts), taught by keyframes; absent: the
   * ¼-resolution residual painter (painter-net.ts), taught by the Gram objective.
   */
  kind?: 'unet';
  /** Channels at ¼ resolution (the U-Net: at full resolution; 2× at half, 4× at quarter). */
  channels: number;
  /** Residual blocks. */
  blocks: number;
  /**
   * The sub-pixel output passed through gridFreeBlur (painter-layers.ts), so no 4-pixel grid can
   * form. Painters kept before it existed have none (and their own key).
   */
  gridFree?: boolean;
}

export const DEFAULT_PAINTER_SHAPE: PainterShape = { channels: 32, blocks: 3, gridFree: true };

/**
 * The stroke painter taught by keyframes (issue 22): 8 channels at full size, 16 at half, 32 at
 * a quarter with 2 residual blocks: 43 ms a 256×144 frame on 2 wasm threads here, ~180 M
 * multiply-adds (unet-painter-net.ts).
 */
export const STROKE_PAINTER_SHAPE: PainterShape = { kind: 'unet', channels: 8, blocks: 2 };

export const PAINTER_EXTENSION = '.slpaint';

/** What a painter is trained for: two painters with the same key paint the same thing. */
export interface PainterFor {
  /** The style image as it is stored (its bytes are hashed, not its name). */
  styleBytes: Uint8Array;
  /** A short name for lists (the style's id or file name). */
  styleName: string;
  network: string;
  contentWeight: number;
  styleWeight: number;
  preserveColors: boolean;
  shape?: PainterShape;
}

export function painterKey(what: PainterFor): string {
  const settings = { network: what.network, contentWeight: what.contentWeight, styleWeight: what.styleWeight, preserveColors: what.preserveColors, shape: what.shape ?? DEFAULT_PAINTER_SHAPE };
  return createHash('sha256').update(what.styleBytes).update(JSON.stringify(settings)).digest('hex').slice(0, 24);
}

/** Whether a painter file for `what` is in any of `dirs` (sound or not: opening it tells). */
export async function hasPainterFile(what: PainterFor, dirs: readonly string[]): Promise<boolean> {
  const name = `${painterKey(what)}${PAINTER_EXTENSION}`;
  for (const dir of dirs) if (await stat(path.join(dir, name)).then(() => true, () => false)) return true;
  return false;
}
