/**
 * Who a request comes from, for per-client limits (connections, rooms a minute, jobs at once).
 * Behind a reverse proxy every request comes from the proxy's address, so one cap would lock
 * out everyone: with `--trust-proxy` (Express's own setting and syntax) the address is taken
 * from X-Forwarded-For as far back as the trusted hops go — for HTTP (Express) and for
 * WebSocket upgrades (which never pass through Express) alike.
 */
import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';
import { ConfigError } from '../errors.js';

export type TrustFunction = (address: string, hop: number) => boolean;

/**
 * `false` | `true` | a hop count | comma-separated addresses, subnets or the names `loopback`,
 * `linklocal`, `uniquelocal`, as Express reads "trust proxy".
 */
export function compileTrustProxy(setting: string): TrustFunction {
  const value = setting.trim();
  if (value === '' || value === 'false') return () => false;
  if (value === 'true') return () => true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  try {
    return proxyaddr.compile(value.split(',').map((part) => part.trim()).filter(Boolean));
  } catch (error) {
    throw new ConfigError(`--trust-proxy: ${(error as Error).message}`);
  }
}

/** The client's address for `request`, given the trusted proxies. */
export function clientAddress(request: IncomingMessage, trust: TrustFunction): string {
  return proxyaddr(request, trust) || 'unknown';
}
