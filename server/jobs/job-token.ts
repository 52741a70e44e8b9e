/**
 * A job's owner token: given once, at submit, to whoever sent the job (as a room's publish token
 * is); cancel and delete require it. Only its SHA-256 is stored with the job (file or Redis), so
 * a reader of the job records cannot act as the owner; it is compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Job } from './job-store.js';

/** A fresh token (192 random bits, URL-safe) and the hash stored with the job. */
export function newJobToken(): { token: string; hash: string } {
  const token = randomBytes(24).toString('base64url');
  return { token, hash: hashJobToken(token) };
}

export function hashJobToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether `given` is the job's owner token (false for a job stored without one). */
export function isJobOwner(job: Pick<Job, 'ownerTokenHash'>, given: string | undefined): boolean {
  if (!job.ownerTokenHash || !given) return false;
  const a = Buffer.from(hashJobToken(given), 'hex');
  const b = Buffer.from(job.ownerTokenHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
