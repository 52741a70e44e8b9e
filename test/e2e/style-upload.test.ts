/**
 * "Upload your own…" in real Chromium: it says it is uploading (button disabled), then selects
 * the new style, or shows the server's own reason for refusing the file.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawScene } from '../../fixtures/draw.js';
import { encodeImage } from '../../server/codec/image-codec.js';
import { launchChromium } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startTestServer({ liveSize: 40, liveSteps: 1 });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

interface UploadView {
  state: string | undefined;
  text: string;
  hidden: boolean;
  inputDisabled: boolean;
  buttonLabel: string;
}

/** Records every state the upload status goes through (some last only milliseconds). */
async function recordUploadStates(page: Page): Promise<void> {
  await page.evaluate(() => {
    const status = document.querySelector<HTMLElement>('#style-upload-status')!;
    const seen: UploadView[] = [];
    (window as unknown as { uploadStates: UploadView[] }).uploadStates = seen;
    new MutationObserver(() =>
      seen.push({
        state: status.dataset.state,
        text: status.textContent ?? '',
        hidden: status.hidden,
        inputDisabled: document.querySelector<HTMLInputElement>('#style-upload')!.disabled,
        buttonLabel: document.querySelector('#style-upload-label')!.textContent ?? '',
      }),
    ).observe(status, { attributes: true, childList: true, subtree: true, characterData: true });
  });
}

const uploadStates = (page: Page): Promise<UploadView[]> => page.evaluate(() => (window as unknown as { uploadStates: UploadView[] }).uploadStates);

/** The page, loaded with its gallery; the page errors it reports; how many styles it offers. */
async function openPage(): Promise<{ page: Page; errors: string[]; styles: number }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url);
  await page.waitForSelector('#gallery button[aria-selected="true"]');
  return { page, errors, styles: await page.locator('#gallery button').count() };
}

describe('style upload', () => {
  it("shows the server's reason when the file is not an image", async () => {
    const { page, errors, styles } = await openPage();
    const chosen = await page.getAttribute('#gallery button[aria-selected="true"]', 'data-style');
    expect(chosen).toBe('starry-night'); // the built-in paintings come first; The Starry Night is the default
    expect(await page.isHidden('#style-upload-status')).toBe(true);
    await recordUploadStates(page);

    const notAnImage = Buffer.from('these are notes, not a picture\n');
    await page.setInputFiles('#style-upload', { name: 'notes.txt', mimeType: 'text/plain', buffer: notAnImage });
    await page.waitForSelector('#style-upload-status[data-state="error"]', { timeout: 30_000 });

    // The same file sent straight to the server: the page shows exactly its message.
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(notAnImage)], { type: 'text/plain' }), 'notes.txt');
    const answer = await fetch(`${server.url}/api/styles`, { method: 'POST', body: form });
    expect(answer.status).toBe(400);
    const { error } = (await answer.json()) as { error: { code: string; message: string } };
    expect(error.message.length).toBeGreaterThan(5);
    expect(await page.textContent('#style-upload-status')).toBe(`Not added: ${error.message}`);
    expect(await page.getAttribute('#style-upload-status', 'role')).toBe('alert');
    expect(await page.isVisible('#style-upload-status')).toBe(true);

    expect((await uploadStates(page)).some((s) => s.state === 'uploading' && s.inputDisabled)).toBe(true);
    // Ready for another try, and nothing else changed.
    expect(await page.isDisabled('#style-upload')).toBe(false);
    expect(await page.textContent('#style-upload-label')).toBe('Upload your own…');
    expect(await page.locator('#gallery button').count()).toBe(styles);
    expect(await page.getAttribute('#gallery button[aria-selected="true"]', 'data-style')).toBe(chosen);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says it is uploading, then adds the image and selects it', async () => {
    const { page, errors, styles } = await openPage();
    await recordUploadStates(page);

    const png = await encodeImage(drawScene(120, 90), 'png');
    await page.setInputFiles('#style-upload', { name: 'my-scene.png', mimeType: 'image/png', buffer: png });
    await page.waitForSelector('#style-upload-status[data-state="done"]', { timeout: 30_000 });

    const states = await uploadStates(page);
    const uploading = states.findIndex((s) => s.state === 'uploading');
    const done = states.findIndex((s) => s.state === 'done');
    expect(uploading).toBeGreaterThanOrEqual(0);
    expect(done).toBeGreaterThan(uploading);
    expect(states[uploading]).toMatchObject({ hidden: false, inputDisabled: true, buttonLabel: 'Uploading…', text: 'Uploading my-scene.png…' });
    expect(states[done]).toMatchObject({ hidden: false, inputDisabled: false, buttonLabel: 'Upload your own…' });
    expect(await page.textContent('#style-upload-status')).toBe('Added my-scene.png and selected it.');

    // The new style is in the gallery and the only one selected.
    expect(await page.locator('#gallery button').count()).toBe(styles + 1);
    const selected = await page.$$eval('#gallery button[aria-selected="true"]', (bs) => bs.map((b) => (b as HTMLElement).dataset.style));
    expect(selected).toHaveLength(1);
    expect(selected[0]).toMatch(/^user-[0-9a-f]{16}$/);
    expect(errors).toEqual([]);
    if (process.env.STYLIZE_SCREENSHOT_UPLOAD) await page.screenshot({ path: process.env.STYLIZE_SCREENSHOT_UPLOAD, fullPage: true });
    await page.close();
  });
});

describe('an uploaded style\'s painter, learnt in the background', () => {
  it('the new tile says "learning…", then "painter ready", without the choice changing', async () => {
    const learning = await startTestServer({ liveSize: 40, liveSteps: 1, uploadPainterSteps: 2 });
    const page = await browser.newPage();
    try {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(learning.url);
      await page.waitForSelector('#gallery button[aria-selected="true"]');
      const png = await encodeImage(drawScene(100, 80), 'png');
      await page.setInputFiles('#style-upload', { name: 'scene.png', mimeType: 'image/png', buffer: png });
      await page.waitForSelector('#style-upload-status[data-state="done"]', { timeout: 30_000 });
      expect(await page.textContent('#style-upload-status')).toBe('Added scene.png and selected it. Its live painter is learning in the background.');
      const tile = page.locator('#gallery button[aria-selected="true"]');
      expect(await tile.locator('.painter-badge').textContent()).toMatch(/^(learning…|painter queued)$/);
      // Built-in paintings carry no badge.
      expect(await page.locator('#gallery button[data-style="starry-night"] .painter-badge').count()).toBe(0);
      await page.waitForSelector('#gallery button[aria-selected="true"] .painter-badge[data-state="ready"]', { timeout: 120_000 });
      expect(await tile.locator('.painter-badge').textContent()).toBe('painter ready');
      expect(await page.locator('#gallery button[aria-selected="true"]').getAttribute('data-style')).toMatch(/^user-/);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await learning.close();
    }
  }, 180_000);
});
