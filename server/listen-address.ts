/**
 * What the address `stylize serve` listens on (--host) means for who can reach it: the URL it
 * prints, whether only this machine can open the page (the default, loopback), and the address a
 * farm gateway tells its workers when no --advertise-url is given.
 */
import os from 'node:os';

/** Every interface: 0.0.0.0 (IPv4) or :: (IPv6, and IPv4 through it on most systems). */
export function isWildcardHost(host: string): boolean {
  return ['0.0.0.0', '::', '[::]'].includes(host);
}

/** Only this machine can connect: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** An IPv6 literal goes in brackets inside a URL. */
function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Where a person on this machine opens the page (a wildcard address is not one to browse to). */
export function localUrl(host: string, port: number): string {
  return `http://${isWildcardHost(host) ? 'localhost' : urlHost(host)}:${port}`;
}

/**
 * How farm workers reach this gateway unless --advertise-url says: the machine's host name when
 * it listens on every interface, else the address it listens on (on loopback, that reaches
 * workers on this machine only: main.ts warns).
 */
export function defaultAdvertiseUrl(host: string, port: number, hostName = os.hostname()): string {
  return `http://${isWildcardHost(host) ? hostName : urlHost(host)}:${port}`;
}
