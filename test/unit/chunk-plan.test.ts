import { describe, expect, it } from 'vitest';
import { balancedChunkFrames, defaultChunkFrames, planChunks } from '../../server/jobs/chunk-plan.js';

describe('planChunks', () => {
  it('covers every frame exactly once, in order, with burn-in before all but the first chunk', () => {
    expect(planChunks(10, { chunkFrames: 4, burnIn: 2 })).toEqual([
      { index: 0, start: 0, end: 4, decodeFrom: 0 },
      { index: 1, start: 4, end: 8, decodeFrom: 2 },
      { index: 2, start: 8, end: 10, decodeFrom: 6 },
    ]);
  });

  it('clamps burn-in at the start of the video and handles tiny videos', () => {
    expect(planChunks(3, { chunkFrames: 2, burnIn: 5 })).toEqual([
      { index: 0, start: 0, end: 2, decodeFrom: 0 },
      { index: 1, start: 2, end: 3, decodeFrom: 0 },
    ]);
    expect(planChunks(1, { chunkFrames: 48, burnIn: 4 })).toEqual([{ index: 0, start: 0, end: 1, decodeFrom: 0 }]);
    expect(planChunks(0, { chunkFrames: 48, burnIn: 4 })).toEqual([]);
  });

  it('sizes chunks at about two seconds', () => {
    expect(defaultChunkFrames(24, 4)).toBe(48);
    expect(defaultChunkFrames(5, 4)).toBe(16);
  });
});

describe('balancedChunkFrames', () => {
  it('gives every worker the same number of chunks, none longer than asked', () => {
    expect(balancedChunkFrames(120, 2, 48)).toBe(30); // 4 chunks: 2 rounds of 2
    expect(balancedChunkFrames(120, 1, 48)).toBe(40); // 3 chunks
    expect(balancedChunkFrames(300, 2, 60)).toBe(50); // 6 chunks: 3 rounds of 2
    expect(balancedChunkFrames(10, 4, 48)).toBe(3);
  });
});
