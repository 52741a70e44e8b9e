/** Where each style's background painter training stands, remembered within a bound. */

export const TrainingState = {
  WAITING: 'waiting',
  LEARNING: 'learning',
  READY: 'ready',
  FAILED: 'failed',
  /** Too many styles were waiting: this one's training was given up (its streams learn their own). */
  DROPPED: 'dropped',
} as const;
export type TrainingState = (typeof TrainingState)[keyof typeof TrainingState];

export interface TrainingStatus {
  state: TrainingState;
  /** The painter's training steps in all, once ready. */
  steps?: number;
  /** Why it failed (the trainer's last words) or was dropped. */
  reason?: string;
}

export interface TrainingStatuses {
  get(styleId: string): TrainingStatus | undefined;
  /** Records a style's new status; beyond `maxKept`, the oldest finished ones are forgotten. */
  set(styleId: string, status: TrainingStatus): void;
  delete(styleId: string): void;
}

export function createTrainingStatuses(maxKept: number): TrainingStatuses {
  const statuses = new Map<string, TrainingStatus>();
  return {
    get: (styleId) => statuses.get(styleId),
    set(styleId, status) {
      statuses.delete(styleId); // re-inserted last: the map's order is the order of last change
      statuses.set(styleId, status);
      for (const [id, s] of statuses) {
        if (statuses.size <= maxKept) break;
        if (s.state === TrainingState.READY || s.state === TrainingState.FAILED || s.state === TrainingState.DROPPED) statuses.delete(id);
      }
    },
    delete: (styleId) => void statuses.delete(styleId),
  };
}
