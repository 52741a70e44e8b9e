/**
 * Builds the browser client (client/ → dist/client/) with esbuild: `npm install` does it, and
 * `serve` does it again when a client source is newer than the bundle.
 */
import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths.js';

export const CLIENT_SRC = path.join(PROJECT_ROOT, 'client');
export const CLIENT_OUT = path.join(PROJECT_ROOT, 'dist', 'client');
// favicon.ico is favicon.svg rasterised at 16, 32 and 48 px: browsers ask for /favicon.ico on their own.
const STATIC_FILES = ['index.html', 'watch.html', 'style.css', 'favicon.svg', 'favicon.ico'];

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? await newestMtime(full) : (await stat(full)).mtimeMs);
  }
  return newest;
}

export async function clientIsStale(): Promise<boolean> {
  const bundle = await stat(path.join(CLIENT_OUT, 'app.js')).catch(() => undefined);
  if (!bundle) return true;
  return (await newestMtime(CLIENT_SRC)) > bundle.mtimeMs;
}

export async function buildClient(): Promise<void> {
  const { build } = await import('esbuild');
  await mkdir(CLIENT_OUT, { recursive: true });
  await build({
    entryPoints: { app: path.join(CLIENT_SRC, 'src', 'main.ts'), watch: path.join(CLIENT_SRC, 'src', 'watch.ts') },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    outdir: CLIENT_OUT,
    logLevel: 'warning',
  });
  for (const file of STATIC_FILES) await copyFile(path.join(CLIENT_SRC, file), path.join(CLIENT_OUT, file));
}

export async function ensureClientBuilt(): Promise<void> {
  if (await clientIsStale()) await buildClient();
}
