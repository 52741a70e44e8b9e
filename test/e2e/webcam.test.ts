/**
 * The page in real Chromium with a fake webcam fed from a Y4M file this test writes: press
 * "Use camera", and stylized frames appear on the output canvas (checked on its pixels).
 */
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawScene } from '../../fixtures/draw.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { launchChromium } from '../helpers/browser.js';
import { paintedCanvasFacts } from '../helpers/painted-canvas.js';
import { tempDir } from '../helpers/paths.js';
import { panningFrames, writeY4m } from '../helpers/y4m.js';


let server: TestServer;
let browser: Browser;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const tmp = await tempDir('stylize-e2e-');
  cleanup = tmp.cleanup;
  // Two seconds of a scene that pans slowly, 320×180 at 10 fps.
  const frames = panningFrames(drawScene(400, 180));
  const y4m = path.join(tmp.dir, 'camera.y4m');
  await writeY4m(y4m, frames, 10);
  server = await startTestServer({ liveSize: 72, liveSteps: 2 });
  browser = await launchChromium([
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-video-capture=${y4m}`,
  ]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await cleanup?.();
});

describe('live page', () => {
  it('shows stylized webcam frames on the output canvas', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    // The built-in paintings first, the default (The Starry Night) chosen; then the drawn patterns.
    await page.waitForSelector('#gallery button[data-style="starry-night"][aria-selected="true"]');
    await page.waitForSelector('#gallery button[data-style="swirls"]');
    expect(await page.locator('#gallery button').count()).toBe(7 + 4);
    await page.click('#start-camera');
    await page.waitForFunction(() => Number(document.querySelector<HTMLCanvasElement>('#output')!.dataset.frames ?? 0) >= 3, undefined, {
      timeout: 60_000,
    });
    // Deadline mode at the server's default rate; rates over the last seconds, non-zero while frames
    // flow (the stats come about once a second: the first may predate the first painted frame).
    expect(await page.inputValue('#fps')).toBe('10');
    await page.waitForFunction(
      () => Number(document.querySelector('#stat-out')!.textContent) > 0 && Number(document.querySelector('#stat-in')!.textContent) > 0,
      undefined,
      { timeout: 10_000 },
    );
    expect(await page.locator('#stat-dropped + span').textContent()).toBe('skipped (latest frame wins)');

    const pixels = await paintedCanvasFacts(page);
    // The server was started with --size 72: the page adopts it, so the stream is 128×72 for a
    // 16:9 camera. It has a picture, and it is not the camera's.
    expect([pixels.width, pixels.height]).toEqual([128, 72]);
    expect(pixels.std).toBeGreaterThan(10);
    expect(pixels.diff).toBeGreaterThan(5);
    expect(await page.locator('#status').textContent()).toBe('live');
    if (process.env.STYLIZE_SCREENSHOT) await page.screenshot({ path: process.env.STYLIZE_SCREENSHOT, fullPage: true });

    // The share link opens the viewer page, which shows the same painted stream.
    const link = await page.getAttribute('#share-link', 'href');
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/watch\/[A-Za-z0-9]+$/);
    const viewer = await browser.newPage();
    await viewer.goto(link!);
    await viewer.waitForFunction(() => Number(document.querySelector<HTMLCanvasElement>('#output')!.dataset.frames ?? 0) >= 2, undefined, { timeout: 30_000 });
    const size = await viewer.$eval('#output', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
    expect(size).toEqual([128, 72]);
    await page.waitForFunction(() => document.querySelector('#stat-viewers')!.textContent === '1', undefined, { timeout: 10_000 });
    await viewer.close();
    expect(errors).toEqual([]);
    await page.close();
  });
});
