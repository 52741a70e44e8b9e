/** Where the project's own files live, whether run from TypeScript sources or from dist/. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return start;
    dir = parent;
  }
  return dir;
}

export const PROJECT_ROOT = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));

/** Default home of converted weights and generated style images (`models/`). */
export const DEFAULT_MODELS_DIR = path.join(PROJECT_ROOT, 'models');

/**
 * The real VGG19 weights (blocks 1–3, float16) that ship in git, so `auto` paints with ImageNet
 * features offline. Part of the code, not of the models directory: `STYLIZE_MODELS_DIR`, which
 * holds what `stylize models fetch|import` installs, does not move them.
 */
export const SHIPPED_VGG19_DIR = path.join(PROJECT_ROOT, 'models', 'vgg19-blocks1-3');

/** The public-domain paintings offered as built-in styles (see models/paintings/SOURCES.md). */
export const PAINTINGS_DIR = path.join(PROJECT_ROOT, 'models', 'paintings');

/** Style images found here are offered besides the built-in ones (`--styles-dir`). */
export const DEFAULT_STYLES_DIR = path.join(DEFAULT_MODELS_DIR, 'styles');
/** Live painters for the built-in paintings, in git (models/README.md: made by `stylize painters train`). */
export const SHIPPED_PAINTERS_DIR = path.join(DEFAULT_MODELS_DIR, 'painters');

/** Uploaded styles and, later, video jobs (`--data-dir`, git-ignored). */
export const DEFAULT_DATA_DIR = path.join(PROJECT_ROOT, 'data');
