/**
 * `stylize painters train --style <id>`: teaches a live stream's learned painter a style now
 * (painter/train-painter.ts), with a progress bar, and prints what it did as one JSON line.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULTS, type BackendName, type ModelChoice, readEnv } from '../config.js';
import { DEFAULT_DATA_DIR, DEFAULT_MODELS_DIR, DEFAULT_STYLES_DIR } from '../paths.js';
import { trainPainter } from '../painter/train-painter.js';
import { createProgress } from './progress.js';
import { cliStyleLibrary, resolveStyle } from './style-arg.js';

export interface TrainFlags {
  style: string;
  kind?: 'gram' | 'stroke';
  keyframes?: number;
  keyframeSteps?: number;
  steps: number;
  /** Train only up to this many steps in all (none if the kept painter has them). */
  upTo?: number;
  /** Start from a fresh painter, not the kept or shipped one (how the shipped painters are made). */
  fresh?: boolean;
  clip?: string;
  size?: number;
  stylesDir?: string;
  model?: ModelChoice;
  backend?: BackendName;
}

export async function trainPainterForStyle(flags: TrainFlags): Promise<void> {
  const env = readEnv();
  const stylesDir = flags.stylesDir ?? env.stylesDir ?? DEFAULT_STYLES_DIR;
  const style = await styleId(flags.style, stylesDir);
  const result = await trainPainter(
    {
      style,
      ...(flags.kind ? { kind: flags.kind } : {}),
      ...(flags.keyframes !== undefined ? { keyframes: flags.keyframes } : {}),
      ...(flags.keyframeSteps !== undefined ? { keyframeSteps: flags.keyframeSteps } : {}),
      steps: flags.steps,
      ...(flags.upTo !== undefined ? { upTo: flags.upTo } : {}),
      ...(flags.fresh ? { fresh: true } : {}),
      ...(flags.clip ? { clips: flags.clip.split(',').map((c) => c.trim()).filter(Boolean) } : {}),
      ...(flags.size !== undefined ? { size: flags.size } : {}),
      stylesDir,
      dataDir: env.dataDir ?? DEFAULT_DATA_DIR,
      modelsDir: env.modelsDir ?? DEFAULT_MODELS_DIR,
      model: flags.model ?? DEFAULTS.model,
      backend: flags.backend ?? env.backend,
      threads: env.wasmThreads,
    },
    {
      engine: (backend, network) => process.stderr.write(`${backend}, ${network}\n`),
      warn: (m) => process.stderr.write(`warning: ${m}\n`),
      progress: (total, label) => {
        const bar = createProgress(label ?? 'train', total);
        return { update: (step, loss) => bar.update(step, label === 'keyframes' ? 'painted by the optimiser' : `loss ${loss.toExponential(2)}`), stop: () => bar.stop() };
      },
    },
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * The style's id. A file is kept as an upload, as the page's "Upload your own…" keeps the same
 * file (same id, same stored bytes): a painter is known by its style's bytes, so the one trained
 * here is the one a live stream in that uploaded style finds.
 */
async function styleId(value: string, stylesDir: string): Promise<string> {
  const library = cliStyleLibrary(stylesDir);
  const style = await resolveStyle(value, library);
  if ('id' in style) return style.id;
  const added = await library.add(await readFile(style.file), path.basename(style.file));
  process.stderr.write(`${style.file} is the style ${added.id} (kept with the uploaded styles, as the page's upload of it would be)\n`);
  return added.id;
}
