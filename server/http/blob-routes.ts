/**
 * A gateway's blob endpoints for the worker farm (mounted only with REDIS_URL): workers fetch a
 * job's input and style image and store painted segments here; other gateways fetch outputs and
 * previews and delete files. Only holders of the farm's secret (STYLIZE_FARM_SECRET, or the one
 * kept in Redis) get in, compared in constant time. Even they reach only the names the farm uses
 * (blob-store.ts BLOB: a worker stores chunk segments, nothing else) of jobs this gateway holds
 * (their input is here): no other file name, and no folder for a job that does not exist.
 */
import { timingSafeEqual } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Router, type RequestHandler } from 'express';
import { ErrorCode, StylizeError } from '../errors.js';
import { BLOB, JOB_ID, isChunkKey, isKnownBlobKey, type BlobStore } from '../jobs/blob-store.js';

/** The largest painted segment a worker may store (2 s of 4K H.264 is far below it). */
const MAX_SEGMENT_BYTES = 256 * 1024 * 1024;

export function blobRoutes(blobs: BlobStore, secret: () => string | undefined): Router {
  const router = Router();
  const authorized: RequestHandler = (req, _res, next) => {
    const expected = secret();
    const given = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const ok = expected !== undefined && given !== undefined && given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
    next(ok ? undefined : new StylizeError(ErrorCode.FORBIDDEN, 'farm credentials required'));
  };
  const keyOf = (params: Record<string, string>, chunks: boolean): string => {
    const key = [params.id, ...(chunks ? ['chunks'] : []), params.name].join('/');
    if (!isKnownBlobKey(key)) throw new StylizeError(ErrorCode.NOT_FOUND, 'no such blob');
    return key;
  };

  const serve =
    (chunks: boolean): RequestHandler =>
    async (req, res) => {
      const key = keyOf(req.params as Record<string, string>, chunks);
      const size = await blobs.size(key);
      if (size === undefined) throw new StylizeError(ErrorCode.NOT_FOUND, 'no such blob');
      res.set('Content-Length', String(size)).type('application/octet-stream');
      await pipeline(blobs.stream(key), res);
    };
  router.get('/internal/blobs/:id/:name', authorized, serve(false));
  router.get('/internal/blobs/:id/chunks/:name', authorized, serve(true));

  router.put('/internal/blobs/:id/chunks/:name', authorized, async (req, res) => {
    const key = keyOf(req.params as Record<string, string>, true);
    if (!isChunkKey(key)) throw new StylizeError(ErrorCode.NOT_FOUND, 'no such blob');
    // Only for a job held here: its input came with the upload and stays until the job is deleted.
    if (!(await blobs.has(BLOB.input(String(req.params.id))))) throw new StylizeError(ErrorCode.NOT_FOUND, 'no such job on this gateway');
    const declared = Number(req.headers['content-length']);
    if (!(declared > 0) || declared > MAX_SEGMENT_BYTES) throw new StylizeError(ErrorCode.TOO_LARGE, `a segment is 1 byte to ${MAX_SEGMENT_BYTES} bytes, with Content-Length`);
    await blobs.putStream(key, req);
    res.status(204).end();
  });

  router.delete('/internal/blobs/:id', authorized, async (req, res) => {
    const id = String(req.params.id);
    if (!JOB_ID.test(id)) throw new StylizeError(ErrorCode.NOT_FOUND, 'no such job');
    await blobs.remove(id);
    res.status(204).end();
  });
  return router;
}
