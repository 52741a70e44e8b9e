/**
 * An uploaded style starts learning its live painter at once, in the background (issue 12): the
 * same training `stylize painters train` does (train-painter.ts), on the shipped training frames
 * (models/painter-training/), in a child process of its own (painter-training-main.ts) at the
 * lowest CPU priority (live streams and jobs go first), one style at a time, under the key a live
 * stream in that style looks up. The first stream in a new style then paints with the painter
 * from its first frame instead of learning for its first minute.
 *
 * Bounded: one child at a time, at most `maxWaiting` styles waiting (the oldest waiting one is
 * dropped for a newer upload), a time limit per style, at most `maxKept` statuses remembered.
 * `close()` kills the child and is safe twice. This side loads no tfjs: it only forks the child.
 */
import type { BackendName, ModelChoice } from '../config.js';
import { DEFAULT_COST_WEIGHTS } from '../config.js';
import { hasPainterFile } from '../engine/painter-net/painter-key.js';
import type { Logger } from '../logger.js';
import type { StyleLibrary } from '../styles/style-library.js';
import type { TrainPainterRequest } from './train-painter.js';
import { createTrainingStatuses, TrainingState, type TrainingStatus } from './training-status.js';
import { PAINTER_TUNING } from './painter-tuning.js';
import { strokePainterFor } from './stroke-painter-key.js';
import { PAINTER_TRAINING_ENTRY, startTrainingProcess, type TrainingOutcome, type TrainingProcess } from './training-process.js';

export { TrainingState, type TrainingStatus } from './training-status.js';
export { PAINTER_TRAINING_ENTRY } from './training-process.js';

export interface PainterTrainingOptions {
  /** Training steps in all for an uploaded style's painter (0: no background training). */
  steps: number;
  /**
   * Which painter the live streams use: 'stroke' (the keyframes mode: PAINTER_TUNING.stroke's
   * background keyframes, then `steps` supervised steps) or 'gram' (the learned mode: `steps`
   * steps of the Gram objective).
   */
  kind?: 'gram' | 'stroke';
  dataDir: string;
  stylesDir: string;
  modelsDir: string;
  model: ModelChoice;
  backend?: BackendName;
  /** Short side of the live streams the painter is for. */
  liveSize: number;
  log: Logger;
  maxWaiting?: number;
  /** A style's training is stopped (and reported failed) after this long. */
  timeoutMs?: number;
  maxKept?: number;
  /** The training process's entry (tests); default the compiled painter-training-main.js. */
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
export async function stylesWithoutPainter(styles: Pick<StyleLibrary, 'list' | 'image'>, painterDirs: readonly string[], network: string, kind: 'gram' | 'stroke' = 'gram'): Promise<string[]> {
  const out: string[] = [];
  for (const style of await styles.list()) {
    if (style.source !== 'upload' && style.source !== 'directory') continue;
    const styleBytes = (await styles.image(style.id)).bytes;
    const what = kind === 'stroke' ? strokePainterFor(styleBytes, style.id, network) : { styleBytes, styleName: style.id, network, ...DEFAULT_COST_WEIGHTS, preserveColors: false };
    if (!(await hasPainterFile(what, painterDirs))) out.push(style.id);
  }
  return out;
}

export const DEFAULT_TRAINING_LIMITS = { maxWaiting: 8, timeoutMs: 15 * 60_000, maxKept: 256 } as const;
/** The lowest priority: a training child only gets the CPU streams and jobs leave. */
const TRAINING_NICENESS = 19;

/** What the training process is asked for one style: every step up to `steps` in all. */
function requestFor(styleId: string, options: PainterTrainingOptions): TrainPainterRequest {
  const steps = options.steps;
  return {
    style: styleId,
    kind: options.kind ?? 'gram',
    ...(options.kind === 'stroke' ? { keyframes: PAINTER_TUNING.stroke.backgroundKeyframes } : {}),
    steps,
    upTo: steps,
    size: options.liveSize,
    stylesDir: options.stylesDir,
    dataDir: options.dataDir,
    modelsDir: options.modelsDir,
    model: options.model,
    ...(options.backend ? { backend: options.backend } : {}),
  };
}

export function createPainterTraining(options: PainterTrainingOptions): PainterTraining {
  const maxWaiting = options.maxWaiting ?? DEFAULT_TRAINING_LIMITS.maxWaiting;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TRAINING_LIMITS.timeoutMs;
  const statuses = createTrainingStatuses(options.maxKept ?? DEFAULT_TRAINING_LIMITS.maxKept);
  const waiting: string[] = [];
  let child: TrainingProcess | undefined;
  let childExited: Promise<void> = Promise.resolve();
  let closed = false;

  /** Starts the next waiting style's training, if none is running. */
  function next(): void {
    if (closed || child) return;
    const styleId = waiting.shift();
    if (styleId === undefined) return;
    statuses.set(styleId, { state: TrainingState.LEARNING });
    const started = performance.now();
    const proc = startTrainingProcess({ request: requestFor(styleId, options), entry: options.entry ?? PAINTER_TRAINING_ENTRY, niceness: options.niceness ?? TRAINING_NICENESS, timeoutMs });
    child = proc;
    options.log.info({ style: styleId, steps: options.steps, pid: proc.pid }, 'learning the uploaded style\'s painter in the background');
    childExited = proc.outcome.then((outcome) => {
      child = undefined;
      finished(styleId, outcome, Math.round((performance.now() - started) / 100) / 10);
      next();
    });
  }

  function finished(styleId: string, outcome: TrainingOutcome, seconds: number): void {
    if (outcome.ok) {
      statuses.set(styleId, { state: TrainingState.READY, steps: outcome.steps });
      options.log.info({ style: styleId, steps: outcome.steps, seconds }, 'the uploaded style\'s painter is ready');
    } else if (!closed) {
      statuses.set(styleId, { state: TrainingState.FAILED, reason: outcome.reason });
      options.log.warn({ style: styleId, reason: outcome.reason, seconds }, 'the uploaded style\'s painter could not be learned; streams in it learn their own');
    }
  }

  function enqueue(styleId: string): void {
    if (closed || options.steps <= 0) return;
    const state = statuses.get(styleId)?.state;
    if (state === TrainingState.WAITING || state === TrainingState.LEARNING || state === TrainingState.READY) return;
    if (waiting.length >= maxWaiting) {
      const dropped = waiting.shift()!;
      // Said where the page looks (GET /api/styles), not only in the server's log.
      statuses.set(dropped, { state: TrainingState.DROPPED, reason: `more than ${maxWaiting} styles were waiting to learn their painter; streams in this style learn their own` });
      options.log.warn({ style: dropped }, 'too many styles waiting to learn their painter: the oldest is dropped (its streams learn their own)');
    }
    waiting.push(styleId);
    statuses.set(styleId, { state: TrainingState.WAITING });
    next();
  }

  return {
    enqueue,
    status: (styleId) => statuses.get(styleId),
    async close() {
      closed = true;
      waiting.length = 0;
      child?.kill();
      await childExited;
    },
  };
}
