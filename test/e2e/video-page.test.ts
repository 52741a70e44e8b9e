/**
 * The video panel in real Chromium: upload a clip, watch the progress bar move, play the result.
 */
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClip } from '../helpers/media.js';
import { launchChromium } from '../helpers/browser.js';
import { tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let browser: Browser;
let clip: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const tmp = await tempDir('stylize-e2e-video-');
  cleanup = tmp.cleanup;
  clip = await makeClip(path.join(tmp.dir, 'clip.mp4'), [
    '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=12', '-f', 'lavfi', '-i', 'sine', '-t', '3', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
  ]);
  server = await startTestServer({ liveSize: 40, liveSteps: 1 });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await cleanup?.();
});

describe('video panel', () => {
  it('uploads a clip, shows progress and a preview, then plays the painted result', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Every preview the page asks for: it asks only once the server names one (no 404 while none exists).
    const previews: number[] = [];
    page.on('response', (r) => void (new URL(r.url()).pathname.endsWith('/preview') && previews.push(r.status())));
    await page.goto(server.url);
    await page.waitForFunction(() => document.querySelector<HTMLInputElement>('#size')!.value === '40');
    await page.setInputFiles('#job-file', clip);
    await page.click('#job-go');
    const progressSeen: number[] = [];
    await page.waitForFunction(() => Number(document.querySelector<HTMLProgressElement>('#job-bar')!.value) > 0, undefined, { timeout: 60_000 });
    progressSeen.push(await page.$eval('#job-bar', (el) => (el as HTMLProgressElement).value));
    await page.waitForSelector('#job-result:not([hidden])', { timeout: 120_000 });
    progressSeen.push(await page.$eval('#job-bar', (el) => (el as HTMLProgressElement).value));
    expect(progressSeen[0]).toBeGreaterThan(0);
    expect(progressSeen[1]).toBe(1);
    expect(await page.textContent('#job-text')).toMatch(/done · 36\/36 frames · 100 %/);
    // The preview of a small frame is shown at most at twice its size, not stretched to the panel.
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('#job-preview')!;
      return !img.hidden && img.complete && img.naturalWidth > 0 && img.style.getPropertyValue('--natural-width') === `${img.naturalWidth}px`;
    });
    const preview = await page.$eval('#job-preview', (el) => {
      const img = el as HTMLImageElement;
      const box = img.getBoundingClientRect();
      return { width: box.width, height: box.height, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight, panel: img.parentElement!.clientWidth };
    });
    expect(preview.naturalHeight).toBe(40); // the job's size, from the page's slider
    expect(preview.panel).toBeGreaterThan(4 * preview.naturalWidth); // room enough to be blown up, were it not capped
    expect(preview.width).toBeLessThanOrEqual(2 * preview.naturalWidth);
    expect(preview.width).toBeGreaterThanOrEqual(preview.naturalWidth);
    expect(preview.width / preview.height).toBeCloseTo(preview.naturalWidth / preview.naturalHeight, 1);
    // The result plays: it loads, has the clip's length and advances.
    const played = await page.evaluate(async () => {
      const video = document.querySelector<HTMLVideoElement>('#job-result')!;
      video.muted = true;
      if (video.readyState < 2) await new Promise((r) => video.addEventListener('loadeddata', r, { once: true }));
      await video.play();
      await new Promise((r) => setTimeout(r, 700));
      return { duration: video.duration, time: video.currentTime, width: video.videoWidth, height: video.videoHeight };
    });
    expect(played.duration).toBeCloseTo(3, 0);
    expect(played.time).toBeGreaterThan(0.2);
    expect([played.width, played.height]).toEqual([160, 90]);
    expect(await page.getAttribute('#job-download', 'href')).toMatch(/^\/api\/jobs\/[0-9a-f]{16}\/output$/);
    if (process.env.STYLIZE_SCREENSHOT_VIDEO) await page.screenshot({ path: process.env.STYLIZE_SCREENSHOT_VIDEO, fullPage: true });
    expect(previews.length).toBeGreaterThan(0);
    expect(previews.filter((status) => status !== 200)).toEqual([]);
    expect(errors).toEqual([]);
  });
});
