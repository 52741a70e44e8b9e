/**
 * GET /api/styles, GET /api/styles/:id/image, POST /api/styles (multipart field "image"). An
 * upload starts learning its live painter in the background (`training`); the list says how far
 * that is for each upload (`painter`: waiting, learning, ready or failed).
 */
import { Router } from 'express';
import multer from 'multer';
import { BadInputError } from '../errors.js';
import type { PainterTraining } from '../painter/painter-training.js';
import type { StyleLibrary } from '../styles/style-library.js';
import { parseUpload } from './upload.js';

export function stylesRoutes(styles: StyleLibrary, maxUploadBytes: number, training?: PainterTraining): Router {
  const router = Router();
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: maxUploadBytes, files: 1 } });

  router.get('/api/styles', async (_req, res) => {
    res.json(
      (await styles.list()).map(({ id, name, url }) => {
        const painter = training?.status(id);
        return { id, name, url, ...(painter ? { painter } : {}) };
      }),
    );
  });

  router.get('/api/styles/:id/image', async (req, res) => {
    const { bytes, contentType } = await styles.image(req.params.id);
    res.type(contentType).set('Cache-Control', 'public, max-age=3600').send(bytes);
  });

  router.post('/api/styles', parseUpload(upload.single('image')), async (req, res) => {
    if (!req.file) throw new BadInputError('send the style as multipart/form-data with the file in the field "image"');
    const style = await styles.add(req.file.buffer, req.file.originalname);
    training?.enqueue(style.id);
    const painter = training?.status(style.id);
    res.status(201).json({ id: style.id, name: style.name, url: style.url, ...(painter ? { painter } : {}) });
  });

  return router;
}
