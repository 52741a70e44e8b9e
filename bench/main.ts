/**
 * `npm run bench -- <name> [options]`: speed figures as JSON lines (one per configuration).
 * Benchmarks, not tests: they measure, they do not pass or fail.
 */
import { runAbuseBench } from './abuse.js';
import { runBlobTransferBench } from './blob-transfer.js';
import { runConvergenceBench } from './convergence.js';
import { runEngineBench } from './engine.js';
import { runFanoutBench } from './fanout.js';
import { runFarmBench } from './farm.js';
import { runLiveBench } from './live.js';
import { runPainterBench } from './painter.js';
import { runQualityBench } from './quality.js';
import { runStrengthBench } from './strength.js';
import { runStrokeLearningBench } from './stroke-learning.js';
import { runUpsampleBench } from './upsample.js';
import { runVideoBench } from './video.js';

const benches: Record<string, (args: string[]) => Promise<void>> = {
  abuse: runAbuseBench,
  'blob-transfer': runBlobTransferBench,
  convergence: runConvergenceBench,
  engine: runEngineBench,
  fanout: runFanoutBench,
  farm: runFarmBench,
  live: runLiveBench,
  painter: runPainterBench,
  quality: runQualityBench,
  strength: runStrengthBench,
  'stroke-learning': runStrokeLearningBench,
  upsample: runUpsampleBench,
  video: runVideoBench,
};

const [name, ...args] = process.argv.slice(2);
const bench = name ? benches[name] : undefined;
if (!bench) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]\n`);
  process.exit(2);
}
bench(args).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench ${name}: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
