/** Where a video job's painter trains: half the working size, in 4-pixel blocks, never below what the loss network sees. */
import { describe, expect, it } from 'vitest';
import { trainingSize } from '../../server/painter/job-painter-pass.js';

describe('painter training size', () => {
  it('is half the working size in multiples of 4', () => {
    expect(trainingSize({ width: 256, height: 144 }, 16)).toEqual({ width: 128, height: 72 });
    expect(trainingSize({ width: 170, height: 96 }, 16)).toEqual({ width: 84, height: 48 });
  });
  it('never goes below the loss network\'s smallest side (random-multiscale: 32)', () => {
    expect(trainingSize({ width: 56, height: 32 }, 32)).toEqual({ width: 56, height: 32 });
    expect(trainingSize({ width: 114, height: 48 }, 32)).toEqual({ width: 76, height: 32 });
  });
});
