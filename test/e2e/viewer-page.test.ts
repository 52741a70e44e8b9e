/**
 * The viewer page /watch/<room> in real Chromium: the painted stream fills the window at the
 * stream's aspect ratio (letterboxed), follows window resizes, and its stats stay on screen.
 * The stream comes from a `ws` publisher sending 4:3 frames drawn by code.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawScene } from '../../fixtures/draw.js';
import { encodeImage } from '../../server/codec/image-codec.js';
import { encodeFrame } from '../../server/live/protocol.js';
import { launchChromium } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { connect, type RecordingClient } from '../helpers/ws-client.js';

let server: TestServer;
let browser: Browser;
let publisher: RecordingClient;
let jpeg: Buffer;
let sending: ReturnType<typeof setInterval> | undefined;

beforeAll(async () => {
  server = await startTestServer({ liveSize: 48, liveSteps: 1 });
  browser = await launchChromium();
  // 4:3, unlike the canvas' 16:9 placeholder: the page must take the stream's own shape.
  jpeg = await encodeImage(drawScene(160, 120), 'jpeg');
  publisher = await connect(await server.publishUrl('gallery'), { keepFrames: false });
  await publisher.until(() => publisher.messages.some((m) => m.type === 'ready'));
});

/** Four frames a second until the end of the file. */
function startSending(): void {
  let seq = 0;
  sending = setInterval(() => {
    seq++;
    publisher.socket.send(encodeFrame({ seq, timestampMs: seq * 250 }, jpeg));
  }, 250);
}

afterAll(async () => {
  clearInterval(sending);
  publisher?.socket.close();
  await browser?.close();
  await server?.close();
});

/** Where the canvas is drawn (CSS pixels) against its own pixel size and the window. */
function layout(page: Page): Promise<{ box: DOMRect; width: number; height: number; viewport: { width: number; height: number } }> {
  return page.$eval('#output', (el) => {
    const canvas = el as HTMLCanvasElement;
    return {
      box: canvas.getBoundingClientRect().toJSON() as DOMRect,
      width: canvas.width,
      height: canvas.height,
      viewport: { width: document.documentElement.clientWidth, height: document.documentElement.clientHeight },
    };
  });
}

function expectFillsKeepingAspect(l: Awaited<ReturnType<typeof layout>>): void {
  // Fills the window along one axis (at least 90 %) and never spills over the other.
  const fill = Math.max(l.box.width / l.viewport.width, l.box.height / l.viewport.height);
  expect(fill).toBeGreaterThanOrEqual(0.9);
  expect(l.box.width).toBeLessThanOrEqual(l.viewport.width + 0.5);
  expect(l.box.height).toBeLessThanOrEqual(l.viewport.height + 0.5);
  // The stream's shape, not stretched.
  expect(l.box.width / l.box.height).toBeCloseTo(l.width / l.height, 2);
  // Centred: the letterbox bars are even.
  expect(l.box.left + l.box.width / 2).toBeCloseTo(l.viewport.width / 2, 0);
  expect(l.box.top + l.box.height / 2).toBeCloseTo(l.viewport.height / 2, 0);
}

describe('viewer page', () => {
  it('fills the window with the stream at its aspect ratio, through resizes, with the stats on screen', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/watch/gallery`);
    // Before any frame: the placeholder already fills the window, with a waiting message.
    expect(await page.isVisible('#waiting')).toBe(true);
    expectFillsKeepingAspect(await layout(page));

    startSending();
    await page.waitForFunction(() => Number(document.querySelector<HTMLCanvasElement>('#output')!.dataset.frames ?? 0) >= 2, undefined, { timeout: 60_000 });
    expect(await page.isVisible('#waiting')).toBe(false);
    const wide = await layout(page);
    expect([wide.width, wide.height]).toEqual([64, 48]);
    expectFillsKeepingAspect(wide);
    // 4:3 in a 16:9 window: full height, bars left and right.
    expect(wide.box.height).toBeCloseTo(720, 0);

    // A tall window: full width, bars above and below.
    await page.setViewportSize({ width: 600, height: 900 });
    const tall = await layout(page);
    expectFillsKeepingAspect(tall);
    expect(tall.box.width).toBeCloseTo(600, 0);

    // The stats are readable: filled in, inside the window, drawn over the stream.
    await page.waitForFunction(() => document.querySelector('#stat-out')!.textContent !== '–', undefined, { timeout: 15_000 });
    for (const id of ['#stat-out', '#stat-viewers', '#stat-model']) {
      const box = (await page.locator(id).boundingBox())!;
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.y + box.height).toBeLessThanOrEqual(900);
      expect(box.x + box.width).toBeLessThanOrEqual(600);
      const onTop = await page.evaluate(
        ([sel, x, y]) => document.querySelector(sel as string)!.contains(document.elementFromPoint(x as number, y as number)),
        [id, box.x + box.width / 2, box.y + box.height / 2] as const,
      );
      expect(onTop).toBe(true);
    }
    expect(await page.textContent('#stat-viewers')).toBe('1');
    expect(await page.textContent('#room-name')).toBe('gallery');
    expect(errors).toEqual([]);
    if (process.env.STYLIZE_SCREENSHOT_WATCH) await page.screenshot({ path: process.env.STYLIZE_SCREENSHOT_WATCH });
    await page.close();
  });
});
