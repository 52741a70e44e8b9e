/** Origin/Host policy, trusted proxies, rate limits and expiring rooms, by hand. */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createRoomDirectory } from '../../server/live/room-directory.js';
import { clientAddress, compileTrustProxy } from '../../server/security/client-address.js';
import { createOriginPolicy } from '../../server/security/origin-policy.js';
import { createRateLimiter } from '../../server/security/rate-limit.js';

const request = (remote: string, forwarded?: string): IncomingMessage =>
  ({ socket: { remoteAddress: remote }, connection: { remoteAddress: remote }, headers: forwarded ? { 'x-forwarded-for': forwarded } : {} }) as unknown as IncomingMessage;

describe('origin policy', () => {
  it('without --allowed-hosts: any Host; a browser Origin must be the page\'s own or listed', () => {
    const policy = createOriginPolicy({ allowedOrigins: ['https://gallery.example'], allowedHosts: [] });
    expect(policy.hostAllowed('anything:8080')).toBe(true);
    expect(policy.originAllowed(undefined, 'localhost:8080')).toBe(true); // not a browser
    expect(policy.originAllowed('http://localhost:8080', 'localhost:8080')).toBe(true);
    expect(policy.originAllowed('http://evil.example', 'localhost:8080')).toBe(false);
    expect(policy.originAllowed('https://gallery.example', 'localhost:8080')).toBe(true);
    expect(policy.originAllowed('not a url', 'localhost:8080')).toBe(false);
    // DNS rebinding: the attacker's name on both sides passes when no host list is set...
    expect(policy.originAllowed('http://evil.example:8080', 'evil.example:8080')).toBe(true);
  });

  it('with --allowed-hosts: other Hosts are refused, which stops DNS rebinding', () => {
    const policy = createOriginPolicy({ allowedOrigins: [], allowedHosts: ['localhost', 'paint.example.org:443', '[::1]'] });
    expect(policy.hostAllowed('localhost:8080')).toBe(true); // an entry without a port takes any port
    expect(policy.hostAllowed('paint.example.org:443')).toBe(true);
    expect(policy.hostAllowed('paint.example.org:8443')).toBe(false);
    expect(policy.hostAllowed('[::1]:8080')).toBe(true);
    expect(policy.hostAllowed('evil.example:8080')).toBe(false);
    expect(policy.hostAllowed(undefined)).toBe(false);
    // ...and refused once the Host must be on the list.
    expect(policy.originAllowed('http://evil.example:8080', 'evil.example:8080')).toBe(false);
    expect(policy.originAllowed('http://localhost:8080', 'localhost:8080')).toBe(true);
  });
});

describe('client address behind proxies', () => {
  it('ignores X-Forwarded-For unless the proxy is trusted', () => {
    expect(clientAddress(request('127.0.0.1', '203.0.113.7'), compileTrustProxy('false'))).toBe('127.0.0.1');
    expect(clientAddress(request('127.0.0.1', '203.0.113.7'), compileTrustProxy('loopback'))).toBe('203.0.113.7');
    expect(clientAddress(request('10.0.0.5', '203.0.113.7'), compileTrustProxy('loopback'))).toBe('10.0.0.5');
    expect(clientAddress(request('10.0.0.5', '203.0.113.7'), compileTrustProxy('10.0.0.0/8'))).toBe('203.0.113.7');
    // One trusted hop: the address the proxy saw, not what the client claimed before it.
    expect(clientAddress(request('10.0.0.5', '198.51.100.1, 203.0.113.7'), compileTrustProxy('1'))).toBe('203.0.113.7');
    expect(clientAddress(request('10.0.0.5', '198.51.100.1, 203.0.113.7'), compileTrustProxy('true'))).toBe('198.51.100.1');
    expect(() => compileTrustProxy('not-an-address')).toThrow(/--trust-proxy/);
  });
});

describe('rate limiter', () => {
  it('gives each client its own bucket, refilled over a minute', () => {
    let t = 0;
    const limiter = createRateLimiter(3, 100, () => t);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(20); // one token comes back every 20 s
    expect(limiter.take('b')).toBe(0);
    t += 20_000;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(20);
  });

  it('keeps at most maxClients entries', () => {
    let t = 0;
    const limiter = createRateLimiter(1, 3, () => t);
    for (const c of ['a', 'b', 'c', 'd', 'e']) expect(limiter.take(c)).toBe(0);
    // 'a' was forgotten to make room: it starts afresh (generous, never wrong to a quiet client).
    expect(limiter.take('a')).toBe(0);
    t += 1;
    expect(limiter.take('e')).toBeGreaterThan(0);
  });
});

describe('room directory', () => {
  it('forgets rooms nobody is in after the idle time, never while someone is in', () => {
    let t = 0;
    const expired: string[] = [];
    const rooms = createRoomDirectory({ maxRooms: 10, idleMs: 1000, now: () => t, onExpire: (r) => expired.push(r) });
    try {
      const a = rooms.create({ room: 'a' });
      rooms.create({ room: 'b' });
      rooms.enter('a');
      t = 5000;
      expect(rooms.sweep()).toBe(1);
      expect(expired).toEqual(['b']);
      expect(rooms.canPublish('a', a.publishToken)).toBe('ok');
      rooms.leave('a');
      t = 5999;
      expect(rooms.sweep()).toBe(0);
      t = 6000;
      expect(rooms.sweep()).toBe(1);
      expect(rooms.has('a')).toBe(false);
      expect(rooms.canPublish('a', a.publishToken)).toBe('forbidden');
    } finally {
      rooms.close();
    }
  });

  it('refuses a room beyond the cap with BUSY unless idle ones can go', () => {
    let t = 0;
    const rooms = createRoomDirectory({ maxRooms: 2, idleMs: 1000, now: () => t });
    try {
      rooms.create({ room: 'a' });
      rooms.create({ room: 'b' });
      expect(() => rooms.create({ room: 'c' })).toThrow(expect.objectContaining({ code: 'BUSY' }));
      t = 1000;
      expect(rooms.create({ room: 'c' }).room).toBe('c');
      expect(rooms.size).toBe(1);
    } finally {
      rooms.close();
    }
  });
});
