/** Where the project's own files live, whether run from TypeScript sources or from dist/. */
import path from 'node:path';
import { PROJECT_ROOT } from './engine/engine-paths.js';

// The project's root and the shipped VGG19 are the engine's to find (it may import nothing here).
export { PROJECT_ROOT, SHIPPED_VGG19_DIR } from './engine/engine-paths.js';

/** Default home of converted weights and generated style images (`models/`). */
export const DEFAULT_MODELS_DIR = path.join(PROJECT_ROOT, 'models');

/** The public-domain paintings offered as built-in styles (see models/paintings/SOURCES.md). */
export const PAINTINGS_DIR = path.join(PROJECT_ROOT, 'models', 'paintings');

/** Style images found here are offered besides the built-in ones (`--styles-dir`). */
export const DEFAULT_STYLES_DIR = path.join(DEFAULT_MODELS_DIR, 'styles');
/** Live painters for the built-in paintings, in git (models/README.md: made by `stylize painters train`). */
export const SHIPPED_PAINTERS_DIR = path.join(DEFAULT_MODELS_DIR, 'painters');

/** Uploaded styles and, later, video jobs (`--data-dir`, git-ignored). */
export const DEFAULT_DATA_DIR = path.join(PROJECT_ROOT, 'data');
