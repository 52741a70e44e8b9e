/**
 * Issue 20 item 1 (job side): a chunk process whose engine broke (a wasm RuntimeError: "memory
 * access out of bounds", then "Aborted()" for everything after, as a real broken instance does) is
 * never given another chunk: the pool kills and replaces it, the chunk is painted again in the
 * fresh process, and the next job paints. The break is injected (ChunkProcessInit.testPoisonFile);
 * the detection, the kill and the replacement are the real ones. Real chunk processes, real ffmpeg.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_VIDEO_LIMITS } from '../../server/video/ffmpeg.js';
import type { JobQueue } from '../../server/jobs/job-queue.js';
import { createLocalJobQueue } from '../../server/jobs/local/local-job-queue.js';
import { createLogger } from '../../server/logger.js';
import { DEFAULT_MODELS_DIR } from '../../server/paths.js';
import { makeClip } from '../helpers/media.js';
import { tempDir } from '../helpers/paths.js';

let dir: string;
let cleanup: () => Promise<void>;
let runner: JobQueue | undefined;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('stylize-poison-'));
});
afterAll(async () => {
  await runner?.close();
  await cleanup();
});

const style = { width: 48, height: 48, data: new Uint8Array(48 * 48 * 3).map((_, i) => (i * 37) % 251) };

async function paint(name: string): Promise<{ status: string; error?: string; framesDone: number; framesTotal: number }> {
  const input = await makeClip(path.join(dir, `${name}.mp4`), ['-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=10', '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
  const job = await runner!.submit({
    inputPath: input,
    inputName: `${name}.mp4`,
    style: async () => style,
    styleName: 'test pattern',
    options: { size: 32, stepsPerFrame: 1, firstFrameSteps: 1, contentWeight: 1, styleWeight: 1e3, preserveColors: false },
  });
  let last = job;
  for await (const seen of runner!.watch(job.id)) last = seen;
  return last;
}

it('a chunk process whose wasm engine broke is replaced, never reused; its chunk and the next job paint', async () => {
  const poison = path.join(dir, 'poison');
  await writeFile(poison, '');
  runner = createLocalJobQueue({
    dataDir: path.join(dir, 'data'),
    workers: 1,
    limits: DEFAULT_VIDEO_LIMITS,
    model: 'random-multiscale',
    weights: undefined,
    modelsDir: DEFAULT_MODELS_DIR,
    seed: 1,
    backend: 'wasm',
    log: createLogger('silent'),
    testPoisonFile: poison,
  });
  const first = await paint('first');
  // The break happened (the file is taken) in the first process …
  await expect(readFile(poison)).rejects.toThrow(/ENOENT/);
  // … whose chunk was painted again in a fresh one: before, the job failed with the wasm error.
  expect(first).toMatchObject({ status: 'done', framesDone: first.framesTotal });
  const pids = runner.workerPids();
  expect(pids).toHaveLength(1);
  // The next job paints too (before, the poisoned process answered "Aborted()" to every later chunk).
  const second = await paint('second');
  expect(second.error).toBeUndefined();
  expect(second.status).toBe('done');
  expect(runner.workerPids()).toEqual(pids);
});
