/**
 * Progress for long CLI work: a live bar on a terminal, a line every ~10% otherwise (CI logs,
 * pipes), so a person always sees that work goes on, how far it is and about how long it has left.
 * The estimate is the caller's when it has a better one (a video job's, from its chunks' measured
 * frame times), else the measured time per unit of work so far times the work left.
 */
import cliProgress from 'cli-progress';

export interface ProgressUpdate {
  /** Seconds left, when the caller knows better than done ÷ elapsed (undefined: work it out here). */
  etaS?: number | undefined;
  /** What the work is doing before its first unit ("painting the first frame"): a new one prints a line. */
  stage?: string | undefined;
}

export interface Progress {
  update(done: number, detail: string, extra?: ProgressUpdate): void;
  stop(): void;
}

/** "8 s", "2 min 05 s", "1 h 04 min": a person's reading of a duration. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export function createProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr, now: () => number = () => performance.now()): Progress {
  const started = now();
  /** The caller's estimate, or the mean time per unit so far times the units left. */
  const etaText = (done: number, extra: ProgressUpdate | undefined): string => {
    if (extra?.etaS !== undefined) return `ETA ${formatDuration(extra.etaS)}`;
    if (done <= 0) return 'ETA …';
    return `ETA ${formatDuration((((now() - started) / done) * Math.max(0, total - done)) / 1000)}`;
  };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        // Our own ETA: cli-progress's counts from the bar's start and knows nothing of the caller's estimate.
        format: `${label} [{bar}] {value}/{total} | {detail} | {eta}`,
        stream,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { detail: '', eta: 'ETA …' });
    return {
      update: (done, detail, extra) => bar.update(done, { detail, eta: etaText(done, extra) }),
      stop: () => bar.stop(),
    };
  }
  let lastDecile = -1;
  let lastStage: string | undefined;
  return {
    update(done, detail, extra) {
      const decile = Math.floor((done / Math.max(1, total)) * 10);
      // Deciles and new stages only: the last line is printed once, however often the caller reports the end.
      if (decile !== lastDecile || (extra?.stage !== undefined && extra.stage !== lastStage)) {
        lastDecile = decile;
        lastStage = extra?.stage;
        stream.write(`${label} ${done}/${total} ${detail} · ${etaText(done, extra)}\n`);
      }
    },
    stop() {},
  };
}
