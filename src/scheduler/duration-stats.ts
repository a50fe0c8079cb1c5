import type { DurationModel, TypeStats } from "../domain/type-stats.js";
import { MIN_SD_LOG, type CensoredFit } from "./censored-fit.js";

/** Below this weight of finished jobs a type's fit is not trusted: the relay keeps to plain backoff. */
export const MIN_EVENTS = 20;
/** …nor while its mean or spread (of ln t) is this uncertain. */
const MAX_STANDARD_ERROR = 0.25;

/**
 * Whether a fit is good enough to plan with: enough finished jobs, a narrow enough uncertainty, and a shape
 * close to lognormal (`distance`, from `fitDistance`, within what sampling noise explains).
 */
export function isUsableFit(fit: CensoredFit, distance: number): boolean {
  return (
    fit.events >= MIN_EVENTS &&
    fit.seMeanLog <= MAX_STANDARD_ERROR &&
    fit.seSdLog <= MAX_STANDARD_ERROR &&
    distance <= 0.03 + 0.6 / Math.sqrt(fit.events)
  );
}

/**
 * The distribution polls are planned with: the fit widened by its own uncertainty (the spread of ln t plus
 * the uncertainty of its mean, and the spread's standard error on top), so an early fit resting on few
 * completions plans polls closer to backoff's and cannot make the slow jobs' latency worse.
 */
export function planningModel(fit: Pick<CensoredFit, "meanLog" | "sdLog" | "seMeanLog" | "seSdLog">): DurationModel {
  const sd = Math.max(MIN_SD_LOG, fit.sdLog);
  return { meanLog: fit.meanLog, sdLog: Math.sqrt(sd * sd + fit.seMeanLog ** 2) + fit.seSdLog };
}

/** What job_type_stats stores of a usable fit (other replicas and the next start plan with it). */
export function statsOfFit(fit: CensoredFit): TypeStats {
  return { samples: fit.events, meanLog: fit.meanLog, varLog: fit.sdLog ** 2 };
}

/**
 * The planning model of a stored fit (written by this or another relay), when it rests on enough
 * completions; its uncertainty is that of a fit on `samples` uncensored completions.
 */
export function modelOfStored(stats: TypeStats | undefined): DurationModel | undefined {
  if (!stats || !(stats.samples >= MIN_EVENTS)) return undefined;
  const sdLog = Math.max(MIN_SD_LOG, Math.sqrt(stats.varLog));
  return planningModel({
    meanLog: stats.meanLog,
    sdLog,
    seMeanLog: sdLog / Math.sqrt(stats.samples),
    seSdLog: sdLog / Math.sqrt(2 * stats.samples),
  });
}

/** The stored fit of completion times all seen exactly (seeding a relay's history, as the benchmark does). */
export function statsOfDurations(durationsMs: readonly number[]): TypeStats {
  const logs = durationsMs.map((d) => Math.log(Math.max(1, d)));
  const mean = logs.reduce((s, x) => s + x, 0) / logs.length;
  return { samples: logs.length, meanLog: mean, varLog: logs.reduce((s, x) => s + (x - mean) ** 2, 0) / logs.length };
}
