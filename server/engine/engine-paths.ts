/**
 * The engine's own files inside the package: found from this module's place, whether it runs
 * from the TypeScript sources or from dist/, so the engine needs nothing of the server's paths.
 */
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

/** The package's root (where package.json is). */
export const PROJECT_ROOT = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));

/**
 * The real VGG19 weights (blocks 1–3, float16) that ship in git, so `auto` paints with ImageNet
 * features offline. Part of the code, not of the models directory: `STYLIZE_MODELS_DIR`, which
 * holds what `stylize models fetch|import` installs, does not move them.
 */
export const SHIPPED_VGG19_DIR = path.join(PROJECT_ROOT, 'models', 'vgg19-blocks1-3');
