/**
 * One optimiser step on the picture's parameters, by Adam (the seed's) or L-BFGS (the paper's),
 * behind one interface so the step loop (optimise-steps.ts) does not care which. Each owns its
 * state (Adam's moments, L-BFGS's curvature pairs): dispose() frees it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ImageParameters } from './image-parameters.js';
import { createLbfgs, dot } from './lbfgs.js';

export const STEP_METHODS = ['adam', 'lbfgs'] as const;
export type StepMethod = (typeof STEP_METHODS)[number];

export interface Stepper {
  readonly method: StepMethod;
  /**
   * Moves `parameters` to lower `cost` (a function of parameters.render(), run inside the
   * gradient tape), then clips the picture. Returns the cost before the step (the caller frees it).
   */
  step(parameters: ImageParameters, cost: () => tf.Scalar): tf.Scalar;
  /** The step size from the next step on (a schedule over a frame's steps: optimiser-recipe.ts). */
  setLearningRate(lr: number): void;
  dispose(): void;
}

/**
 * `lr`: Adam's step size; for L-BFGS the largest move of any coordinate on a step without
 * curvature to go by (the first, or after a reset).
 */
export function createStepper(method: StepMethod, lr: number): Stepper {
  return method === 'adam' ? adamStepper(lr) : lbfgsStepper(lr);
}

/** tfjs's Adam with its step size settable between steps (applyGradients reads it each time). */
class ScheduledAdam extends tf.AdamOptimizer {
  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }
}

function adamStepper(lr: number): Stepper {
  // tf.train.adam's own defaults: β1 0.9, β2 0.999, ε from the backend.
  const optimizer = new ScheduledAdam(lr, 0.9, 0.999);
  return {
    method: 'adam',
    setLearningRate(next) {
      optimizer.setLearningRate(next);
    },
    step(parameters, cost) {
      const total = optimizer.minimize(cost, true, parameters.variables)!;
      parameters.project();
      return total;
    },
    dispose() {
      optimizer.dispose();
    },
  };
}

/**
 * L-BFGS without a line search (one cost evaluation a step, as Adam): the quasi-Newton step in
 * full, capped so no coordinate moves more than MAX_MOVE. A step that raised the cost forgets the
 * curvature pairs, so the next is a short steepest-descent step.
 * Where we differ from the paper: its L-BFGS searches the line (several evaluations a step) and
 * knows no bounds; ours projects onto [0, 1] after each step and measures s after the projection.
 */
const MAX_MOVE = 0.25;

function lbfgsStepper(initialLr: number): Stepper {
  const lbfgs = createLbfgs(10);
  let previous: { x: Float64Array; g: Float64Array; cost: number } | undefined;
  let lr = initialLr;
  return {
    method: 'lbfgs',
    setLearningRate(next) {
      lr = next;
    },
    step(parameters, cost) {
      const { value, grads } = tf.variableGrads(cost, parameters.variables);
      const g = flatten(parameters.variables.map((v) => grads[v.name]!));
      tf.dispose(Object.values(grads));
      const x = flatten(parameters.variables);
      const f = value.dataSync()[0]!;
      if (previous) {
        if (f > previous.cost) lbfgs.reset();
        else lbfgs.remember(subtract(x, previous.x), subtract(g, previous.g));
      }
      let d = lbfgs.direction(g);
      let t = 1;
      if (lbfgs.pairs === 0 || !(dot(d, g) < 0)) {
        lbfgs.reset();
        d = g.map((v) => -v);
        t = lr / Math.max(maxAbs(g), 1e-30);
      }
      const move = t * maxAbs(d);
      if (move > MAX_MOVE) t *= MAX_MOVE / move;
      unflattenInto(parameters.variables, x.map((xi, i) => xi + t * d[i]!));
      parameters.project();
      // Where g was taken: the next step's s is the move made, projection included.
      previous = { x, g, cost: f };
      return value;
    },
    dispose() {
      lbfgs.reset();
      previous = undefined;
    },
  };
}

function flatten(tensors: readonly tf.Tensor[]): Float64Array {
  const out = new Float64Array(tensors.reduce((n, t) => n + t.size, 0));
  let offset = 0;
  for (const t of tensors) {
    out.set(t.dataSync(), offset);
    offset += t.size;
  }
  return out;
}

function unflattenInto(variables: readonly tf.Variable[], values: Float64Array): void {
  let offset = 0;
  for (const v of variables) {
    const part = Float32Array.from(values.subarray(offset, offset + v.size));
    tf.tidy(() => v.assign(tf.tensor(part, v.shape)));
    offset += v.size;
  }
}

function subtract(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v - b[i]!);
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}
