/**
 * How a job's progress is told (issue 23): the view of a running job built from its chunks'
 * reports (stage before the first frame, the ETA from measured times), the chunk's reporter that
 * measures them, the CLI's progress lines, and the page's progress line and preview gate.
 */
import { describe, expect, it } from 'vitest';
import { estimateMs, withChunkProgress, type ChunkReport } from '../../server/jobs/job-progress.js';
import type { Job } from '../../server/jobs/job-store.js';
import { createChunkReporter } from '../../server/jobs/chunk-process/chunk-reporter.js';
import { createProgress, formatDuration } from '../../server/cli/progress.js';
import { createPreviewGate, describeJob, type JobView } from '../../client/src/job-progress.js';

const OPTIONS = { size: 32, stepsPerFrame: 1, firstFrameSteps: 10, contentWeight: 10, styleWeight: 40, preserveColors: false };

function running(chunks: { start: number; end: number; decodeFrom: number }[], chunksDone: number[] = []): Job {
  const now = new Date().toISOString();
  return {
    id: 'a'.repeat(16),
    status: 'running',
    createdAt: now,
    updatedAt: now,
    inputName: 'a.mp4',
    styleName: 's',
    options: OPTIONS,
    chunks: chunks.map((c, index) => ({ index, ...c })),
    chunksDone,
    framesDone: 0,
    framesTotal: chunks.reduce((n, c) => n + c.end - c.start, 0),
  };
}

const reports = (entries: [number, ChunkReport][]): Map<number, ChunkReport> => new Map(entries);

describe('a running job as its watchers see it', () => {
  const two = [
    { start: 0, end: 20, decodeFrom: 0 },
    { start: 20, end: 40, decodeFrom: 16 },
  ];

  it('says what it does before its first frame, then painting; no ETA before a frame is timed', () => {
    expect(withChunkProgress(running(two), reports([]))).toMatchObject({ stage: 'starting' });
    expect(withChunkProgress(running(two), reports([[0, { stage: 'decoding', kept: 0, painted: 0 }]])).stage).toBe('decoding');
    const first = withChunkProgress(running(two), reports([[0, { stage: 'painting-first-frame', kept: 0, painted: 0 }], [1, { stage: 'decoding', kept: 0 }]]));
    expect(first).toMatchObject({ stage: 'painting-first-frame', framesDone: 0 });
    expect(first.etaS).toBeUndefined();
    const painting = withChunkProgress(running(two), reports([[0, { stage: 'painting', kept: 3, painted: 3, firstFrameMs: 1000, frameMs: 100 }]]));
    expect(painting).toMatchObject({ stage: 'painting', framesDone: 3 });
    expect(painting.etaS).toBeGreaterThan(0);
    // Queued, done, or assembling (stored): no view stage, no ETA.
    expect(withChunkProgress({ ...running(two), status: 'queued' }, reports([])).stage).toBeUndefined();
    expect(withChunkProgress({ ...running(two), stage: 'assembling' }, reports([[0, { kept: 20, firstFrameMs: 1 }]]))).toMatchObject({ stage: 'assembling' });
    expect(withChunkProgress({ ...running(two), stage: 'assembling' }, reports([[0, { kept: 20, firstFrameMs: 1 }]])).etaS).toBeUndefined();
    expect(withChunkProgress({ ...running(two), status: 'done' }, reports([])).stage).toBeUndefined();
  });

  it('estimates from measured times: frames left at each chunk\'s frame time, shared by the chunks painting at once', () => {
    // Chunk 0 has painted 5 of its 20 frames at 100 ms; chunk 1 (24 frames with its burn-in) has
    // not started: a 1000 ms cold frame and 23 at the mean 100 ms. One chunk painting: all in turn.
    const job = running(two);
    const one = reports([[0, { stage: 'painting', kept: 5, painted: 5, firstFrameMs: 1000, frameMs: 100 }]]);
    expect(estimateMs(job, one)).toBe(15 * 100 + 1000 + 23 * 100);
    // Both painting: their sum over two, but never less than the slower one.
    const both = reports([
      [0, { stage: 'painting', kept: 5, painted: 5, firstFrameMs: 1000, frameMs: 100 }],
      [1, { stage: 'painting', kept: 0, painted: 2, firstFrameMs: 1000, frameMs: 300 }],
    ]);
    expect(estimateMs(job, both)).toBe(Math.max((15 * 100 + 22 * 300) / 2, 22 * 300));
    // A chunk recorded done counts nothing; nothing timed yet: no estimate.
    expect(estimateMs(running(two, [0]), reports([[1, { stage: 'painting', kept: 1, painted: 5, firstFrameMs: 500 }]]))).toBe(19 * 500);
    expect(estimateMs(job, reports([[0, { stage: 'painting-first-frame', kept: 0, painted: 0 }]]))).toBeUndefined();
    // A learned painter still training: its steps left at their measured time come first.
    const teaching = reports([
      [0, { stage: 'painting', kept: 20, painted: 20, firstFrameMs: 200, frameMs: 100 }],
      [1, { stage: 'learning-painter', kept: 0, painted: 0, learning: { step: 10, steps: 60 }, learningStepMs: 50 }],
    ]);
    expect(estimateMs(job, teaching)).toBe(200 + 23 * 100 + 50 * 50);
    expect(withChunkProgress(job, teaching)).toMatchObject({ stage: 'learning-painter', etaS: 5 });
  });
});

