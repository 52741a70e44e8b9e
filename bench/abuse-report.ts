/** One abuse-bench row per attack, and the markdown table of them. */
import type { Answers } from '../test/helpers/attacks.js';

export interface AbuseRow {
  id: string;
  title: string;
  /** Healthy publisher's frame round trip, p50 in ms (null: no frame sent in the window). */
  roundTripP50Ms: { before: number | null; during: number | null; after: number | null };
  /** Frames the healthy publisher sent during the attack that never came back. */
  healthyFramesUnanswered: number;
  /** HTTP probe p99 during the attack, per route, ms (unanswered requests count with their age). */
  probeP99Ms: Record<string, number | null>;
  /** Probe requests during the attack answered with no HTTP status (refused: the server was down). */
  probeFailures: number;
  /** The server's own /metrics (prom-client, monitorEventLoopDelay over the attack), or why not. */
  eventLoopLagMs: { p99: number; max: number } | string;
  /** Longest a /healthz probe waited from the attack's start to the end of recovery. */
  longestHealthzWaitMs: number;
  rssMb: { before: number | null; peak: number | null; after: number | null };
  /** recovered in N s / not recovered in N s / died / killed at the RSS cap. */
  server: string;
  /** The machine's 1-minute load average at the end of the attack (the bench shares the CPUs). */
  loadAverage: number;
  /** How the server took SIGTERM at the end. */
  shutdown: string;
  answers: Answers;
  observed: Record<string, unknown>;
  /** Set when the attack itself could not run (e.g. no small file system). */
  skipped?: string;
}

const ms = (v: number | null): string => (v === null ? '–' : String(v));

function frozen(row: AbuseRow): string {
  if (row.longestHealthzWaitMs < 1000) return 'no';
  const s = (row.longestHealthzWaitMs / 1000).toFixed(1);
  return row.server.startsWith('recovered') ? `${s} s` : `≥ ${s} s`;
}

function answers(row: AbuseRow): string {
  const list = Object.entries(row.answers).map(([k, n]) => (n === 1 ? k : `${k} ×${n}`));
  return list.join('; ').replace(/\|/g, '\\|');
}

/** A few words from `observed`, for the table (the JSON line has all of it). */
function notes(row: AbuseRow): string {
  const text = JSON.stringify(row.observed, (_k, v: unknown) => (typeof v === 'string' && v.length > 160 ? `${v.slice(0, 160)}…` : v));
  return text === '{}' ? '' : text.replace(/\|/g, '\\|');
}

export function markdownTable(rows: AbuseRow[]): string {
  const head = [
    '| # | attack | healthy round trip p50 before / during / after (ms) | healthy frames lost | probe p99 during /healthz, /api/styles (ms) | event-loop lag p99 / max during (ms) | frozen | RSS before / peak / after (MB) | server after | SIGTERM | load | attacker got | observed |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const lines = rows.map((row) => {
    if (row.skipped) return `| ${row.id} | ${row.title} | skipped: ${row.skipped} | | | | | | | | | | |`;
    const lag = typeof row.eventLoopLagMs === 'string' ? row.eventLoopLagMs : `${row.eventLoopLagMs.p99} / ${row.eventLoopLagMs.max}`;
    const probe = Object.values(row.probeP99Ms).map(ms).join(', ') + (row.probeFailures > 0 ? ` (${row.probeFailures} refused)` : '');
    const rt = row.roundTripP50Ms;
    const rss = row.rssMb;
    return `| ${row.id} | ${row.title} | ${ms(rt.before)} / ${ms(rt.during)} / ${ms(rt.after)} | ${row.healthyFramesUnanswered} | ${probe} | ${lag} | ${frozen(row)} | ${ms(rss.before)} / ${ms(rss.peak)} / ${ms(rss.after)} | ${row.server} | ${row.shutdown} | ${row.loadAverage} | ${answers(row)} | ${notes(row)} |`;
  });
  return [...head, ...lines].join('\n');
}
