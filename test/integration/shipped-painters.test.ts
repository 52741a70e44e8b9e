/**
 * The live painters shipped for the built-in paintings (models/painters, made by `stylize
 * painters train`): one for each painting, under the exact key a live stream with the default
 * weights and the shipped VGG looks up, sound, trained enough to start painting at once, and
 * small. If a painting's image changes, its painter no longer matches and this fails: retrain it
 * (models/README.md).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_COST_WEIGHTS, DEFAULTS } from '../../server/config.js';
import { painterKey } from '../../server/painter/painter-cache.js';
import { DEFAULT_PAINTER_SHAPE } from '../../server/engine/painter-net/painter-net.js';
import { readPainterFile } from '../../server/engine/painter-net/painter-store.js';
import { SHIPPED_PAINTERS_DIR } from '../../server/paths.js';
import { PAINTER_TUNING } from '../../server/painter/painter-tuning.js';
import { strokePainterFor } from '../../server/painter/stroke-painter-key.js';
import { STROKE_PAINTER_SHAPE } from '../../server/engine/painter-net/painter-key.js';
import { LIVE_PAINTER } from '../../server/live/stream-process/live-painter.js';
import { PAINTINGS } from '../../server/styles/paintings.js';
import { createStyleLibrary } from '../../server/styles/style-library.js';
import { tempDir } from '../helpers/paths.js';

describe('shipped live painters', () => {
  it('one per built-in painting, keyed as a live stream looks it up, sound, ready, a few MB in all', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const styles = createStyleLibrary({ stylesDir: path.join(dir, 'none'), uploadsDir: path.join(dir, 'uploads') });
      const paintings = PAINTINGS;
      expect(paintings.length).toBeGreaterThanOrEqual(7);
      let bytes = 0;
      for (const p of paintings) {
        const key = painterKey({
          styleBytes: (await styles.image(p.id)).bytes,
          styleName: p.id,
          network: 'vgg19',
          contentWeight: DEFAULTS.contentWeight,
          styleWeight: DEFAULTS.styleWeight,
          preserveColors: false,
        });
        const file = path.join(SHIPPED_PAINTERS_DIR, `${key}.slpaint`);
        const { meta, shape } = await readPainterFile(file);
        expect(meta.style).toBe(p.id);
        expect(meta.steps).toBeGreaterThanOrEqual(LIVE_PAINTER.minSteps);
        expect(shape).toEqual(DEFAULT_PAINTER_SHAPE);
        bytes += (await stat(file)).size;
      }
      expect(bytes).toBeLessThan(3 * 1024 * 1024);
    } finally {
      await cleanup();
    }
  });

  it('a stroke painter per built-in painting (the keyframes mode, the live default), keyed as a stream looks it up, taught far enough to paint', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const styles = createStyleLibrary({ stylesDir: path.join(dir, 'none'), uploadsDir: path.join(dir, 'uploads') });
      let bytes = 0;
      for (const p of PAINTINGS) {
        const what = strokePainterFor((await styles.image(p.id)).bytes, p.id, 'vgg19');
        const file = path.join(SHIPPED_PAINTERS_DIR, `${painterKey(what)}.slpaint`);
        const { meta, shape } = await readPainterFile(file);
        expect(meta.style).toBe(p.id);
        expect([meta.contentWeight, meta.styleWeight]).toEqual([DEFAULT_COST_WEIGHTS.contentWeight, DEFAULT_COST_WEIGHTS.styleWeight]);
        expect(meta.steps).toBeGreaterThanOrEqual(PAINTER_TUNING.stroke.minSteps);
        expect(meta.framesSeen).toBeGreaterThanOrEqual(6); // its keyframes
        expect(shape).toEqual(STROKE_PAINTER_SHAPE);
        bytes += (await stat(file)).size;
      }
      expect(bytes).toBeLessThan(2 * 1024 * 1024);
    } finally {
      await cleanup();
    }
  });
});
