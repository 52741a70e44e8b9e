/**
 * How close live frames come to the still painting (issue 22), judged with no neural network:
 * the reference gap (blurred Lab, reference-gap.ts) and the placement-blind patch judge
 * (sliced Wasserstein of 7×7 Lab patches, patch-wasserstein.ts), each against the 200-step still
 * of the same source frame painted with `stylize image`'s defaults (cached in bench/out/cache by
 * the frame's and style's bytes), plus the warped flicker ratio (quality-judge.ts flickerRatio).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeImage, encodeImage, writeImage } from '../server/codec/image-codec.js';
import { selectBackend } from '../server/engine/backend.js';
import { loadNetwork } from '../server/engine/networks/load-network.js';
import { DEFAULT_MODELS_DIR, DEFAULT_STYLES_DIR } from '../server/paths.js';
import { createStyleLibrary } from '../server/styles/style-library.js';
import { decodeRgbFrames, probeVideo } from '../server/video/ffmpeg.js';
import { DEFAULTS, resolveCostWeights, resolveStartColours } from '../server/config.js';
import type { RgbImage } from '../server/engine/image.js';
import type { FeatureNetwork } from '../server/engine/networks/network.js';
import { OPTIMISER_RECIPES } from '../server/engine/optimiser-recipe.js';
import { createStylizer } from '../server/engine/stylizer.js';
import { ROOT } from '../test/helpers/paths.js';
import { patchWassersteinGap } from './patch-wasserstein.js';
import { concat, flickerRatio, mean, round, stack } from './quality-judge.js';
import { referenceGap } from './reference-gap.js';

const CACHE = path.join(ROOT, 'bench/out/cache');

/** The still of `frame`: `steps` steps of `stylize image`'s defaults (cached). */
export async function defaultStill(network: FeatureNetwork, style: RgbImage, styleBytes: Uint8Array, frame: RgbImage, steps: number = DEFAULTS.steps): Promise<RgbImage> {
  const key = createHash('sha256').update(frame.data).update(styleBytes).update(JSON.stringify({ steps, w: frame.width, h: frame.height, strength: DEFAULTS.styleStrength, optimizer: DEFAULTS.optimizer, network: network.name })).digest('hex').slice(0, 20);
  const file = path.join(CACHE, `still-default-${key}.png`);
  const cached = await readFile(file).then((b) => decodeImage(b), () => undefined);
  if (cached) return cached;
  process.stderr.write(`still: ${steps} steps at ${frame.width}×${frame.height} (cached after)…\n`);
  const strength = { optimizer: DEFAULTS.optimizer, styleStrength: DEFAULTS.styleStrength };
  const stylizer = createStylizer(network, { ...DEFAULTS, ...resolveCostWeights(strength), startColours: resolveStartColours(strength), optimizer: OPTIMISER_RECIPES[DEFAULTS.optimizer] }, { ownsNetwork: false });
  try {
    stylizer.setStyle([{ image: style }]);
    const { image } = await stylizer.stylizeFrame(frame, { steps });
    await mkdir(CACHE, { recursive: true });
    await writeImage(image, file);
    return image;
  } finally {
    stylizer.dispose();
  }
}

export interface JudgedFrames {
  /** Mean over the judged frames; each frame's too. */
  referenceGap: number;
  patchGap: number;
  perFrame: { index: number; referenceGap: number; patchGap: number }[];
}

/** Each output against the still of its source frame; and a side-by-side (photo | output | still per row). */
export function judgeAgainstStills(items: { index: number; photo: RgbImage; output: RgbImage; still: RgbImage }[]): { judged: JudgedFrames; sheet: RgbImage | undefined } {
  const perFrame = items.map(({ index, photo, output, still }) => ({
    index,
    referenceGap: round(referenceGap(output, still, photo), 3),
    patchGap: round(patchWassersteinGap(output, still, photo), 3),
  }));
  return {
    judged: { referenceGap: round(mean(perFrame.map((f) => f.referenceGap)), 3), patchGap: round(mean(perFrame.map((f) => f.patchGap)), 3), perFrame },
    sheet: items.length > 0 ? stack(items.map((i) => concat([i.photo, i.output, i.still]))) : undefined,
  };
}

/** Warped flicker of a run of consecutive outputs ÷ that of their inputs (the judge's flow). */
export function liveFlicker(outputs: RgbImage[], inputs: RgbImage[]): number {
  return round(flickerRatio(outputs, inputs).warped, 2);
}

/** The image flipped left to right (a clip no painter trained on). */
export function mirror(image: RgbImage): RgbImage {
  const { width, height } = image;
  const data = new Uint8Array(image.data.length);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(image.data.subarray((y * width + width - 1 - x) * 3, (y * width + width - x) * 3), (y * width + x) * 3);
  return { width, height, data };
}

