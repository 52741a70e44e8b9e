/**
 * The frames a painter learns a style on, each with the frame before it (for the temporal term).
 * By default the ones shipped in models/painter-training/ (cut from two short clips; see its
 * SOURCES.md), in the order of their names: the training batches pick from them by position, so
 * the order is part of what a painter learns. `stylize painters train --clip` learns from video
 * files instead, spread over each clip as the shipped ones were.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeImage } from '../codec/image-codec.js';
import type { RgbImage } from '../engine/image.js';
import type { TrainingSample } from '../engine/painter-net/painter-trainer.js';
import { BadInputError } from '../errors.js';
import { DEFAULT_MODELS_DIR } from '../paths.js';
import { decodeRgbFrames, probeVideo } from '../video/ffmpeg.js';

/** The shipped training frames: `NN-<clip>.jpg` and the frame before it, `NN-<clip>.previous.jpg`. */
export const PAINTER_TRAINING_DIR = path.join(DEFAULT_MODELS_DIR, 'painter-training');
const PREVIOUS_SUFFIX = '.previous.jpg';

/** Frames taken from each clip given with --clip (each with the frame before it). */
export const FRAMES_PER_CLIP = 12;

export type FrameSize = { width: number; height: number };

/** The shipped frames (or those of `dir`), scaled to `size`. */
export async function shippedTrainingSamples(size: FrameSize, dir = PAINTER_TRAINING_DIR): Promise<TrainingSample[]> {
  const all = new Set(await readdir(dir));
  const names = [...all].filter((n) => n.endsWith('.jpg') && !n.endsWith(PREVIOUS_SUFFIX)).sort();
  if (names.length === 0) throw new BadInputError(`no training frames in ${dir}`);
  const decode = async (file: string): Promise<RgbImage> => decodeImage(await readFile(path.join(dir, file)), { exact: size, label: `training frame ${file}` });
  const out: TrainingSample[] = [];
  for (const name of names) {
    const previous = `${path.basename(name, '.jpg')}${PREVIOUS_SUFFIX}`;
    out.push({ frame: await decode(name), ...(all.has(previous) ? { previous: await decode(previous) } : {}) });
  }
  return out;
}

/** FRAMES_PER_CLIP frames spread over each clip, each with the frame before it, at `size`. */
export async function clipTrainingSamples(clips: readonly string[], size: FrameSize): Promise<TrainingSample[]> {
  const out: TrainingSample[] = [];
  for (const clip of clips) out.push(...(await samplesOf(clip, size)));
  return out;
}

async function samplesOf(clip: string, size: FrameSize): Promise<TrainingSample[]> {
  const info = await probeVideo(clip).catch((error: Error) => {
    throw new BadInputError(`cannot read --clip ${clip}: ${error.message}`);
  });
  const every = Math.max(2, Math.floor(info.frames / FRAMES_PER_CLIP));
  const out: TrainingSample[] = [];
  let previous: RgbImage | undefined;
  let index = 0;
  for await (const data of decodeRgbFrames(clip, info, size)) {
    const frame = { ...size, data };
    if (index % every === 1 && previous) out.push({ frame, previous });
    previous = frame;
    index++;
  }
  if (out.length === 0) throw new BadInputError(`--clip ${clip}: too short to learn from`);
  return out;
}
