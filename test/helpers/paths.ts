import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Read-only shared fixtures and weights beside the checkout (present in CI too). */
export const SHARED = path.resolve(ROOT, '../shared');
export const PARTIAL_VGG19 = path.join(SHARED, 'weights/vgg19-keras-tfjs-partial-block3');
export const CAT = path.join(SHARED, 'fixtures/content/chelsea_cat.jpg');
export const WAVE = path.join(SHARED, 'fixtures/styles/wave.jpg');

/** A fresh temp directory, removed by the returned cleanup. */
export async function tempDir(prefix = 'stylize-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