/** What the bench sends: the decoded frames of one or two clips, and which is sent as each seq. */
export interface Playlist {
  fps: number;
  /** JPEG as sent, and the frames themselves (the judges' photos), clip after clip. */
  frames: Buffer[];
  raw: RgbImage[];
  firstLength: number;
  /** The first clip loops until this seq, then the second (if any) loops. */
  switchSeq: number | undefined;
  at(seq: number): number;
}

/** The clips decoded at `size` (short side), mirrored if asked; a second clip starts after `switchSeconds`. */
export async function loadPlaylist(clips: string[], size: number, mirrored: boolean, switchSeconds: number): Promise<Playlist> {
  const frames: Buffer[] = [];
  const raw: RgbImage[] = [];
  const lengths: number[] = [];
  let fps = 0;
  for (const clip of clips) {
    const info = await probeVideo(clip);
    fps ||= info.fps;
    const width = Math.round(((info.width / info.height) * size) / 2) * 2;
    const start = raw.length;
    for await (const rgb of decodeRgbFrames(clip, info, { width, height: size })) {
      const image = { width, height: size, data: new Uint8Array(rgb) };
      raw.push(mirrored ? mirror(image) : image);
      frames.push(Buffer.from(await encodeImage(raw.at(-1)!, 'jpeg', 85)));
    }
    lengths.push(raw.length - start);
    process.stderr.write(`clip ${path.basename(clip)}${mirrored ? ' (mirrored)' : ''}: ${raw.length - start} frames at ${info.fps} fps, sent as ${width}×${size} JPEG\n`);
  }
  const [firstLength, secondLength] = lengths as [number, number | undefined];
  const switchSeq = secondLength ? Math.round(switchSeconds * fps) : undefined;
  return {
    fps,
    frames,
    raw,
    firstLength,
    switchSeq,
    at: (seq) => (switchSeq === undefined || seq < switchSeq ? seq % firstLength : firstLength + ((seq - switchSeq) % secondLength!)),
  };
}

/** The 200-step stills of the judged frames (indices into the playlist), painted before any server runs (cached). */
export async function stillsFor(indices: number[], raw: RgbImage[], styleId: string, steps: number): Promise<Map<number, RgbImage>> {
  await selectBackend({ prefer: 'wasm' });
  const { network } = await loadNetwork({ model: 'vgg19-blocks1-3', modelsDir: DEFAULT_MODELS_DIR, seed: DEFAULTS.seed });
  const styles = createStyleLibrary({ stylesDir: DEFAULT_STYLES_DIR, uploadsDir: path.join(ROOT, 'bench/out/no-uploads') });
  const style = await styles.decoded(styleId, Math.max(raw[0]!.width, raw[0]!.height), network.minSide);
  const bytes = (await styles.image(styleId)).bytes;
  const out = new Map<number, RgbImage>();
  for (const i of indices) out.set(i, await defaultStill(network, style, bytes, raw[i]!, steps));
  network.dispose();
  return out;
}

/**
 * A run's last output of each judged frame within its final `window` sent frames (side-by-side to
 * `sheetFile`), the flicker of its last 30 outputs, and after a scene change each judged output's
 * reference gap against the seconds since the change.
 */
export async function judgeRun(outputs: Map<number, Buffer>, playlist: Playlist, stills: Map<number, RgbImage>, window: number, sheetFile: string) {
  const seqs = [...outputs.keys()].sort((a, b) => a - b);
  const lastSeq = seqs.at(-1) ?? 0;
  const items: { index: number; photo: RgbImage; output: RgbImage; still: RgbImage }[] = [];
  for (const [index, still] of stills) {
    const seq = seqs.filter((s) => s > lastSeq - window && playlist.at(s) === index).at(-1);
    if (seq !== undefined) items.push({ index, photo: playlist.raw[index]!, output: await decodeImage(outputs.get(seq)!), still });
  }
  const { judged, sheet } = judgeAgainstStills(items);
  if (sheet) {
    await mkdir(path.dirname(sheetFile), { recursive: true });
    await writeImage(sheet, sheetFile);
  }
  const run = seqs.slice(-30);
  const flicker = run.length > 2 ? liveFlicker(await Promise.all(run.map((s) => decodeImage(outputs.get(s)!))), run.map((s) => playlist.raw[playlist.at(s)]!)) : null;
  const recovery: { seconds: number; referenceGap: number }[] = [];
  if (playlist.switchSeq !== undefined) {
    for (const seq of seqs.filter((s) => s >= playlist.switchSeq! && stills.has(playlist.at(s)))) {
      const index = playlist.at(seq);
      const output = await decodeImage(outputs.get(seq)!);
      recovery.push({ seconds: round((seq - playlist.switchSeq) / playlist.fps, 1), referenceGap: round(referenceGap(output, stills.get(index)!, playlist.raw[index]!), 3) });
    }
  }
  return { judged: `${items.length}/${stills.size} frames`, ...judged, flicker, sideBySide: sheet ? sheetFile : null, ...(playlist.switchSeq !== undefined ? { recovery } : {}) };
}
