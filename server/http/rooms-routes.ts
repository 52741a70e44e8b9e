/** POST /api/rooms → {room, publishToken, viewUrl, viewToken?}: the publisher's credentials. */
import express, { Router } from 'express';
import { z } from 'zod';
import { describeIssues } from '../config.js';
import { BadInputError } from '../errors.js';
import type { RoomDirectory } from '../realtime/room-directory.js';

const createRoomSchema = z.object({ room: z.string().optional(), private: z.boolean().optional() }).strict();

export function roomsRoutes(directory: RoomDirectory): Router {
  const router = Router();
  router.post('/api/rooms', express.json({ limit: '4kb' }), (req, res) => {
    const parsed = createRoomSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw new BadInputError(describeIssues(parsed.error, 'body'));
    const grant = directory.create(parsed.data);
    const viewUrl = `/watch/${grant.room}${grant.viewToken ? `?token=${grant.viewToken}` : ''}`;
    res.status(201).json({ ...grant, viewUrl });
  });
  return router;
}
