/**
 * Which browsers may talk to the server, for the WebSocket upgrade and for every request that
 * changes something (POST, PUT, PATCH, DELETE). A browser always says where the page came from
 * (Origin) on such requests; it must be this server's own page or on `--allowed-origins`. With
 * `--allowed-hosts`, the Host header must be one of them too: under DNS rebinding the attacker's
 * page has a matching Host and Origin (both its own name), and only the Host list tells them apart.
 */
export interface OriginPolicy {
  /** Whether a request for this Host header is served at all (always, without --allowed-hosts). */
  hostAllowed(host: string | undefined): boolean;
  /** Whether a request with this Origin (undefined: not a browser) may go on. */
  originAllowed(origin: string | undefined, host: string | undefined): boolean;
}

export function createOriginPolicy(options: { allowedOrigins: readonly string[]; allowedHosts: readonly string[] }): OriginPolicy {
  const hosts = options.allowedHosts.map((h) => h.toLowerCase());
  const origins = new Set(options.allowedOrigins.map((o) => o.replace(/\/$/, '')));

  function hostAllowed(host: string | undefined): boolean {
    if (hosts.length === 0) return true;
    if (!host) return false;
    const full = host.toLowerCase();
    // "name:port" matches an entry with that port or one without any.
    const name = full.startsWith('[') ? full.slice(0, full.indexOf(']') + 1) : full.split(':')[0]!;
    return hosts.includes(full) || hosts.includes(name);
  }

  return {
    hostAllowed,
    originAllowed(origin, host) {
      if (!origin) return true; // not a browser: tokens and caps still apply
      if (origins.has(origin)) return true;
      try {
        return new URL(origin).host === host && hostAllowed(host);
      } catch {
        return false;
      }
    },
  };
}
