/**
 * A painter-training process (forked by painter-training.ts, at the lowest CPU priority): learns
 * one style's live painter with the library the CLI uses (train-painter.ts), answers the server
 * with the steps it has or why it failed, and exits, so the engine's memory goes with it.
 */
import { readEnv } from '../config.js';
import type { FromTrainingProcess, TrainMessage } from './painter-training-protocol.js';
import { trainPainter } from './train-painter.js';

function answer(message: FromTrainingProcess, exitCode: number): void {
  if (!process.send) process.exit(exitCode);
  process.send(message, () => process.exit(exitCode));
}

async function train(message: TrainMessage): Promise<void> {
  try {
    // wasm threads as the server was told (the environment is the server's).
    const threads = message.request.threads ?? readEnv().wasmThreads;
    const result = await trainPainter({ ...message.request, threads }, { warn: (m) => process.stderr.write(`warning: ${m}\n`) });
    answer({ type: 'trained', steps: result.steps }, 0);
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${text}\n`);
    answer({ type: 'failed', message: text }, 1);
  }
}

process.once('message', (message: TrainMessage) => void train(message));
