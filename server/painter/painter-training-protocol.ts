/**
 * Messages between the server and a painter-training process (painter-training-main.ts): the
 * server sends the one style it is to learn; the process answers once, then exits.
 */
import type { TrainPainterRequest } from './train-painter.js';

/** Server → training process. */
export interface TrainMessage {
  type: 'train';
  request: TrainPainterRequest;
}

/** Training process → server: the painter's training steps in all, or why it could not learn. */
export type FromTrainingProcess = { type: 'trained'; steps: number } | { type: 'failed'; message: string };
