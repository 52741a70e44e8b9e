/**
 * An uploaded style learns its live painter in the background (issue 12): through a real server,
 * the upload starts a painter-training process (the library `stylize painters train` uses, on
 * the frames in models/painter-training) at once; the style list shows it
 * learning, then ready; the first live stream in that style then paints with the painter from its
 * very first frame (no learning minute). And the scheduler's bounds, with a stand-in trainer
 * script in real child processes: one at a time, a capped waiting list, failures reported with
 * the trainer's own words, a time limit, close() kills the child (safe twice).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage, encodeImage } from '../../server/codec/image-codec.js';
import { createLogger } from '../../server/logger.js';
import { LIVE_PAINTER } from '../../server/live/stream-process/live-painter.js';
import { createPainterTraining, TrainingState, type PainterTraining, type TrainingStatus } from '../../server/painter/painter-training.js';
import { CAT, tempDir, WAVE } from '../helpers/paths.js';
import { startTestServer } from '../helpers/server.js';
import { firstFrameStats } from '../helpers/first-frame.js';

const SIZE = 64;

async function until<T>(what: () => Promise<T | undefined> | T | undefined, ms: number, label: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('uploaded styles learn their painter in the background', () => {
  it('an upload starts learning at once, the list shows it, and the first stream in it paints with the painter from frame 1', async () => {
    const server = await startTestServer({ liveSize: SIZE, liveSteps: 1, targetFps: 0, maxFrameMs: 120_000, livePainter: 'learned', uploadPainterSteps: LIVE_PAINTER.minSteps });
    try {
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(await readFile(WAVE))]), 'wave.jpg');
      const res = await fetch(`${server.url}/api/styles`, { method: 'POST', body: form });
      expect(res.status).toBe(201);
      const uploaded = (await res.json()) as { id: string; painter?: TrainingStatus };
      expect(uploaded.painter?.state).toBe('learning');

      const listed = async (): Promise<TrainingStatus | undefined> => {
        const all = (await (await fetch(`${server.url}/api/styles`)).json()) as { id: string; painter?: TrainingStatus }[];
        const mine = all.find((s) => s.id === uploaded.id)?.painter;
        expect(mine?.state, mine?.reason).not.toBe('failed');
        return mine?.state === 'ready' ? mine : undefined;
      };
      const ready = await until(listed, 240_000, 'the painter to be ready');
      expect(ready.steps).toBe(LIVE_PAINTER.minSteps);
      // Built-in paintings learn nothing in the background: only uploads do.
      const all = (await (await fetch(`${server.url}/api/styles`)).json()) as { id: string; painter?: TrainingStatus }[];
      expect(all.find((s) => s.id === 'starry-night')?.painter).toBeUndefined();

      const jpeg = await encodeImage(await decodeImage(CAT, { exact: { width: 112, height: SIZE } }), 'jpeg', 85);
      const stats = await firstFrameStats(server, 'uploaded', jpeg, uploaded.id);
      // Its very first frame: painted by the painter learnt in the background, at the full size.
      expect(stats.painter).toMatchObject({ state: 'ready' });
      expect([stats.width, stats.height]).toEqual([112, SIZE]);
    } finally {
      await server.close();
    }
  }, 360_000);

  it('an upload an earlier run did not teach learns its painter when the server starts again', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const dataDir = path.join(dir, 'data');
      const first = await startTestServer({ uploadPainterSteps: 0 }, { dataDir });
      let id: string;
      try {
        const form = new FormData();
        form.append('image', new Blob([new Uint8Array(await readFile(WAVE))]), 'wave.jpg');
        const res = await fetch(`${first.url}/api/styles`, { method: 'POST', body: form });
        const body = (await res.json()) as { id: string; painter?: TrainingStatus };
        expect(body.painter).toBeUndefined();
        id = body.id;
      } finally {
        await first.close();
      }
      // Small keyframes (the live size's): the stroke painter's lesson paints them first.
      const second = await startTestServer({ uploadPainterSteps: 2, liveSize: 64 }, { dataDir });
      try {
        const painterOf = async (): Promise<TrainingStatus | undefined> =>
          ((await (await fetch(`${second.url}/api/styles`)).json()) as { id: string; painter?: TrainingStatus }[]).find((s) => s.id === id)?.painter;
        const ready = await until(async () => ((await painterOf())?.state === 'ready' ? painterOf() : undefined), 120_000, 'the painter');
        expect(ready).toEqual({ state: 'ready', steps: 2 });
      } finally {
        await second.close();
      }
      // A third start finds it taught: nothing is queued again.
      const third = await startTestServer({ uploadPainterSteps: 2, liveSize: 64 }, { dataDir });
      try {
        await new Promise((r) => setTimeout(r, 1000));
        const all = (await (await fetch(`${third.url}/api/styles`)).json()) as { id: string; painter?: TrainingStatus }[];
        expect(all.find((s) => s.id === id)?.painter).toBeUndefined();
      } finally {
        await third.close();
      }
    } finally {
      await cleanup();
    }
  }, 240_000);

  describe('the scheduler, with a stand-in trainer', () => {
    /**
     * A training-process stand-in (painter-training-protocol.ts): style `fail` fails with a message
     * on stderr, `slow` hangs, others answer with their steps (`upTo`) after 300 ms.
     */
    async function standIn(dir: string): Promise<string> {
      const file = path.join(dir, 'trainer.mjs');
      await writeFile(
        file,
        `process.once('message', ({ request }) => {
           const { style, upTo: steps } = request;
           if (style === 'fail') { process.stderr.write('cannot read the style image\\n'); process.exit(1); }
           setTimeout(() => process.send({ type: 'trained', steps }, () => process.exit(0)), style === 'slow' ? 60000 : 300);
         });`,
      );
      return file;
    }

    function training(entry: string, extra: Partial<Parameters<typeof createPainterTraining>[0]> = {}): PainterTraining {
      return createPainterTraining({ steps: 7, dataDir: '/nonexistent', stylesDir: '/nonexistent', modelsDir: '/nonexistent', model: 'random-multiscale', liveSize: 64, log: createLogger('silent'), entry, ...extra });
    }

    it('one at a time in order, a capped waiting list (the oldest waiting is dropped), failures with the reason', async () => {
      const { dir, cleanup } = await tempDir();
      const t = training(await standIn(dir), { maxWaiting: 2 });
      try {
        for (const id of ['a', 'fail', 'b', 'c']) t.enqueue(id);
        // 'a' learns; 'fail' was the oldest waiting when 'c' came, so it was dropped.
        expect(t.status('a')?.state).toBe(TrainingState.LEARNING);
        expect(t.status('b')?.state).toBe(TrainingState.WAITING);
        // Said where the page looks, with why (issue 20: 21 of 30 dropped with only a log line).
        expect(t.status('fail')).toEqual({ state: 'dropped', reason: expect.stringMatching(/more than 2 styles were waiting/) });
        await until(() => (t.status('c')?.state === 'ready' ? true : undefined), 90_000, 'c');
        expect(t.status('a')).toEqual({ state: 'ready', steps: 7 });
        expect(t.status('b')).toEqual({ state: 'ready', steps: 7 });
        // A ready style is not trained again; a failure is reported with the trainer's words.
        t.enqueue('a');
        expect(t.status('a')?.state).toBe('ready');
        t.enqueue('fail');
        const failed = await until(() => (t.status('fail')?.state === 'failed' ? t.status('fail') : undefined), 90_000, 'fail');
        expect(failed.reason).toContain('cannot read the style image');
      } finally {
        await t.close();
        await cleanup();
      }
    }, 200_000);

    it('a time limit stops a stuck trainer; close() kills the child and is safe twice; steps 0 trains nothing', async () => {
      const { dir, cleanup } = await tempDir();
      const entry = await standIn(dir);
      const t = training(entry, { timeoutMs: 500 });
      try {
        t.enqueue('slow');
        const failed = await until(() => (t.status('slow')?.state === 'failed' ? t.status('slow') : undefined), 90_000, 'the limit');
        expect(failed.reason).toMatch(/stopped after/);
        const u = training(entry);
        u.enqueue('slow');
        expect(u.status('slow')?.state).toBe('learning');
        const started = Date.now();
        await u.close();
        await u.close();
        expect(Date.now() - started).toBeLessThan(5000);
        u.enqueue('x');
        expect(u.status('x')).toBeUndefined();
        const off = training(entry, { steps: 0 });
        off.enqueue('a');
        expect(off.status('a')).toBeUndefined();
        await off.close();
      } finally {
        await t.close();
        await cleanup();
      }
    }, 200_000);
  });
});
