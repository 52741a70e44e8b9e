/**
 * Safe by default (issue 23): `stylize serve` without --host listens on loopback only, so the
 * quick start does not put the camera page, uploads and jobs on the local network; --host 0.0.0.0
 * shares it there. Checked on a real server: its address, who can connect, and what the page is told.
 */
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../helpers/server.js';

/** This machine's address on its network (undefined when it has none but loopback). */
function networkAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && !a.internal && a.family === 'IPv4')?.address;
}

async function answers(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false);
}

describe('the address stylize serve listens on', () => {
  it('is 127.0.0.1 when no host is given: this machine connects, the network address does not', async () => {
    // startTestServer names 127.0.0.1 itself: here no host at all, as `npm start` has it.
    const server = await startTestServer({ host: undefined });
    try {
      expect(server.address).toBe('127.0.0.1');
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      expect(await answers(`http://127.0.0.1:${server.port}/healthz`)).toBe(true);
      const lan = networkAddress();
      if (lan) expect(await answers(`http://${lan}:${server.port}/healthz`), `reached on ${lan}`).toBe(false);
      // The page is told, and says so under the share link (test/e2e/page-layout.test.ts).
      const config = (await (await fetch(`${server.url}/api/config`)).json()) as { network: unknown };
      expect(config.network).toEqual({ loopbackOnly: true });
    } finally {
      await server.close();
    }
  });

  it('is every interface with host 0.0.0.0: the network address connects too', async () => {
    const server = await startTestServer({ host: '0.0.0.0' });
    try {
      expect(server.address).toBe('0.0.0.0');
      // Printed as a URL to open on this machine, not as 0.0.0.0.
      expect(server.url).toBe(`http://localhost:${server.port}`);
      const lan = networkAddress();
      if (lan) expect(await answers(`http://${lan}:${server.port}/healthz`), `reached on ${lan}`).toBe(true);
      const config = (await (await fetch(`http://127.0.0.1:${server.port}/api/config`)).json()) as { network: unknown };
      expect(config.network).toEqual({ loopbackOnly: false });
    } finally {
      await server.close();
    }
  });
});
