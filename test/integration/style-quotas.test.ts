/**
 * Style uploads cannot fill the disk (issue 20: 150 distinct 3 MB PNGs from one client were all
 * kept, forever): a rate per client (429), a quota per client (429), a cap on the library that
 * deletes the least recently painted-with upload for a new one (503 when all are in use), a
 * free-disk check before the body is read (507), and a sweep of uploads unused for the retention.
 * Real servers, real uploads over HTTP.
 */
import { utimes } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { sweepUploads } from '../../server/styles/upload-quota.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A distinct small PNG for each `n`. */
async function png(n: number): Promise<Uint8Array<ArrayBuffer>> {
  const data = Buffer.alloc(16 * 16 * 3);
  for (let i = 0; i < data.length; i += 1) data[i] = (n * 37 + i * 11) % 256;
  return new Uint8Array(await sharp(data, { raw: { width: 16, height: 16, channels: 3 } }).png().toBuffer());
}

async function upload(image: Uint8Array<ArrayBuffer>, client?: string): Promise<Response> {
  const form = new FormData();
  form.append('image', new Blob([image], { type: 'image/png' }), 'style.png');
  return fetch(`${server!.url}/api/styles`, { method: 'POST', body: form, headers: client ? { 'X-Forwarded-For': client } : {} });
}

const uploadedIds = async (): Promise<string[]> =>
  ((await (await fetch(`${server!.url}/api/styles`)).json()) as { id: string }[]).map((s) => s.id).filter((id) => id.startsWith('user-'));

describe('style uploads', () => {
  it('one client may upload so many a minute (429 with Retry-After)', async () => {
    server = await startTestServer({ styleUploadsPerMinute: 3 });
    for (let n = 0; n < 3; n += 1) expect((await upload(await png(n))).status).toBe(201);
    const refused = await upload(await png(3));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/too many styles uploaded/);
    expect(await uploadedIds()).toHaveLength(3);
  });

  it('one client may keep so many; the library makes room by deleting its least recently used upload', async () => {
    server = await startTestServer({ trustProxy: 'loopback', maxStylesPerClient: 2, maxUploadedStyles: 3, styleUploadsPerMinute: 100 });
    const a = [await png(10), await png(11), await png(12)];
    expect((await upload(a[0]!, '203.0.113.1')).status).toBe(201);
    expect((await upload(a[1]!, '203.0.113.1')).status).toBe(201);
    const overQuota = await upload(a[2]!, '203.0.113.1');
    expect(overQuota.status).toBe(429);
    expect(((await overQuota.json()) as { error: { message: string } }).error.message).toMatch(/already keeps 2 uploaded styles/);
    // The same image again takes no more room.
    expect((await upload(a[0]!, '203.0.113.1')).status).toBe(201);
    expect((await upload(await png(20), '203.0.113.2')).status).toBe(201);
    const ids = await uploadedIds();
    expect(ids).toHaveLength(3);
    // The library is full and every upload was used just now: a new one must wait.
    expect((await upload(await png(30), '203.0.113.3')).status).toBe(503);
    // One upload was last used an hour ago: it goes for the new one.
    const first = (await (await upload(a[0]!, '203.0.113.1')).json()) as { id: string };
    const hourAgo = new Date(Date.now() - 3600_000);
    await utimes(path.join(server.dataDir, 'styles', `${first.id}.png`), hourAgo, hourAgo);
    const added = await upload(await png(30), '203.0.113.3');
    expect(added.status).toBe(201);
    const after = await uploadedIds();
    expect(after).toHaveLength(3);
    expect(after).not.toContain(first.id);
    expect(after).toContain(((await added.json()) as { id: string }).id);
  });

  it('refuses an upload that would leave the data disk too full (507), before reading it', async () => {
    server = await startTestServer({ minFreeBytes: 2 ** 49 });
    const res = await upload(await png(40));
    expect(res.status).toBe(507);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NO_SPACE');
    expect(await uploadedIds()).toHaveLength(0);
  });

  it('sweeps uploads nobody painted with for the retention time, and keeps the rest', async () => {
    server = await startTestServer({ styleUploadsPerMinute: 100 });
    const old = (await (await upload(await png(50))).json()) as { id: string };
    const fresh = (await (await upload(await png(51))).json()) as { id: string };
    const monthAgo = new Date(Date.now() - 31 * 86_400_000);
    const dir = path.join(server.dataDir, 'styles');
    await utimes(path.join(dir, `${old.id}.png`), monthAgo, monthAgo);
    expect(await sweepUploads(dir, 30 * 86_400_000)).toEqual([old.id]);
    expect(await uploadedIds()).toEqual([fresh.id]);
  });
});
