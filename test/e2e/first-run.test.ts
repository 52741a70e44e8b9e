/**
 * What the README's set-up gives a new user: `npm start` is `stylize serve` with nothing chosen
 * (the real CLI, in its own process; only a free port and a temporary data directory are given).
 * In real Chromium with a fake webcam: the page paints with the shipped ImageNet VGG19 blocks 1–3
 * (no weights installed, offline), in deadline mode at 10 fps, at the 96 px floor or above once
 * the progressive start is over, and the painting is not the camera's picture.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../server/codec/image-codec.js';
import { launchChromium } from '../helpers/browser.js';
import { paintedCanvasFacts } from '../helpers/painted-canvas.js';
import { CAT, ROOT, tempDir } from '../helpers/paths.js';
import { panningFrames, writeY4m } from '../helpers/y4m.js';

let browser: Browser;
let server: ChildProcess | undefined;
let url: string;
let log = '';
/** What it printed while starting (the log above keeps only its last part). */
let startLog = '';
let cleanup: () => Promise<void>;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  const tmp = await tempDir('stylize-first-run-');
  cleanup = tmp.cleanup;
  // A real photo as the camera: 2 s of it panning slowly, 320×180 at 10 fps.
  const cat = await decodeImage(CAT, { exact: { width: 400, height: 225 } });
  const frames = panningFrames(cat);
  const y4m = path.join(tmp.dir, 'camera.y4m');
  await writeY4m(y4m, frames, 10);

  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  // The models folder is the repository's own: nothing installed there beyond what ships. No
  // --host either: the default, loopback only (issue 23), is what `npm start` listens on.
  server = spawn(process.execPath, [path.join(ROOT, 'bin/stylize.js'), 'serve', '--port', String(port), '--data-dir', path.join(tmp.dir, 'data')], {
    env: { ...process.env, STYLIZE_BACKEND: 'wasm' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.on('data', (d: Buffer) => (log = `${log}${d.toString()}`.slice(-8000)));
  server.stderr!.on('data', (d: Buffer) => (log = `${log}${d.toString()}`.slice(-8000)));
  for (let i = 0; ; i++) {
    // Up once it answers and has said where it listens (it says so a moment after it answers).
    if (/listening on/.test(log) && (await fetch(`${url}/healthz`).then((r) => r.ok, () => false))) break;
    if (i > 600 || server.exitCode !== null) throw new Error(`stylize serve did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  startLog = log;
  browser = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  await cleanup?.();
});

describe('first run (npm start)', () => {
  it('paints the camera with the shipped VGG19 blocks 1–3, at 10 fps deadline, at the 96 px floor or above once started', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('#gallery button[data-style="starry-night"][aria-selected="true"]');
    await page.click('#start-camera');
    // VGG on one wasm thread of a loaded CI machine: the first frames can take a while.
    await page.waitForFunction(() => Number(document.querySelector<HTMLCanvasElement>('#output')!.dataset.frames ?? 0) >= 3, undefined, { timeout: 120_000 });
    // The progressive start paints its first frames coarser (so does a scene cut, as when the
    // camera's clip loops); after it, frames are painted at the 96 px floor or above, at 16:9.
    const size = await page.waitForFunction(
      () => {
        const [w, h] = document.querySelector('#stat-size')!.textContent!.split('×').map(Number);
        return h !== undefined && h >= 96 ? [w!, h] : false;
      },
      undefined,
      { timeout: 60_000 },
    );
    const [workWidth, workHeight] = (await size.jsonValue()) as [number, number];
    expect(workWidth / workHeight).toBeCloseTo(16 / 9, 1);
    expect(await page.textContent('#model')).toMatch(/vgg19/i);
    // It says where it listens, and that only this machine can reach it.
    expect(startLog).toMatch(new RegExp(`listening on ${url.replace(/\./g, '\\.')} \\(this machine only: --host 0\\.0\\.0\\.0 shares it on your network\\)`));
    expect(await page.inputValue('#fps')).toBe('10');

    const pixels = await paintedCanvasFacts(page);
    expect([pixels.width, pixels.height]).toEqual([256, 144]);
    // Painted: far from the camera's picture (a plain re-encode differs by ~1–3 levels).
    expect(pixels.std).toBeGreaterThan(10);
    expect(pixels.diff).toBeGreaterThan(10);
    if (process.env.STYLIZE_SCREENSHOT) await page.screenshot({ path: process.env.STYLIZE_SCREENSHOT, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 200_000);
});
