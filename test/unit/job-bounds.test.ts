/**
 * Issue 20, the job side in pure parts: a job's working frame is bounded (a clear 400 naming the
 * limit), its style is sized by pixels, not by the frame's long side (item 1); waiting jobs are
 * taken fairly across clients (item 4); the owner token is stored as a hash and checked (item 11).
 */
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../server/errors.js';
import { checkWorkSize, MAX_WORK_PIXELS, MAX_WORK_SIDE, styleLongSide } from '../../server/jobs/job-queue.js';
import { hashJobToken, isJobOwner, newJobToken } from '../../server/jobs/job-token.js';
import { nextJob } from '../../server/jobs/local/local-scheduler.js';

describe('a job\'s working frame (issue 20 item 1)', () => {
  it('is refused beyond the pixel or side limit, saying the limit and the size that fits', () => {
    expect(() => checkWorkSize({ width: 4000, height: 1000 }, 1000)).toThrow(BadInputError);
    expect(() => checkWorkSize({ width: 4000, height: 1000 }, 1000)).toThrow(/4000×1000 \(4\.0 megapixels\); the limit is 3\.7 megapixels and 4320 px.*at most 9\d\d/);
    expect(() => checkWorkSize({ width: 10_000, height: 16 }, 16)).toThrow(/10000×16.*4320 px on the long side/);
  });

  it('takes what fits (the size the refusal names fits)', () => {
    expect(() => checkWorkSize({ width: 1920, height: 1080 }, 1080)).not.toThrow();
    expect(() => checkWorkSize({ width: 4000, height: 1000 }, 960)).not.toThrow();
    expect(2560 * 1440).toBe(MAX_WORK_PIXELS);
    expect(MAX_WORK_SIDE).toBe(4320);
  });

  it('asks for a style bounded by the frame\'s pixels, not its long side, and as before for ordinary shapes', () => {
    // 4320×1080 (4:1): the long side would ask for a 4320 px style (18.7 megapixels if square).
    expect(styleLongSide({ width: 4320, height: 1080 }, 32)).toBe(3054);
    expect(styleLongSide({ width: 9998, height: 16 }, 32)).toBe(565);
    // 16:9 and narrower: the long side, as every job had it before (the same picture).
    expect(styleLongSide({ width: 256, height: 144 }, 32)).toBe(256);
    expect(styleLongSide({ width: 64, height: 36 }, 32)).toBe(64);
    expect(styleLongSide({ width: 32, height: 2 }, 32)).toBe(32);
  });
});

describe('waiting jobs are taken fairly across clients (issue 20 item 4)', () => {
  const w = (id: string, client?: string): { id: string; client: string | undefined } => ({ id, client });

  it('a client with nothing running gets in even when every place is taken', () => {
    const running = new Map([['a1', 'A'], ['a2', 'A']]);
    expect(nextJob([w('a3', 'A'), w('b1', 'B')], running, 2)).toBe(1);
    expect(nextJob([w('a3', 'A')], running, 2)).toBeUndefined();
  });

  it('the client with the fewest jobs running goes first, then the earliest', () => {
    const running = new Map([['a1', 'A']]);
    expect(nextJob([w('a2', 'A'), w('b1', 'B'), w('c1', 'C')], running, 4)).toBe(1);
    expect(nextJob([w('a2', 'A'), w('a3', 'A')], new Map(), 4)).toBe(0);
  });

  it('jobs without a client (the CLI) count as one client, not as a way past the limit', () => {
    const running = new Map<string, string | undefined>([['x', undefined]]);
    expect(nextJob([w('y')], running, 1)).toBeUndefined();
  });
});

describe('the owner token (issue 20 item 11)', () => {
  it('is stored as its SHA-256 and matches only itself', () => {
    const { token, hash } = newJobToken();
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(hash).toBe(hashJobToken(token));
    expect(hash).not.toContain(token);
    expect(isJobOwner({ ownerTokenHash: hash }, token)).toBe(true);
    expect(isJobOwner({ ownerTokenHash: hash }, `${token}x`)).toBe(false);
    expect(isJobOwner({ ownerTokenHash: hash }, undefined)).toBe(false);
    expect(isJobOwner({}, token)).toBe(false);
  });
});
