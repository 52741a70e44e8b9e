/**
 * POST /api/rooms → {room, publishToken, viewUrl, viewToken?}: the publisher's credentials.
 * The body must be JSON (a page on another site cannot send that without a CORS preflight,
 * which this server never grants), and each client may create `roomsPerMinute` rooms a minute.
 */
import express, { Router } from 'express';
import { z } from 'zod';
import { describeIssues } from '../config.js';
import { BadInputError, ErrorCode, RateLimitedError, StylizeError } from '../errors.js';
import type { RoomDirectory } from '../live/room-directory.js';
import type { Logger } from '../logger.js';
import { createRateLimiter } from '../security/rate-limit.js';

const createRoomSchema = z.object({ room: z.string().optional(), private: z.boolean().optional() }).strict();

export function roomsRoutes(directory: RoomDirectory, options: { roomsPerMinute: number; log: Logger }): Router {
  const router = Router();
  const limiter = createRateLimiter(options.roomsPerMinute);
  router.post('/api/rooms', (req, _res, next) => {
    // An empty body is fine ({} = a random name); anything else must say it is JSON.
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && !req.is('application/json')) {
      return next(new StylizeError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send the room as JSON (Content-Type: application/json)'));
    }
    const wait = limiter.take(req.ip ?? 'unknown');
    if (wait > 0) return next(new RateLimitedError(`too many rooms created from this address; try again in ${wait} s`, wait));
    next();
  }, express.json({ limit: '4kb' }), async (req, res) => {
    const parsed = createRoomSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw new BadInputError(describeIssues(parsed.error, 'body'));
    const grant = await directory.create(parsed.data);
    options.log.info({ room: grant.room, private: grant.viewToken !== undefined, client: req.ip }, 'room created');
    const viewUrl = `/watch/${grant.room}${grant.viewToken ? `?token=${grant.viewToken}` : ''}`;
    res.status(201).json({ ...grant, viewUrl });
  });
  return router;
}
