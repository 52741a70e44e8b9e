/**
 * Progress for long CLI work: a live bar on a terminal, a line every ~10% otherwise (CI logs,
 * pipes), so a person always sees that work goes on and how far it is.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, detail: string): void;
  stop(): void;
}

export function createProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} | {detail} | ETA {eta_formatted}`,
        stream,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { detail: '' });
    return {
      update: (done, detail) => bar.update(done, { detail }),
      stop: () => bar.stop(),
    };
  }
  let lastDecile = -1;
  return {
    update(done, detail) {
      const decile = Math.floor((done / Math.max(1, total)) * 10);
      // Deciles only: the last line is printed once, however often the caller reports the end.
      if (decile !== lastDecile) {
        lastDecile = decile;
        stream.write(`${label} ${done}/${total} ${detail}\n`);
      }
    },
    stop() {},
  };
}
