import type { DurationModel, TypeStats } from "../domain/type-stats.js";

/** Weight of each new observation once history is long: the fit follows the last ~50 jobs of a type. */
export const DECAY = 0.02;
/** Below this many observations the relay keeps to plain backoff. */
export const MIN_SAMPLES = 20;
/** A floor on the spread, so a run of identical durations cannot make the plan overconfident. */
const MIN_SD_LOG = 0.1;

/** Folds one completion time (ms) into a type's fit: an exponentially weighted mean and variance of ln(t). */
export function observeDuration(stats: TypeStats | undefined, durationMs: number): TypeStats {
  const x = Math.log(Math.max(1, durationMs));
  if (!stats) return { samples: 1, meanLog: x, varLog: 0 };
  const alpha = Math.max(1 / (stats.samples + 1), DECAY);
  const delta = x - stats.meanLog;
  return {
    samples: Math.min(stats.samples + 1, 1 / DECAY),
    meanLog: stats.meanLog + alpha * delta,
    varLog: (1 - alpha) * (stats.varLog + alpha * delta * delta),
  };
}

/** The model predictive polling uses, once there is enough history. */
export function modelOf(stats: TypeStats | undefined): DurationModel | undefined {
  if (!stats || stats.samples < MIN_SAMPLES) return undefined;
  return { meanLog: stats.meanLog, sdLog: Math.max(MIN_SD_LOG, Math.sqrt(stats.varLog)) };
}
