/**
 * The page's layout in real Chromium at common laptop widths (issue 23): nothing sticks out
 * sideways (the Painting panel's sliders and menus did, by up to 190 px), and the stats row keeps
 * its height when the learned painter's stat is long (it wrapped to five lines and tripled the
 * row). The page runs for real first (a fake camera, a room, painted frames, the share link and
 * its note), then stops, and the tiles get the longest texts they show.
 *
 * STYLIZE_LAYOUT_SHOTS=<dir> also saves the page at each width as <dir>/page-<width>.png.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../server/codec/image-codec.js';
import { launchChromium } from '../helpers/browser.js';
import { CAT, tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { panningFrames, writeY4m } from '../helpers/y4m.js';

let server: TestServer;
let browser: Browser;
let cleanup: () => Promise<void>;
const shots = process.env.STYLIZE_LAYOUT_SHOTS;

beforeAll(async () => {
  const tmp = await tempDir('stylize-layout-');
  cleanup = tmp.cleanup;
  // The cat photo as the camera, panning: 320×180 at 10 fps.
  const cat = await decodeImage(CAT, { exact: { width: 400, height: 225 } });
  const frames = panningFrames(cat);
  const y4m = path.join(tmp.dir, 'camera.y4m');
  await writeY4m(y4m, frames, 10);
  // On 127.0.0.1, as `npm start` is by default: the share link's note says how to share.
  server = await startTestServer({ liveSize: 72, liveSteps: 2 });
  browser = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`]);
  if (shots) await mkdir(shots, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await cleanup?.();
});

/** The widest the page is against the window, and the elements that stick out (for the message). */
function overflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number; sticking: string[] }> {
  return page.evaluate(() => {
    const sticking = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} → ${Math.round(el.getBoundingClientRect().right)}`);
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, sticking: sticking.slice(0, 8) };
  });
}

/** The stats row: its height, each tile's top, and each value's height against its font size. */
function statsRow(page: Page): Promise<{ height: number; tops: number[]; valueLines: number[] }> {
  return page.evaluate(() => {
    const row = document.querySelector('.stats')!;
    const tiles = [...row.children];
    return {
      height: row.getBoundingClientRect().height,
      tops: tiles.map((t) => Math.round(t.getBoundingClientRect().top)),
      // Lines a value takes: its height over its font size, ~1.2–1.4 for one line, 2.4+ for two.
      valueLines: tiles.map((t) => {
        const b = t.querySelector('b')!;
        return b.getBoundingClientRect().height / parseFloat(getComputedStyle(b).fontSize);
      }),
    };
  });
}

describe('the page at laptop widths', () => {
  for (const width of [1024, 1280, 1440]) {
    it(`${width} px: nothing sticks out sideways, and the stats stay one row of one-line values however long the painter's stat`, async () => {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(server.url);
      await page.waitForSelector('#gallery button[data-style="starry-night"][aria-selected="true"]');
      // The menus hold the server's choices (their long words pushed the panel out before).
      await page.waitForFunction(() => document.querySelectorAll('#painter option').length >= 2);
      await page.fill('#room', `layout-${width}`);
      await page.click('#start-camera');
      await page.waitForFunction(() => Number(document.querySelector<HTMLCanvasElement>('#output')!.dataset.frames ?? 0) >= 2, undefined, { timeout: 60_000 });
      // Stats in (the working size is known once the server has painted at it).
      await page.waitForFunction(() => document.querySelector('#stat-size')!.textContent !== '–', undefined, { timeout: 30_000 });
      expect(await page.isVisible('#share-link')).toBe(true);
      // Loopback only (the default host): the note under the link says so, and how to share.
      expect(await page.textContent('#share-note')).toMatch(/Only this computer can open it.*--host 0\.0\.0\.0/);
      let facts = await overflow(page);
      expect(facts.scrollWidth, facts.sticking.join(', ')).toBeLessThanOrEqual(facts.innerWidth);
      if (shots) await page.screenshot({ path: path.join(shots, `page-${width}.png`), fullPage: true });
      await page.click('#stop'); // no more stats messages: the tiles keep what is written below

      const before = await statsRow(page);
      // What the page writes while the painter paints (main.ts describePainter), with wide numbers…
      await page.evaluate(() => {
        document.querySelector('#stat-painter')!.textContent = 'painting';
        document.querySelector('#stat-painter-detail')!.textContent = '1500 steps · 12000 frames';
        document.querySelector('#stat-size')!.textContent = '256×144';
        document.querySelector('#stat-dropped')!.textContent = '12345';
      });
      const painting = await statsRow(page);
      // …and the whole issue's string as the value itself: cut, never wrapped.
      await page.evaluate(() => (document.querySelector('#stat-painter')!.textContent = 'painting · 151 steps · 265 frames seen'));
      const long = await statsRow(page);
      for (const row of [before, painting, long]) {
        expect(Math.abs(row.height - before.height)).toBeLessThanOrEqual(1);
        // One row: every tile starts at the same height…
        expect(new Set(row.tops).size, JSON.stringify(row.tops)).toBe(1);
        // …and every value is one line.
        for (const lines of row.valueLines) expect(lines).toBeLessThan(1.8);
      }
      facts = await overflow(page);
      expect(facts.scrollWidth, facts.sticking.join(', ')).toBeLessThanOrEqual(facts.innerWidth);
      expect(errors).toEqual([]);
      await page.close();
    }, 120_000);
  }
});
