/**
 * A live painter's training time (live-painter.ts). Full steps (while learning) may save up time
 * given and not spent, to at most a few steps' worth, so a step dearer than one frame's share
 * runs every few frames; small steps (while painting) only spend what this frame left, never
 * saved. Each kind of step's cost is a running average; a small step of unknown cost is guessed
 * at an eighth of a full one (both unknown: try one).
 */
export interface TrainingClock {
  /** A training turn of `ms` more. */
  turn(ms: number, small: boolean): TrainingTurn;
}

export interface TrainingTurn {
  /** Another step fits what is left (or its cost is unknown yet). */
  fits(): boolean;
  /** A step took this long, ms. */
  spent(took: number): void;
}

export function createTrainingClock(): TrainingClock {
  /** Training time given and not yet spent (full steps), ms. */
  let savedCredit = 0;
  const stepMs: { full: number | undefined; small: number | undefined } = { full: undefined, small: undefined };
  return {
    turn(ms, small) {
      const kind = small ? 'small' : 'full';
      let credit = small ? ms : (savedCredit = Math.min(savedCredit + ms, Math.max(ms, 4 * (stepMs.full ?? 0))));
      const expected = (): number | undefined => stepMs[kind] ?? (small && stepMs.full !== undefined ? stepMs.full / 8 : undefined);
      return {
        fits() {
          const cost = expected();
          return cost === undefined || credit >= cost;
        },
        spent(took) {
          credit -= took;
          if (!small) savedCredit -= took;
          const cost = stepMs[kind];
          stepMs[kind] = cost === undefined ? took : cost + 0.3 * (took - cost);
        },
      };
    },
  };
}
