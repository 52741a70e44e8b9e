/** Resident memory of processes, from /proc (Linux), for tests and benches that bound memory. */
import { readFileSync } from 'node:fs';

/** VmRSS of one process in bytes, or 0 if it is gone. */
export function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function totalRss(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + rssOf(pid), 0);
}
