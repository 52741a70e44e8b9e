/**
 * The shipped compose file (issue 20, item 13): its Redis asks for a password, every REDIS_URL
 * carries it, and the farm secret is the operator's (one value for the gateway and the workers).
 * Its gateway and the Dockerfile listen on every interface (issue 23: the default is loopback).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.js';

const compose = readFileSync(path.join(ROOT, 'compose.yaml'), 'utf8');
/** The lines of one top-level service (two-space indented key). */
function service(name: string): string {
  const start = compose.indexOf(`\n  ${name}:\n`);
  expect(start, `service ${name}`).toBeGreaterThan(-1);
  const rest = compose.slice(start + 1);
  const end = rest.slice(1).search(/\n {2}\S|\n\S/);
  return end === -1 ? rest : rest.slice(0, end + 1);
}

describe('compose.yaml', () => {
  it('runs Redis with --requirepass from a variable, and every REDIS_URL has the password', () => {
    const redis = service('redis');
    expect(redis).toMatch(/"--requirepass", "\$\{REDIS_PASSWORD[^"]*\}"/);
    for (const name of ['gateway', 'worker']) {
      expect(service(name)).toMatch(/REDIS_URL: redis:\/\/:\$\{REDIS_PASSWORD[^}]*\}@redis:6379/);
    }
  });

  it('has the gateway listen on every interface (the default, loopback, is unreachable from outside a container)', () => {
    expect(service('gateway')).toMatch(/command: \["serve", "--host", "0\.0\.0\.0"/);
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^CMD \["serve", "--host", "0\.0\.0\.0"\]$/m);
    expect(dockerfile).toMatch(/^ENV STYLIZE_HOST=0\.0\.0\.0$/m);
  });

  it('gives the gateway and the workers the same STYLIZE_FARM_SECRET', () => {
    for (const name of ['gateway', 'worker']) expect(service(name)).toMatch(/STYLIZE_FARM_SECRET: \$\{STYLIZE_FARM_SECRET[^}]*\}/);
  });
});
