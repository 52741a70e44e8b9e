/**
 * Abuse: issue 10's attacks replayed against a real `stylize serve` (its own process,
 * random-multiscale on wasm, a temp data dir), each measured against a healthy client.
 *
 *   npm run bench -- abuse [--only 1,4b,9] [--seconds 15] [--recovery 15] [--baseline 5] [--after 5]
 *                          [--answer-timeout 60] [--max-rss-mb 6000] [--mkv-frames 108000] [--out bench/out/abuse.md]
 *
 * Per attack, on a fresh server: warm-up, `baseline` s before, the attack (bounded by `seconds`),
 * then up to `recovery` s for the server to answer /healthz and paint a healthy frame again, then
 * `after` s (each window also lasts until 3 healthy frames came back, so a slow machine still
 * gives a median). Then SIGTERM, and SIGKILL of the whole tree after 5 s if it is ignored. A
 * process tree that passes --max-rss-mb is SIGKILLed at once. Every attack gets a fresh server. Prints a JSON line per attack
 * and a markdown table at the end. --answer-timeout: how long a request the attack needs answered
 * (a job submission, a handshake) may wait; a server busy painting on its event loop answers late. The attacker connects from 127.0.0.2, the healthy client from
 * 127.0.0.1, so per-address caps keep them apart as they would two real clients.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  type AttackResult,
  type HealthyPublisher,
  type HttpProbe,
  type SmallFilesystem,
  createSmallFilesystem,
  jobsOnDisk,
  longestWait,
  request,
  sceneJpeg,
  sleep,
  startHealthyPublisher,
  startHttpProbe,
  windowStats,
} from '../test/helpers/attacks.js';
import { tempDir } from '../test/helpers/paths.js';
import { type AttackSpec, type Media, createMedia, selectAttacks } from './abuse-attacks.js';
import { markdownTable, type AbuseRow } from './abuse-report.js';
import { type AbuseServer, rssMb, sampleRss, startAbuseServer } from './abuse-server.js';

const ATTACKER_ADDRESS = '127.0.0.2';

interface Settings {
  durationMs: number;
  answerTimeoutMs: number;
  recoveryMs: number;
  baselineMs: number;
  afterMs: number;
  maxRssBytes: number;
  runDir: string;
  media: Media;
  healthyJpeg: Buffer;
}

/** Everything that must go on Ctrl-C too: server trees, mounts, the temp dir. */
const cleanups = new Set<() => Promise<unknown>>();

async function cleanUpAll(): Promise<void> {
  for (const cleanup of [...cleanups].reverse()) await cleanup().catch(() => undefined);
  cleanups.clear();
}

export async function runAbuseBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      seconds: { type: 'string', default: '15' },
      recovery: { type: 'string', default: '15' },
      baseline: { type: 'string', default: '5' },
      after: { type: 'string', default: '5' },
      'answer-timeout': { type: 'string', default: '60' },
      'max-rss-mb': { type: 'string', default: '6000' },
      'mkv-frames': { type: 'string', default: '108000' },
      out: { type: 'string' },
    },
  });
  const attacks = await selectAttacks(values.only);
  const onSignal = (): void => {
    process.stderr.write('abuse bench: interrupted, cleaning up\n');
    void cleanUpAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const { dir, cleanup } = await tempDir('stylize-abuse-');
  cleanups.add(cleanup);
  try {
    const settings: Settings = {
      durationMs: Number(values.seconds) * 1000,
      answerTimeoutMs: Math.max(Number(values.seconds), Number(values['answer-timeout'])) * 1000,
      recoveryMs: Number(values.recovery) * 1000,
      baselineMs: Number(values.baseline) * 1000,
      afterMs: Number(values.after) * 1000,
      maxRssBytes: Number(values['max-rss-mb']) * 1024 * 1024,
      runDir: dir,
      media: createMedia(dir, { mkvFrames: Number(values['mkv-frames']) }),
      healthyJpeg: await sceneJpeg(256, 144),
    };
    const rows: AbuseRow[] = [];
    for (const spec of attacks) {
      process.stderr.write(`abuse ${spec.id}: ${spec.title}\n`);
      const row = await runAttack(spec, settings);
      rows.push(row);
      process.stdout.write(`${JSON.stringify({ bench: 'abuse', ...row })}\n`);
    }
    const table = markdownTable(rows);
    process.stdout.write(`\n${table}\n`);
    if (values.out) {
      await mkdir(path.dirname(values.out), { recursive: true });
      await writeFile(values.out, `${table}\n`);
    }
  } finally {
    await cleanUpAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The server's own event-loop delay (prom-client resets its histogram on every scrape). */
async function scrapeLag(baseUrl: string, timeoutMs: number): Promise<{ p99: number; max: number } | string> {
  const answer = await request(`${baseUrl}/metrics`, { timeoutMs });
  if (answer.status !== 200) return answer.status === 0 ? `no /metrics answer in ${timeoutMs / 1000} s` : `/metrics: HTTP ${answer.status}`;
  const read = (name: string): number => Math.round(Number(new RegExp(`^${name}\\s+(\\S+)`, 'm').exec(answer.body)?.[1] ?? Number.NaN) * 1000);
  return { p99: read('nodejs_eventloop_lag_p99_seconds'), max: read('nodejs_eventloop_lag_max_seconds') };
}

async function until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (predicate()) return true;
    await sleep(100);
  }
  return predicate();
}

