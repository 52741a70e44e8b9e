/**
 * The server's handle on one painter-training process (painter-training-main.ts): forked at a
 * low CPU priority, given its one style, stopped after a time limit, and its outcome — the steps
 * its painter has, or why it could not learn, in its own words. `kill()` is safe at any time.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import type { FromTrainingProcess, TrainMessage } from './painter-training-protocol.js';
import type { TrainPainterRequest } from './train-painter.js';

/** Compiled entry (npm install builds it; tests build it in their global setup). */
export const PAINTER_TRAINING_ENTRY = path.join(PROJECT_ROOT, 'dist', 'server', 'painter', 'painter-training-main.js');

const TAIL_BYTES = 4096;
const MAX_REASON = 500;

export type TrainingOutcome = { ok: true; steps: number } | { ok: false; reason: string };

export interface TrainingProcess {
  readonly pid: number | undefined;
  /** Resolves once the process has exited (never rejects). */
  readonly outcome: Promise<TrainingOutcome>;
  kill(): void;
}

export interface TrainingProcessOptions {
  request: TrainPainterRequest;
  entry: string;
  niceness: number;
  timeoutMs: number;
}

export function startTrainingProcess(options: TrainingProcessOptions): TrainingProcess {
  const child = fork(options.entry, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  setNiceness(child, options.niceness);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-TAIL_BYTES)));
  let answer: FromTrainingProcess | undefined;
  child.on('message', (message: FromTrainingProcess) => (answer ??= message));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs);

  const outcome = new Promise<TrainingOutcome>((resolve) => {
    let ended = false;
    /** Once, whichever comes: 'close', or 'error' alone (a process that could not start). */
    const end = (code: number | null, signal: NodeJS.Signals | null, startError?: Error): void => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      if (code === 0 && answer?.type === 'trained') return resolve({ ok: true, steps: answer.steps });
      const said = answer?.type === 'failed' ? answer.message.trim().slice(0, MAX_REASON) : undefined;
      const reason = timedOut ? `stopped after ${Math.round(options.timeoutMs / 1000)} s` : (startError?.message ?? said ?? (lastLine(stderr) || `exit ${code ?? signal}`));
      resolve({ ok: false, reason });
    };
    child.once('error', (error) => end(null, null, error));
    child.once('close', (code, signal) => end(code, signal));
  });
  child.send({ type: 'train', request: options.request } satisfies TrainMessage, () => undefined);

  return {
    get pid() {
      return child.pid;
    },
    outcome,
    kill: () => void child.kill('SIGKILL'),
  };
}

function setNiceness(child: ChildProcess, value: number): void {
  try {
    if (child.pid !== undefined) os.setPriority(child.pid, value);
  } catch {
    // Not permitted here: it runs at normal priority.
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.trim().slice(0, MAX_REASON) ?? '';
}
