/**
 * A worker farm of real processes: `stylize serve` gateways and `stylize worker`s on a test
 * Redis, each with its own data directory, logs kept for failure messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { chunkWorkers } from './attacks/process-tree.js';
import { ROOT } from './paths.js';
import { freePort } from './redis.js';

export interface FarmProcess {
  child: ChildProcess;
  log(): string;
  /** kill -9, resolved once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, resolved once it is gone. */
  stop(): Promise<void>;
}

export interface TestGateway extends FarmProcess {
  port: number;
  url: string;
}

function launch(args: string[], env: Record<string, string>): FarmProcess {
  let log = '';
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/stylize.js'), ...args], {
    env: { ...process.env, STYLIZE_BACKEND: 'wasm', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (log = `${log}${d.toString()}`.slice(-200_000)));
  child.stderr!.on('data', (d: Buffer) => (log = `${log}${d.toString()}`.slice(-200_000)));
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };
  return { child, log: () => log, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

/** `stylize serve` as a gateway; resolves when /healthz answers (Redis reached). */
export async function startGateway(redisUrl: string, options: { dataDir: string; port?: number; args?: string[] }): Promise<TestGateway> {
  const port = options.port ?? (await freePort());
  const gateway = launch(
    ['serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', options.dataDir, '--model', 'random-multiscale', '--log-level', 'info', ...(options.args ?? [])],
    { REDIS_URL: redisUrl },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return { ...gateway, port, url };
    if (gateway.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await gateway.kill();
  throw new Error(`gateway did not start:\n${gateway.log()}`);
}

export interface TestWorker extends FarmProcess {
  /** Its chunk processes (painting or ready to). */
  chunkPids(): number[];
}

/** `stylize worker` (1 chunk at a time, 1 thread, quick stalled checks unless told otherwise). */
export function startWorker(redisUrl: string, options: { dataDir: string; args?: string[] }): TestWorker {
  const worker = launch(
    ['worker', '--data-dir', options.dataDir, '--model', 'random-multiscale', '--threads', '1', '--lock-duration', '8s', '--stalled-interval', '2s', '--log-level', 'info', ...(options.args ?? [])],
    { REDIS_URL: redisUrl },
  );
  return { ...worker, chunkPids: () => (worker.child.pid ? chunkWorkers(worker.child.pid) : []) };
}

/** Waits until the gateway's /healthz counts `n` workers. */
export async function waitForWorkers(gateway: TestGateway, n: number, ms = 120_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const health = (await (await fetch(`${gateway.url}/healthz`)).json().catch(() => ({}))) as { workers?: number };
    if ((health.workers ?? 0) >= n) return;
    if (Date.now() > until) throw new Error(`only ${health.workers ?? 0} of ${n} workers came up`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
