import { normalCdf, normalPdf, normalTail } from "../lib/normal.js";

/**
 * What one job says about its type's completion time, in ms since it was first watched: finished between
 * `runningMs` (last seen running) and `finishedMs` (seen finished), or, without `finishedMs`, still running
 * at `runningMs` (it takes longer than that: right-censored).
 */
export interface DurationEvidence {
  runningMs: number;
  finishedMs?: number | undefined;
  /** How much this job counts (recent jobs count more: the fit follows a Rendley that speeds up or slows down). */
  weight: number;
}

/** A lognormal fitted by maximum likelihood: ln(T) ~ N(meanLog, sdLog²), with the uncertainty of both. */
export interface CensoredFit {
  meanLog: number;
  sdLog: number;
  /** Standard errors of meanLog and sdLog (from the likelihood's curvature: wide while most jobs are still running). */
  seMeanLog: number;
  seSdLog: number;
  /** The weight of finished jobs the fit rests on. */
  events: number;
}

/** A fit never narrows below this spread (a run of identical durations must not make the plan overconfident). */
export const MIN_SD_LOG = 0.1;
/** EM steps per fit: from scratch, and from the previous fit (a refit continues where the last one stopped). */
const MAX_ITERATIONS = 100;
const MAX_WARM_ITERATIONS = 20;
const TOLERANCE = 1e-5;

/** A job's evidence as an interval of ln(T): (lo, hi], either end possibly infinite. */
function bounds(e: DurationEvidence): [number, number] {
  const lo = e.runningMs > 0 ? Math.log(e.runningMs) : -Infinity;
  const hi = e.finishedMs === undefined ? Infinity : Math.log(Math.max(e.finishedMs, e.runningMs + 1));
  return [lo, hi];
}

/** P(a < X ≤ b) for standardised bounds, computed in the tail where the tail is small. */
function mass(a: number, b: number): number {
  return a > 0 ? normalTail(a) - normalTail(b) : normalCdf(b) - normalCdf(a);
}

const phi = (z: number) => (Number.isFinite(z) ? normalPdf(z) : 0);
const zPhi = (z: number) => (Number.isFinite(z) ? z * normalPdf(z) : 0);

/** The weighted log-likelihood of (mu, sd) for the evidence. */
export function logLikelihood(evidence: readonly DurationEvidence[], mu: number, sd: number): number {
  let sum = 0;
  for (const e of evidence) {
    const [lo, hi] = bounds(e);
    if (lo === -Infinity && hi === Infinity) continue;
    sum += e.weight * Math.log(Math.max(1e-300, mass((lo - mu) / sd, (hi - mu) / sd)));
  }
  return sum;
}

/**
 * One EM step: each job's ln(T) replaced by its expected value and square given its interval (moments of a
 * truncated normal), then the mean and spread of those. Ascends the censored likelihood at every step.
 */
function emStep(evidence: readonly DurationEvidence[], mu: number, sd: number): [number, number] {
  let w = 0;
  let s1 = 0;
  let s2 = 0;
  for (const e of evidence) {
    const [lo, hi] = bounds(e);
    if (lo === -Infinity && hi === Infinity) continue;
    const a = (lo - mu) / sd;
    const b = (hi - mu) / sd;
    const z = mass(a, b);
    let mean: number;
    let variance: number;
    if (z > 1e-280) {
      const m1 = (phi(a) - phi(b)) / z;
      const m2 = (zPhi(a) - zPhi(b)) / z;
      mean = mu + sd * m1;
      variance = Math.max(0, sd * sd * (1 + m2 - m1 * m1));
    } else {
      // Far outside the current fit: take the interval's end nearest to it.
      mean = Number.isFinite(hi) && Number.isFinite(lo) ? (lo + hi) / 2 : Number.isFinite(lo) ? lo : hi;
      variance = 0;
    }
    w += e.weight;
    s1 += e.weight * mean;
    s2 += e.weight * (variance + mean * mean);
  }
  const m = s1 / w;
  return [m, Math.sqrt(Math.max(1e-6, s2 / w - m * m))];
}

/** Standard errors from the inverse of the log-likelihood's Hessian (central differences). */
function standardErrors(evidence: readonly DurationEvidence[], mu: number, sd: number): [number, number] {
  const h = 1e-3;
  const f = (m: number, s: number) => logLikelihood(evidence, m, s);
  const f0 = f(mu, sd);
  const fmm = (f(mu + h, sd) - 2 * f0 + f(mu - h, sd)) / (h * h);
  const fss = (f(mu, sd + h) - 2 * f0 + f(mu, sd - h)) / (h * h);
  const fms = (f(mu + h, sd + h) - f(mu + h, sd - h) - f(mu - h, sd + h) + f(mu - h, sd - h)) / (4 * h * h);
  // Covariance = inverse of the observed information (−Hessian).
  const det = fmm * fss - fms * fms;
  if (!(fmm < 0) || !(det > 0)) return [Infinity, Infinity];
  return [Math.sqrt(-fss / det), Math.sqrt(-fmm / det)];
}

