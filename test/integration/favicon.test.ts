/** The favicon: both pages link to it, and /favicon.ico (which browsers ask for on their own) is served. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

describe('favicon', () => {
  it('answers /favicon.ico with an ICO image', async () => {
    const res = await fetch(`${server.url}/favicon.ico`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^image\/(x-icon|vnd\.microsoft\.icon)/);
    const bytes = Buffer.from(await res.arrayBuffer());
    // ICONDIR: reserved 0, type 1 (icon), then how many images it holds.
    expect([bytes.readUInt16LE(0), bytes.readUInt16LE(2)]).toEqual([0, 1]);
    expect(bytes.readUInt16LE(4)).toBeGreaterThanOrEqual(1);
  });

  it.each(['/', '/watch/some-room'])('%s links icons that are served as images', async (pagePath) => {
    const pageUrl = `${server.url}${pagePath}`;
    const html = await (await fetch(pageUrl)).text();
    const hrefs = [...html.matchAll(/<link rel="icon" href="([^"]+)"/g)].map((m) => new URL(m[1]!, pageUrl).pathname);
    expect(hrefs.sort()).toEqual(['/favicon.ico', '/favicon.svg']);
    for (const href of hrefs) {
      const res = await fetch(`${server.url}${href}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^image\//);
    }
  });
});
