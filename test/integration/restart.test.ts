/**
 * Durability: a job interrupted by `kill -9` of the server finishes after a restart, resuming
 * at the first unfinished chunk, and the output is complete.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../helpers/media.js';
import { BBB_WEBM, ROOT, tempDir } from '../helpers/paths.js';

const WEBM = BBB_WEBM;
let dir: string;
let cleanup: () => Promise<void>;
const children: ChildProcess[] = [];

beforeAll(async () => ({ dir, cleanup } = await tempDir('stylize-restart-')));
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await cleanup();
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function serve(port: number): Promise<{ child: ChildProcess; log: () => string }> {
  let log = '';
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'bin/stylize.js'), 'serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', path.join(dir, 'data'), '--model', 'random-multiscale', '--log-level', 'info', '--workers', '2'],
    { env: { ...process.env, STYLIZE_BACKEND: 'wasm' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  for (const until = Date.now() + 120_000; Date.now() < until; ) {
    if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) return { child, log: () => log };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not start:\n${log}`);
}

describe('graceful shutdown', () => {
  it('on SIGTERM closes sockets with 1001 and exits 0', async () => {
    const port = await freePort();
    const { child } = await serve(port);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?room=bye&role=view`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await closed).toBe(1001);
    expect(await exited).toBe(0);
  });

  it('SIGTERM ends it within seconds while a stream paints and a job runs; no child outlives it', async () => {
    const port = await freePort();
    const { child } = await serve(port);
    const base = `http://127.0.0.1:${port}`;
    const room = (await (await fetch(`${base}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { room: string; publishToken: string };
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?room=${room.room}&role=publish&token=${room.publishToken}`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ type: 'config', size: 360, steps: 10 }));
    const jpeg = await readFile(path.join(ROOT, 'fixtures/content/chelsea_cat.jpg'));
    const header = Buffer.alloc(8);
    const sender = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(Buffer.concat([header, jpeg])), 100);
    const form = new FormData();
    form.append('video', new Blob([new Uint8Array(await readFile(WEBM))]), 'bbb.webm');
    form.append('size', '64');
    expect((await fetch(`${base}/api/jobs`, { method: 'POST', body: form })).status).toBe(202);
    // Painters and chunk workers are running: the server's children.
    let kids: number[] = [];
    for (let i = 0; i < 100 && kids.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      kids = childrenOf(child.pid!);
    }
    expect(kids.length).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 1000));
    const started = performance.now();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    await exited;
    clearInterval(sender);
    expect(performance.now() - started).toBeLessThan(12_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(kids.filter(alive)).toEqual([]);
  });
});

/** Process ids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        // The parent is the 4th field, after "(comm)", which may contain spaces.
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('restart', () => {
  it('finishes a job after the server is killed with SIGKILL mid-job', async () => {
    const port = await freePort();
    const first = await serve(port);
    const form = new FormData();
    form.append('video', new Blob([new Uint8Array(await readFile(WEBM))]), 'bbb.webm');
    for (const [k, v] of Object.entries({ size: '40', stepsPerFrame: '1', firstFrameSteps: '2' })) form.append(k, v);
    const res = await fetch(`http://127.0.0.1:${port}/api/jobs`, { method: 'POST', body: form });
    expect(res.status).toBe(202);
    const { id, framesTotal } = (await res.json()) as { id: string; framesTotal: number };
    expect(framesTotal).toBe(300);

    // Wait until at least one chunk is finished and recorded, then kill the server outright.
    const jobFile = path.join(dir, 'data', 'jobs', id, 'job.json');
    let stored: { chunksDone: number[]; status: string } = { chunksDone: [], status: '' };
    // Deadlines, not counts: a loaded CI machine paints several times slower than an idle one.
    const recorded = Date.now() + 200_000;
    while (Date.now() < recorded && stored.chunksDone.length === 0) {
      await new Promise((r) => setTimeout(r, 100));
      stored = JSON.parse(await readFile(jobFile, 'utf8')) as typeof stored;
      expect(stored.status).not.toBe('failed');
    }
    expect(stored.status).toBe('running');
    expect(stored.chunksDone.length).toBeGreaterThanOrEqual(1);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    const second = await serve(port);
    let job: { status: string; framesDone: number; error?: string } = { status: '', framesDone: 0 };
    const finished = Date.now() + 300_000;
    while (Date.now() < finished && job.status !== 'done') {
      job = (await (await fetch(`http://127.0.0.1:${port}/api/jobs/${id}`)).json()) as typeof job;
      expect(job.status, job.error).not.toBe('failed');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(job.status).toBe('done');
    expect(second.log()).toMatch(new RegExp(`"job":"${id}","chunksDone":[1-9].*resuming job`));
    const output = path.join(dir, 'out.mp4');
    await writeFile(output, new Uint8Array(await (await fetch(`http://127.0.0.1:${port}/api/jobs/${id}/output`)).arrayBuffer()));
    const facts = await probe(output);
    expect(facts.frames).toBe(300);
    expect(facts.fps).toBe(30);
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  }, 600_000);
});