describe('a chunk\'s reports', () => {
  it('carry its stage, the frames painted and kept, and the times it measured', () => {
    let clock = 0;
    const sent: ChunkReport[] = [];
    const reporter = createChunkReporter((r) => sent.push(r), () => clock);
    reporter.decoding();
    reporter.learning(0, 4);
    clock = 200;
    reporter.learning(4, 4);
    expect(sent.at(-1)).toMatchObject({ stage: 'learning-painter', learning: { step: 4, steps: 4 }, learningStepMs: 50 });
    clock = 1000;
    reporter.frameDecoded();
    expect(sent.at(-1)).toMatchObject({ stage: 'painting-first-frame', kept: 0, painted: 0 });
    clock = 3000; // a 2 s cold first frame (a burn-in frame: not kept)
    reporter.framePainted(false);
    expect(sent.at(-1)).toMatchObject({ stage: 'painting-first-frame', kept: 0, painted: 1, firstFrameMs: 2000 });
    expect(sent.at(-1)!.frameMs).toBeUndefined();
    reporter.frameDecoded(); // only the first frame starts the clock
    clock = 3300;
    reporter.framePainted(true);
    clock = 3500;
    reporter.framePainted(true);
    expect(sent.at(-1)).toEqual({ stage: 'painting', kept: 2, painted: 3, firstFrameMs: 2000, frameMs: 250, learningStepMs: 50 });
    expect(sent.map((r) => r.stage)).toEqual(['decoding', 'learning-painter', 'learning-painter', 'painting-first-frame', 'painting-first-frame', 'painting', 'painting']);
  });
});

/** A stand-in for stderr that is not a terminal. */
function pipe(): { stream: NodeJS.WriteStream; lines: () => string[] } {
  let text = '';
  const stream = { isTTY: false, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
  return { stream, lines: () => text.trim().split('\n') };
}

describe('the CLI\'s progress', () => {
  it('tells the time left from the measured time per unit, or the caller\'s estimate; a new stage gets its line', () => {
    expect([formatDuration(8.4), formatDuration(125), formatDuration(3840)]).toEqual(['8 s', '2 min 05 s', '1 h 04 min']);
    let clock = 0;
    const out = pipe();
    const progress = createProgress('stylize', 10, out.stream, () => clock);
    clock = 2000;
    progress.update(1, 'J 1e5'); // 2 s a step, 9 to go
    clock = 4000;
    progress.update(2, 'J 9e4');
    expect(out.lines()).toEqual(['stylize 1/10 J 1e5 · ETA 18 s', 'stylize 2/10 J 9e4 · ETA 16 s']);
    const video = pipe();
    const frames = createProgress('frames', 100, video.stream, () => clock);
    frames.update(0, 'reading the video', { stage: 'decoding' });
    frames.update(0, 'painting the first frame', { stage: 'painting-first-frame' });
    frames.update(0, 'painting the first frame', { stage: 'painting-first-frame' });
    frames.update(12, '3.0 fps', { etaS: 125 });
    expect(video.lines()).toEqual(['frames 0/100 reading the video · ETA …', 'frames 0/100 painting the first frame · ETA …', 'frames 12/100 3.0 fps · ETA 2 min 05 s']);
  });
});

describe('the page\'s video panel', () => {
  const job = (fields: Partial<JobView>): JobView => ({ id: 'a'.repeat(16), status: 'running', progress: 0, framesDone: 0, framesTotal: 48, ...fields });

  it('says what the job does before its first frame, and the time left, counted down between events', () => {
    expect(describeJob(job({ stage: 'decoding' }))).toBe('running · reading the video · 0 %');
    expect(describeJob(job({ stage: 'painting-first-frame', etaS: 30 }))).toBe('running · painting the first frame (it takes the most steps) · 0 % · about 30 s left');
    expect(describeJob(job({ stage: 'painting', framesDone: 12, progress: 0.25, etaS: 90 }), 10)).toBe('running · 12/48 frames · 25 % · about 1 min 20 s left');
    expect(describeJob(job({ stage: 'painting', framesDone: 47, progress: 0.98, etaS: 2 }), 5)).toBe('running · 47/48 frames · 98 % · almost done');
    expect(describeJob(job({ status: 'done', framesDone: 48, progress: 1 }))).toBe('done · 48/48 frames · 100 %');
  });

  it('asks for no preview before the server names one, then at most once a second', () => {
    const gate = createPreviewGate(1000);
    // Frames painted, but no preview stored yet: nothing to fetch (this was a 404).
    expect(gate.next(job({ stage: 'painting', framesDone: 3 }), 1000)).toBeUndefined();
    const named = job({ stage: 'painting', framesDone: 4, preview: '/api/jobs/aaaaaaaaaaaaaaaa/preview' });
    expect(gate.next(named, 1500)).toBe('/api/jobs/aaaaaaaaaaaaaaaa/preview?t=1500');
    expect(gate.next(named, 2000)).toBeUndefined();
    expect(gate.next(named, 2600)).toBe('/api/jobs/aaaaaaaaaaaaaaaa/preview?t=2600');
  });
});