/**
 * A measuring window: at least `ms`, and until 3 healthy frames sent in it came back (at most
 * 60 s), so that even a slow machine gives a median of more than one frame.
 */
async function measureWindow(healthy: HealthyPublisher, from: number, ms: number): Promise<void> {
  await sleep(ms);
  await until(() => healthy.samples.filter((s) => s.sentAt >= from && s.ms !== undefined).length >= 3, 60_000 - ms);
}

/** Answers /healthz and paints a healthy frame sent after `since`. */
function recovered(healthy: HealthyPublisher, probe: HttpProbe, since: number): boolean {
  const healthz = probe.samples['/healthz']!.some((s) => s.sentAt >= since && s.status === 200);
  const frame = healthy.samples.some((s) => s.sentAt >= since && s.ms !== undefined);
  return healthz && frame;
}

async function runAttack(spec: AttackSpec, settings: Settings): Promise<AbuseRow> {
  let fs: SmallFilesystem | undefined;
  let server: AbuseServer | undefined;
  const stops: (() => void)[] = [];
  const killServer = async (): Promise<void> => server?.kill();
  cleanups.add(killServer);
  try {
    if (spec.needsSmallFs) {
      try {
        fs = await createSmallFilesystem(64);
      } catch (error) {
        return skippedRow(spec, error instanceof Error ? error.message : String(error));
      }
      cleanups.add(fs.remove);
    }
    const dataDir = fs ? path.join(fs.dir, 'data') : path.join(settings.runDir, `data-${spec.id}`);
    server = await startAbuseServer(dataDir, { extraArgs: spec.serverArgs ?? [] });
    const running = server;
    const attackAbort = new AbortController();
    let rssCapHit = false;
    const rss = sampleRss(running.pid, {
      capBytes: settings.maxRssBytes,
      onOver: () => {
        rssCapHit = true;
        attackAbort.abort();
        void running.kill();
      },
    });
    stops.push(() => rss.stop());
    const healthy = await startHealthyPublisher({ baseUrl: running.baseUrl }, { jpeg: settings.healthyJpeg });
    stops.push(() => healthy.stop());
    const probe = startHttpProbe({ baseUrl: running.baseUrl });
    stops.push(() => probe.stop());
    // Warm-up: the first frames build the style's targets and the backend's caches.
    await until(() => healthy.samples.filter((s) => s.ms !== undefined).length >= 3, 30_000);
    const beforeFrom = performance.now();
    await measureWindow(healthy, beforeFrom, settings.baselineMs);
    const beforeTo = performance.now();
    await scrapeLag(running.baseUrl, 5000);

    const duringFrom = performance.now();
    // Attacks wait for answers they need (at most 4 in a row, as attack 6); past that, stop them.
    const hardStop = setTimeout(() => attackAbort.abort(), settings.durationMs + 4 * settings.answerTimeoutMs + 30_000);
    let result: AttackResult;
    try {
      result = await spec.run({
        target: { baseUrl: running.baseUrl, from: ATTACKER_ADDRESS },
        serverPid: running.pid,
        dataDir,
        ...(fs ? { fsDir: fs.dir } : {}),
        durationMs: settings.durationMs,
        answerTimeoutMs: settings.answerTimeoutMs,
        signal: attackAbort.signal,
        media: settings.media,
      });
    } catch (error) {
      result = { attack: spec.title, answers: { [`attack failed: ${error instanceof Error ? error.message : String(error)}`]: 1 }, observed: {} };
    } finally {
      clearTimeout(hardStop);
    }
    const duringTo = performance.now();
    const lag = await scrapeLag(running.baseUrl, settings.recoveryMs);

    const ok = await until(() => running.ended() !== undefined || recovered(healthy, probe, duringTo), settings.recoveryMs);
    let state: string;
    let afterFrom = performance.now();
    if (running.ended() !== undefined) {
      state = `died (${running.ended()})`;
      if (!rssCapHit) result.observed.serverLastWords = lastWords(running.logTail());
    } else if (ok) {
      state = `recovered in ${((performance.now() - duringTo) / 1000).toFixed(1)} s`;
      afterFrom = performance.now();
      await measureWindow(healthy, afterFrom, settings.afterMs);
    } else {
      const closed = healthy.closedWith();
      state = `not recovered in ${settings.recoveryMs / 1000} s${closed !== undefined ? ` (healthy publisher closed ${closed})` : ''}`;
    }
    if (rssCapHit) state = `killed at the ${Math.round(settings.maxRssBytes / 1024 / 1024)} MB RSS cap (${state})`;
    const afterTo = performance.now();
    // Everything is measured before a kill: requests the kill would cut count as unanswered.
    const now = performance.now();
    const during = windowStats(healthy.samples, duringFrom, duringTo, now);
    const probeDuring = Object.fromEntries(Object.entries(probe.samples).map(([route, samples]) => [route, windowStats(samples, duringFrom, duringTo, now)]));
    const row: AbuseRow = {
      id: spec.id,
      title: spec.title,
      roundTripP50Ms: {
        before: windowStats(healthy.samples, beforeFrom, beforeTo, now).p50,
        during: during.p50,
        after: state.startsWith('recovered') ? windowStats(healthy.samples, afterFrom, afterTo, now).p50 : null,
      },
      healthyFramesUnanswered: during.unanswered,
      probeP99Ms: Object.fromEntries(Object.entries(probeDuring).map(([route, s]) => [route, s.p99])),
      probeFailures: Object.values(probeDuring).reduce((sum, s) => sum + s.failed, 0),
      eventLoopLagMs: lag,
      longestHealthzWaitMs: longestWait(probe.samples['/healthz']!, duringFrom, afterTo, now),
      rssMb: {
        before: rssMb(rss.samples, beforeFrom, beforeTo, 'median'),
        peak: rssMb(rss.samples, duringFrom, afterTo + 1, 'peak'),
        after: state.startsWith('recovered') ? rssMb(rss.samples, afterFrom, afterTo + 1, 'median') : null,
      },
      server: state,
      loadAverage: Math.round(os.loadavg()[0]! * 10) / 10,
      shutdown: '',
      answers: result.answers,
      observed: result.observed,
    };
    // A server that did not recover gets the same SIGTERM first: whether it obeys is a finding.
    for (const stop of stops.splice(0)) stop();
    row.shutdown = await running.stop();
    if (fs) await restartOnFullDisk(row, dataDir);
    return row;
  } finally {
    for (const stop of stops) stop();
    await killServer();
    cleanups.delete(killServer);
    if (fs) {
      await fs.remove();
      cleanups.delete(fs.remove);
    }
  }
}

