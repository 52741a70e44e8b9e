/**
 * An uploaded style starts learning its live painter at once, in the background (issue 12): the
 * same `stylize painters train` a person can run, on the repository's own clips, in a child
 * process at the lowest CPU priority (live streams and jobs go first), one style at a time, under
 * the key a live stream in that style looks up. The first stream in a new style then paints with
 * the painter from its first frame instead of learning for its first minute.
 *
 * Bounded: one child at a time, at most `maxWaiting` styles waiting (the oldest waiting one is
 * dropped for a newer upload), a time limit per style, at most `maxKept` statuses remembered.
 * `close()` kills the child and is safe twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS } from '../config.js';
import { hasPainterFile } from '../engine/painter-net/painter-key.js';
import type { Logger } from '../logger.js';
import { PROJECT_ROOT } from '../paths.js';
import type { StyleLibrary } from '../styles/style-library.js';

/** The `stylize` command (it runs the compiled CLI: npm install builds it; tests build it in their global setup). */
export const CLI_ENTRY = path.join(PROJECT_ROOT, 'bin', 'stylize.js');

export const TrainingState = {
  WAITING: 'waiting',
  LEARNING: 'learning',
  READY: 'ready',
  FAILED: 'failed',
} as const;
export type TrainingState = (typeof TrainingState)[keyof typeof TrainingState];

export interface TrainingStatus {
  state: TrainingState;
  /** The painter's training steps in all, once ready. */
  steps?: number;
  /** Why it failed (the trainer's last words), once failed. */
  reason?: string;
}

export interface PainterTrainingOptions {
  /** Training steps in all for an uploaded style's painter (0: no background training). */
  steps: number;
  dataDir: string;
  stylesDir: string;
  modelsDir: string;
  model: string;
  backend?: string;
  /** Short side of the live streams the painter is for. */
  liveSize: number;
  log: Logger;
  maxWaiting?: number;
  /** A style's training is stopped (and reported failed) after this long. */
  timeoutMs?: number;
  maxKept?: number;
  /** The CLI to run (tests); default the compiled one. */
  entry?: string;
  /** CPU niceness of the training child (default 19, the lowest priority). */
  niceness?: number;
}

export interface PainterTraining {
  /** Teaches `styleId`'s painter after those already waiting (nothing if it is waiting, learning or ready). */
  enqueue(styleId: string): void;
  status(styleId: string): TrainingStatus | undefined;
  /** Kills the training child; resolves once it has exited. Safe twice. */
  close(): Promise<void>;
}

/**
 * The styles to queue when the server starts: uploads (an earlier run may have stopped before
 * their painter was learnt) and styles-directory images, those without a painter for the live
 * streams' key (kept in the data directory or shipped) — the built-in paintings have theirs.
 */
export async function stylesWithoutPainter(styles: Pick<StyleLibrary, 'list' | 'image'>, painterDirs: readonly string[], network: string): Promise<string[]> {
  const out: string[] = [];
  for (const style of await styles.list()) {
    if (style.source !== 'upload' && style.source !== 'directory') continue;
    const styleBytes = (await styles.image(style.id)).bytes;
    const what = { styleBytes, styleName: style.id, network, contentWeight: DEFAULTS.contentWeight, styleWeight: DEFAULTS.styleWeight, preserveColors: false };
    if (!(await hasPainterFile(what, painterDirs))) out.push(style.id);
  }
  return out;
}

export const DEFAULT_TRAINING_LIMITS = { maxWaiting: 8, timeoutMs: 15 * 60_000, maxKept: 256 } as const;
/** The lowest priority: a training child only gets the CPU streams and jobs leave. */
const TRAINING_NICENESS = 19;
const TAIL_BYTES = 4096;

