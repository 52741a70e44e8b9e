/**
 * What `--style` names in every command that takes one (`stylize image`, `stylize video`,
 * `stylize painters train`): an image file, or the id of a style the server offers — a built-in
 * painting or pattern (starry-night, swirls, …), an image of the styles directory (dir-…) or an
 * upload kept in the data directory (user-…). A file that exists wins: that is what was typed.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { readEnv } from '../config.js';
import { ErrorCode, StylizeError } from '../errors.js';
import { DEFAULT_DATA_DIR, DEFAULT_STYLES_DIR } from '../paths.js';
import { builtInStyleIds, createStyleLibrary, type StyleLibrary } from '../styles/style-library.js';

export type StyleArg = { file: string } | { id: string };

/** Neither a file nor a style id: says which ids there are. */
export class StyleNotFoundError extends StylizeError {
  constructor(value: string, ids: readonly string[]) {
    super(ErrorCode.UNKNOWN_STYLE, `--style ${value}: no such file, and no style with that id; give an image file or one of: ${ids.join(', ')}`);
  }
}

/** The help's words for a --style value. */
export const STYLE_ARG_HELP = `an image file, or a style id: ${builtInStyleIds().join(', ')}, or one of --styles-dir's (dir-…) or the page's uploads (user-…)`;

/** The styles a served page offers, as this machine's `stylize serve` would find them. */
export function cliStyleLibrary(stylesDir?: string): StyleLibrary {
  const env = readEnv();
  return createStyleLibrary({ stylesDir: stylesDir ?? env.stylesDir ?? DEFAULT_STYLES_DIR, uploadsDir: path.join(env.dataDir ?? DEFAULT_DATA_DIR, 'styles') });
}

export async function resolveStyle(value: string, styles: StyleLibrary): Promise<StyleArg> {
  const file = await stat(value).then((s) => s.isFile(), () => false);
  if (file) return { file: value };
  if (await styles.has(value)) return { id: value };
  throw new StyleNotFoundError(value, (await styles.list()).map((s) => s.id));
}