/** 7, second half: a server started on the still-full disk with whatever the uploads left. */
async function restartOnFullDisk(row: AbuseRow, dataDir: string): Promise<void> {
  row.observed.jobsOnDiskAtRestart = await jobsOnDisk(dataDir);
  let outcome: string;
  try {
    const again = await startAbuseServer(dataDir, { startTimeoutMs: 30_000 });
    outcome = 'started';
    await again.stop();
  } catch (error) {
    const tail = ((error as { logTail?: string }).logTail ?? '').trim().split('\n').at(-1) ?? '';
    outcome = `failed to start: ${error instanceof Error ? error.message.split(':')[0] : String(error)}`;
    row.observed.restartLog = tail.slice(0, 300);
  }
  row.answers[`restart on the full disk: ${outcome}`] = 1;
}

/** The error lines of a dead server's output (its stack frames left out), and its last line. */
function lastWords(log: string): string {
  const lines = log.split('\n').map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => /error|XNN|abort|out of memory|ENOSPC/i.test(l) && !l.startsWith('at '));
  return [...new Set([...errors.slice(-3), lines.at(-1) ?? ''])].join(' | ').slice(0, 400);
}

function skippedRow(spec: AttackSpec, why: string): AbuseRow {
  return {
    id: spec.id,
    title: spec.title,
    roundTripP50Ms: { before: null, during: null, after: null },
    healthyFramesUnanswered: 0,
    probeP99Ms: {},
    probeFailures: 0,
    eventLoopLagMs: 'skipped',
    longestHealthzWaitMs: 0,
    rssMb: { before: null, peak: null, after: null },
    server: 'skipped',
    loadAverage: Math.round(os.loadavg()[0]! * 10) / 10,
    shutdown: '',
    answers: {},
    observed: {},
    skipped: why,
  };
}
