/**
 * Multipart uploads (multer) with our answers: a body that is not well-formed multipart is the
 * client's mistake (400, UploadError), not a server error; a full disk is NoSpaceError (507);
 * and a file upload is refused before it starts when the disk would be left nearly full.
 */
import { mkdir, statfs } from 'node:fs/promises';
import type { RequestHandler } from 'express';
import multer from 'multer';
import { NoSpaceError, isNoSpace } from '../errors.js';

export class UploadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UploadError';
  }
}

/** Wraps a multer middleware so that malformed bodies become UploadError. */
export function parseUpload(middleware: RequestHandler): RequestHandler {
  return (req, res, next) => {
    middleware(req, res, (error?: unknown) => {
      if (!error || error instanceof multer.MulterError || isNoSpace(error)) return next(error);
      // busboy's own words ("Unexpected end of form", "Malformed part header"…) are fine to show.
      const said = error instanceof Error ? error.message : String(error);
      next(new UploadError(`the body is not valid multipart/form-data (${said.slice(0, 80)})`, { cause: error }));
    });
  };
}

/** Bytes free for us on the file system that holds `dir` (undefined if it cannot be read). */
export async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const stats = await statfs(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

/**
 * Refuses an upload of `incoming` bytes (Content-Length, or the upload limit when unknown) that
 * would leave less than `reserve` bytes free under `dir`.
 */
export function requireSpace(dir: string, reserve: number, limit: number): RequestHandler {
  return (req, _res, next) => {
    const declared = Number(req.headers['content-length']);
    const incoming = Number.isFinite(declared) && declared > 0 ? Math.min(declared, limit) : limit;
    mkdir(dir, { recursive: true }).then(() => freeBytes(dir)).then((free) => {
      if (free !== undefined && free < incoming + reserve) {
        return next(new NoSpaceError('the server\'s disk is too full to take this upload; try again later'));
      }
      next();
    }, next);
  };
}