export function createPainterTraining(options: PainterTrainingOptions): PainterTraining {
  const maxWaiting = options.maxWaiting ?? DEFAULT_TRAINING_LIMITS.maxWaiting;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TRAINING_LIMITS.timeoutMs;
  const maxKept = options.maxKept ?? DEFAULT_TRAINING_LIMITS.maxKept;
  const statuses = new Map<string, TrainingStatus>();
  const waiting: string[] = [];
  let child: ChildProcess | undefined;
  let childExited: Promise<void> = Promise.resolve();
  let closed = false;

  const remember = (styleId: string, status: TrainingStatus): void => {
    statuses.delete(styleId); // re-inserted last: the map's order is the order of last change
    statuses.set(styleId, status);
    for (const [id, s] of statuses) {
      if (statuses.size <= maxKept) break;
      if (s.state === TrainingState.READY || s.state === TrainingState.FAILED) statuses.delete(id);
    }
  };

  function next(): void {
    if (closed || child) return;
    const styleId = waiting.shift();
    if (styleId === undefined) return;
    remember(styleId, { state: TrainingState.LEARNING });
    const args = [
      options.entry ?? CLI_ENTRY,
      'painters', 'train',
      '--style', styleId,
      '--steps', String(options.steps),
      '--up-to', String(options.steps),
      '--size', String(options.liveSize),
      '--styles-dir', options.stylesDir,
      '--model', options.model,
      ...(options.backend ? ['--backend', options.backend] : []),
    ];
    const started = performance.now();
    const proc = spawn(process.execPath, args, {
      env: { ...process.env, STYLIZE_DATA_DIR: options.dataDir, STYLIZE_MODELS_DIR: options.modelsDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    try {
      if (proc.pid !== undefined) os.setPriority(proc.pid, options.niceness ?? TRAINING_NICENESS);
    } catch {
      // Not permitted here: it runs at normal priority.
    }
    let out = '';
    let err = '';
    proc.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-TAIL_BYTES)));
    proc.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-TAIL_BYTES)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill('SIGKILL');
    }, timeoutMs);
    options.log.info({ style: styleId, steps: options.steps, pid: proc.pid }, 'learning the uploaded style\'s painter in the background');
    childExited = new Promise<void>((resolve) => {
      let ended = false;
      /** Once, whichever comes: 'close', or 'error' alone (a child that could not start). */
      const end = (code: number | null, signal: NodeJS.Signals | null, startError?: Error): void => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        child = undefined;
        const seconds = Math.round((performance.now() - started) / 100) / 10;
        const result = lastJson(out);
        if (code === 0 && result && typeof result.steps === 'number') {
          remember(styleId, { state: TrainingState.READY, steps: result.steps });
          options.log.info({ style: styleId, steps: result.steps, seconds }, 'the uploaded style\'s painter is ready');
        } else if (!closed) {
          const reason = timedOut
            ? `stopped after ${Math.round(timeoutMs / 1000)} s`
            : (startError?.message ?? (lastLine(err) || `exit ${code ?? signal}`));
          remember(styleId, { state: TrainingState.FAILED, reason });
          options.log.warn({ style: styleId, reason, seconds }, 'the uploaded style\'s painter could not be learned; streams in it learn their own');
        }
        resolve();
        next();
      };
      proc.once('error', (error) => end(null, null, error));
      proc.once('close', (code, signal) => end(code, signal));
    });
  }

  return {
    enqueue(styleId) {
      if (closed || options.steps <= 0) return;
      const state = statuses.get(styleId)?.state;
      if (state === TrainingState.WAITING || state === TrainingState.LEARNING || state === TrainingState.READY) return;
      if (waiting.length >= maxWaiting) {
        const dropped = waiting.shift()!;
        statuses.delete(dropped);
        options.log.warn({ style: dropped }, 'too many styles waiting to learn their painter: the oldest is dropped (its streams learn their own)');
      }
      waiting.push(styleId);
      remember(styleId, { state: TrainingState.WAITING });
      next();
    },
    status: (styleId) => statuses.get(styleId),
    async close() {
      closed = true;
      waiting.length = 0;
      child?.kill('SIGKILL');
      await childExited;
    },
  };
}

function lastJson(text: string): { steps?: unknown } | undefined {
  const line = lastLine(text);
  try {
    return line ? (JSON.parse(line) as { steps?: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.trim().slice(0, 500) ?? '';
}