/**
 * Fits a lognormal to jobs that finished (interval-censored by their poll gap) and jobs still running
 * (right-censored at their age) by maximum likelihood, so the fit is unbiased from the first jobs on:
 * counting only the finished ones would see only the quick. EM from `start` (the previous fit: a refit
 * moves a little from where it was, at most 20 EM steps, so a burst of news costs a few milliseconds per
 * refit and the fit converges over the next refits). Undefined without a single finished job.
 */
export function fitCensored(
  evidence: readonly DurationEvidence[],
  start?: { meanLog: number; sdLog: number },
): CensoredFit | undefined {
  let events = 0;
  let sum = 0;
  let sumSq = 0;
  for (const e of evidence) {
    if (e.finishedMs === undefined) continue;
    const x = Math.log(Math.max(1, e.finishedMs));
    events += e.weight;
    sum += e.weight * x;
    sumSq += e.weight * x * x;
  }
  if (events <= 0) return undefined;
  let mu = start?.meanLog ?? sum / events;
  let sd = start?.sdLog ?? Math.max(0.3, Math.sqrt(Math.max(0, sumSq / events - (sum / events) ** 2)));
  for (let i = 0; i < (start ? MAX_WARM_ITERATIONS : MAX_ITERATIONS); i++) {
    const [m, s] = emStep(evidence, mu, sd);
    const done = Math.abs(m - mu) < TOLERANCE && Math.abs(s - sd) < TOLERANCE;
    mu = m;
    sd = s;
    if (done) break;
  }
  sd = Math.max(MIN_SD_LOG, sd);
  const [seMeanLog, seSdLog] = standardErrors(evidence, mu, sd);
  return { meanLog: mu, sdLog: sd, seMeanLog, seSdLog, events };
}

/** A (weighted) Kaplan–Meier curve: at `times[i]` and after, P(T > t) is `survival[i]`; `atRisk[i]` the weight at risk just before. */
interface StepCurve {
  times: number[];
  survival: number[];
  atRisk: number[];
}

/**
 * Kaplan–Meier with each finished job counted at `eventAt` of its interval, each running one censored at its
 * age. At a tie, `censorFirst` drops the running jobs from the risk set before the completions: a job last
 * seen running at age a may yet turn out to have finished right after a (its next poll is still to come).
 */
function kaplanMeier(
  evidence: readonly DurationEvidence[],
  eventAt: (e: DurationEvidence & { finishedMs: number }) => number,
  censorFirst: boolean,
): StepCurve {
  const points = evidence
    .map((e) =>
      e.finishedMs === undefined
        ? { t: e.runningMs, w: e.weight, event: false }
        : { t: eventAt({ ...e, finishedMs: e.finishedMs }), w: e.weight, event: true },
    )
    .sort((x, y) => x.t - y.t || (Number(y.event) - Number(x.event)) * (censorFirst ? -1 : 1));
  let atRisk = points.reduce((sum, p) => sum + p.w, 0);
  let s = 1;
  const curve: StepCurve = { times: [], survival: [], atRisk: [] };
  for (const p of points) {
    if (p.event && atRisk > 0) {
      curve.atRisk.push(atRisk);
      s *= 1 - p.w / atRisk;
      curve.times.push(p.t);
      curve.survival.push(s);
    }
    atRisk -= p.w;
  }
  return curve;
}

/** The curve's value at t (1 before its first step). */
function valueAt(curve: StepCurve, t: number): number {
  let lo = 0;
  let hi = curve.times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (curve.times[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? 1 : curve.survival[lo - 1]!;
}

/**
 * How far the fit strays from the data's own survival curve. A job seen finished is known only to have
 * finished within its poll gap, so the data give a band, not a curve: Kaplan–Meier with every completion
 * at the start of its gap (below the truth) and at its end (above it). The distance is the largest amount
 * by which the fitted P(T > t) leaves that band, over the completions seen while at least a tenth of the
 * weight was still at risk. A shape far from lognormal (two kinds of work under one type) leaves it widely.
 */
export function fitDistance(evidence: readonly DurationEvidence[], fit: CensoredFit): number {
  const early = kaplanMeier(evidence, (e) => e.runningMs, true);
  const late = kaplanMeier(evidence, (e) => e.finishedMs, false);
  const total = evidence.reduce((sum, e) => sum + e.weight, 0);
  let distance = 0;
  for (const curve of [early, late]) {
    for (let i = 0; i < curve.times.length; i++) {
      if (curve.atRisk[i]! < 0.1 * total) break;
      const t = curve.times[i]!;
      if (t <= 0) continue;
      const fitted = normalTail((Math.log(t) - fit.meanLog) / fit.sdLog);
      distance = Math.max(distance, valueAt(early, t) - fitted, fitted - valueAt(late, t));
    }
  }
  return distance;
}
