/**
 * A server's process tree from /proc (Linux): its descendants (chunk workers, ffmpeg), their
 * summed resident memory, and killing the whole tree. Read synchronously: a /proc scan is a few
 * hundred small reads and must not wait behind a busy thread pool.
 */
import { readFileSync, readdirSync } from 'node:fs';

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Every live descendant of `pid` (children, grandchildren, …). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const child = Number(name);
    const parent = parentOf(child);
    if (parent === undefined) continue;
    const list = children.get(parent);
    if (list) list.push(child);
    else children.set(parent, [child]);
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    for (const child of children.get(todo.pop()!) ?? []) {
      out.push(child);
      todo.push(child);
    }
  }
  return out;
}

function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of `pid` and all its descendants, in bytes (0 once the process is gone). */
export function treeRssBytes(pid: number): number {
  return [pid, ...descendants(pid)].reduce((sum, p) => sum + rssBytes(p), 0);
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** The server's video-job worker processes (forked from …/chunk-process-main.js). */
export function chunkWorkers(serverPid: number): number[] {
  return descendants(serverPid).filter((pid) => commandLine(pid).includes('chunk-process-main'));
}

/** Sends `signal` to `pid` and every descendant (descendants first collected, so none escapes). */
export function killTree(pid: number, signal: NodeJS.Signals = 'SIGKILL'): number[] {
  const all = [...descendants(pid).reverse(), pid];
  for (const p of all) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
  return all;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
