/**
 * watchJob's view of a running job (job-queue.ts), on a real file repository: frames of chunks
 * still being painted are counted in, and while chunks teach their learned painter before their
 * first frame the view says so (stage 'learning-painter', their training steps summed), a view
 * only: the stored job never carries it.
 */
import { describe, expect, it } from 'vitest';
import { createFileJobRepository } from '../../server/jobs/local/file-job-repository.js';
import { watchJob } from '../../server/jobs/job-queue.js';
import { withChunkProgress } from '../../server/jobs/job-progress.js';
import type { Job } from '../../server/jobs/job-store.js';
import { tempDir } from '../helpers/paths.js';

const OPTIONS = { size: 32, stepsPerFrame: 0, firstFrameSteps: 0, contentWeight: 10, styleWeight: 40, preserveColors: false, painter: 'learned' as const };

describe('watchJob', () => {
  it('shows chunks teaching their painter (steps summed), then their frames, never storing the stage', async () => {
    const { dir, cleanup } = await tempDir();
    const repo = createFileJobRepository(dir);
    const stop = new AbortController();
    try {
      const created = await repo.create({ inputName: 'a.mp4', styleName: 's', options: OPTIONS });
      const chunks = [
        { index: 0, start: 0, end: 10, decodeFrom: 0 },
        { index: 1, start: 10, end: 20, decodeFrom: 6 },
      ];
      await repo.update(created.id, { set: { status: 'running', chunks, framesTotal: 20 } });
      const seen: Job[] = [];
      const watching = (async () => {
        for await (const job of watchJob(repo, created.id, { progressEveryMs: 0, signal: stop.signal })) seen.push(job);
      })();
      const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 30));
      await settle();
      repo.progress(created.id, 0, { stage: 'learning-painter', kept: 0, learning: { step: 3, steps: 60 } });
      await settle();
      repo.progress(created.id, 1, { stage: 'learning-painter', kept: 0, learning: { step: 5, steps: 60 } });
      await settle();
      expect(seen.at(-1)).toMatchObject({ stage: 'learning-painter', learning: { step: 8, steps: 120 }, framesDone: 0 });
      // Chunk 0 paints its first frames: only chunk 1 is still learning.
      repo.progress(created.id, 0, { stage: 'painting', kept: 4 });
      await settle();
      expect(seen.at(-1)).toMatchObject({ stage: 'learning-painter', learning: { step: 5, steps: 60 }, framesDone: 4 });
      repo.progress(created.id, 1, { stage: 'painting', kept: 2 });
      await settle();
      expect(seen.at(-1)!.stage).toBe('painting');
      expect(seen.at(-1)!.learning).toBeUndefined();
      expect(seen.at(-1)!.framesDone).toBe(6);
      // Reading the job (GET /api/jobs/:id) shows the same: the repository keeps each chunk's latest report.
      expect(withChunkProgress((await repo.get(created.id))!, await repo.chunkProgress(created.id))).toMatchObject({ framesDone: 6 });
      expect((await repo.get(created.id))!.framesDone).toBe(0);
      // Assembling (stored) wins over any view of learning.
      repo.progress(created.id, 1, { stage: 'learning-painter', kept: 0, learning: { step: 6, steps: 60 } });
      await repo.update(created.id, { set: { stage: 'assembling' } });
      await settle();
      expect(seen.at(-1)!.stage).toBe('assembling');
      const stored = await repo.get(created.id);
      expect(stored!.learning).toBeUndefined();
      stop.abort();
      await watching;
    } finally {
      stop.abort();
      await repo.close();
      await cleanup();
    }
  });
  it('passes on the latest report once the throttle runs out, and a late watcher starts from the kept reports', async () => {
    const { dir, cleanup } = await tempDir();
    const repo = createFileJobRepository(dir);
    const stop = new AbortController();
    try {
      const created = await repo.create({ inputName: 'a.mp4', styleName: 's', options: { ...OPTIONS, painter: 'off' as const } });
      await repo.update(created.id, { set: { status: 'running', chunks: [{ index: 0, start: 0, end: 10, decodeFrom: 0 }], framesTotal: 10 } });
      repo.progress(created.id, 0, { stage: 'painting', kept: 2 });
      const seen: Job[] = [];
      const watching = (async () => {
        for await (const job of watchJob(repo, created.id, { progressEveryMs: 200, signal: stop.signal })) seen.push(job);
      })();
      await new Promise((r) => setTimeout(r, 30));
      // Joined after the report: it still counts its frames.
      expect(seen.at(-1)!.framesDone).toBe(2);
      repo.progress(created.id, 0, { stage: 'painting', kept: 3 }); // passed on at once (the first report of this watch)
      repo.progress(created.id, 0, { stage: 'painting', kept: 4 }); // held back by the throttle…
      await new Promise((r) => setTimeout(r, 30));
      expect(seen.at(-1)!.framesDone).toBe(3);
      // …then passed on when it runs out, though no report follows it.
      await new Promise((r) => setTimeout(r, 300));
      expect(seen.at(-1)!.framesDone).toBe(4);
      stop.abort();
      await watching;
    } finally {
      stop.abort();
      await repo.close();
      await cleanup();
    }
  });
});
