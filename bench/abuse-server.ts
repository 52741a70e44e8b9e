/**
 * The abuse bench's server: `stylize serve` in its own process (random-multiscale on wasm, a
 * given data dir), its logs kept as a tail for the report, its process tree's memory sampled,
 * and a stop that records whether SIGTERM was obeyed before anything is SIGKILLed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { descendants, killTree, treeRssBytes } from '../test/helpers/attacks/process-tree.js';
import { ROOT } from '../test/helpers/paths.js';
import { freePort } from './process.js';

export interface AbuseServer {
  pid: number;
  baseUrl: string;
  child: ChildProcess;
  /** The last lines the server printed (stdout and stderr). */
  logTail(): string;
  /** How the process ended, once it has ("exit 1", "SIGKILL"). */
  ended(): string | undefined;
  /** SIGTERM, wait up to `graceMs`, then SIGKILL the whole tree. Says which it took. */
  stop(graceMs?: number): Promise<string>;
  /** SIGKILL the whole tree now. */
  kill(): Promise<void>;
}

export async function startAbuseServer(dataDir: string, { startTimeoutMs = 60_000, extraArgs = [] as string[] } = {}): Promise<AbuseServer> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin/stylize.js'), 'serve', '--port', String(port), '--host', '127.0.0.1',
      '--model', 'random-multiscale', '--backend', 'wasm', '--data-dir', dataDir, '--log-level', 'warn', ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = `${tail}${chunk.toString('utf8')}`.slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let ended: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      ended = signal ?? `exit ${code}`;
      resolve();
    }),
  );
  const pid = child.pid!;
  const baseUrl = `http://127.0.0.1:${port}`;
  let tree: number[] = [];
  const remember = (): void => {
    if (ended === undefined) tree = [...new Set([...tree, ...descendants(pid)])];
  };
  const killAll = async (): Promise<void> => {
    remember();
    if (ended === undefined) killTree(pid, 'SIGKILL');
    // Orphans (workers, ffmpeg) whose parent is already gone.
    for (const p of tree) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  };
  const server: AbuseServer = {
    pid,
    baseUrl,
    child,
    logTail: () => tail,
    ended: () => ended,
    async stop(graceMs = 5000) {
      if (ended !== undefined) {
        await killAll();
        return `had already ended (${ended})`;
      }
      remember();
      const started = performance.now();
      child.kill('SIGTERM');
      const obeyed = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs))]);
      const ms = Math.round(performance.now() - started);
      await killAll();
      return obeyed ? `SIGTERM: exited in ${ms} ms (${ended})` : `SIGTERM ignored for ${Math.round(graceMs / 1000)} s: SIGKILLed`;
    },
    kill: killAll,
  };
  const deadline = performance.now() + startTimeoutMs;
  while (performance.now() < deadline && ended === undefined) {
    const ok = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    if (ok) return server;
    await new Promise((r) => setTimeout(r, 200));
  }
  await killAll();
  throw Object.assign(new Error(`stylize serve did not start (${ended ?? 'no answer'}): ${tail.trim().split('\n').slice(-3).join(' | ')}`), { logTail: tail });
}

export interface RssSampler {
  samples: { t: number; bytes: number }[];
  stop(): void;
}

/** Samples the tree's RSS every `intervalMs`; calls `onOver` once if it passes `capBytes`. */
export function sampleRss(pid: number, { intervalMs = 200, capBytes, onOver }: { intervalMs?: number; capBytes: number; onOver: () => void }): RssSampler {
  const samples: { t: number; bytes: number }[] = [];
  let over = false;
  const take = (): void => {
    const bytes = treeRssBytes(pid);
    samples.push({ t: performance.now(), bytes });
    if (!over && bytes > capBytes) {
      over = true;
      onOver();
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return { samples, stop: () => clearInterval(timer) };
}

/** Median, peak or last RSS (MB) of the samples in [from, to). */
export function rssMb(samples: { t: number; bytes: number }[], from: number, to: number, how: 'median' | 'peak'): number | null {
  const values = samples.filter((s) => s.t >= from && s.t < to).map((s) => s.bytes);
  if (values.length === 0) return null;
  const v = how === 'peak' ? Math.max(...values) : values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return Math.round(v / 1024 / 1024);
}
