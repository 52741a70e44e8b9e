/**
 * Limited-memory BFGS, the optimiser of Gatys et al.'s paper: the two-loop recursion (Nocedal &
 * Wright, "Numerical Optimization", algorithm 7.4) over the last few (s, y) pairs, on plain
 * arrays. The caller evaluates the cost and gradient and moves the variables; this keeps only
 * the curvature pairs.
 */

export interface Lbfgs {
  /** d = −H·g, H the inverse-Hessian estimate from the pairs kept (−g scaled by γ when none). */
  direction(gradient: Float64Array): Float64Array;
  /**
   * Keeps a step s = x_{k+1} − x_k and its gradient change y = g_{k+1} − g_k. A pair with
   * s·y ≤ 1e-10·|s|·|y| (no positive curvature) is skipped: it would make H indefinite.
   */
  remember(s: Float64Array, y: Float64Array): boolean;
  /** Forgets the pairs (after a step that made the cost worse). */
  reset(): void;
  readonly pairs: number;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

export function createLbfgs(memory = 10): Lbfgs {
  if (!(memory >= 1)) throw new RangeError('L-BFGS needs a memory of at least 1 pair');
  let history: { s: Float64Array; y: Float64Array; rho: number }[] = [];
  return {
    direction(gradient) {
      const q = Float64Array.from(gradient);
      const alphas: number[] = [];
      for (let k = history.length - 1; k >= 0; k--) {
        const { s, y, rho } = history[k]!;
        const alpha = rho * dot(s, q);
        alphas[k] = alpha;
        for (let i = 0; i < q.length; i++) q[i]! -= alpha * y[i]!;
      }
      // H0 = γI with γ = s·y / y·y of the newest pair: the step's scale from the curvature seen.
      const newest = history[history.length - 1];
      const gamma = newest ? dot(newest.s, newest.y) / dot(newest.y, newest.y) : 1;
      for (let i = 0; i < q.length; i++) q[i]! *= gamma;
      for (let k = 0; k < history.length; k++) {
        const { s, y, rho } = history[k]!;
        const beta = rho * dot(y, q);
        const coefficient = alphas[k]! - beta;
        for (let i = 0; i < q.length; i++) q[i]! += coefficient * s[i]!;
      }
      for (let i = 0; i < q.length; i++) q[i] = -q[i]!;
      return q;
    },
    remember(s, y) {
      const sy = dot(s, y);
      if (!(sy > 1e-10 * Math.sqrt(dot(s, s) * dot(y, y)))) return false;
      history.push({ s, y, rho: 1 / sy });
      if (history.length > memory) history.shift();
      return true;
    },
    reset() {
      history = [];
    },
    get pairs() {
      return history.length;
    },
  };
}
