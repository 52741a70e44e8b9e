/** The durable job store under concurrent writes. */
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createJobStore } from '../../server/jobs/job-store.js';
import { tempDir } from '../helpers/paths.js';

describe('job store', () => {
  it('keeps job.json whole when many saves of one job race (chunks finish together)', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const store = createJobStore(dir);
      const job = await store.create({
        inputName: 'a.mp4',
        styleName: 's',
        options: { size: 32, stepsPerFrame: 1, firstFrameSteps: 1, contentWeight: 1, styleWeight: 1, preserveColors: false },
      });
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.save({ ...job, framesDone: i })));
      const saved = JSON.parse(await readFile(`${store.dir(job.id)}/job.json`, 'utf8')) as { framesDone: number };
      expect(saved.framesDone).toBe(49); // saves land in order: the last one wins
      expect((await readdir(store.dir(job.id))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      expect(await store.load(job.id)).toMatchObject({ id: job.id, framesDone: 49 });
      expect(await store.load('../../etc')).toBeUndefined();
    } finally {
      await cleanup();
    }
  });
});
