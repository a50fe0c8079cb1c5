/** How long one job type runs: a lognormal with this median and shape (σ of the underlying normal). */
export interface DurationDist {
  median_ms: number;
  sigma: number;
  /** Relative share of this type in the mix (default 1). */
  weight?: number;
  /** Draws above this are redrawn (quick runs bound the tail so they finish in seconds). */
  max_ms?: number;
}

/** Job types and their duration distributions, keyed by Rendley job type. */
export type JobMix = Record<string, DurationDist>;

/** The default mix: long exports, medium transcriptions, short image generations. */
export const DEFAULT_MIX: JobMix = {
  export_video: { median_ms: 60_000, sigma: 0.6 },
  transcription: { median_ms: 20_000, sigma: 0.3 },
  generate_image: { median_ms: 8_000, sigma: 0.4 },
};

/** A seeded uniform [0, 1) source: runs with the same seed see the same workload. */
export type Rng = () => number;

/** mulberry32: tiny, fast and good enough for workload generation (not for anything secret). */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller; the second value is dropped to keep the stream simple). */
export function normal(rng: Rng): number {
  const u = 1 - rng(); // (0, 1]: log(0) would be -Infinity
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** One duration from a lognormal: median·e^(σ·Z), redrawn while above `max_ms`. */
export function drawDuration(rng: Rng, dist: DurationDist): number {
  for (;;) {
    const ms = Math.round(dist.median_ms * Math.exp(dist.sigma * normal(rng)));
    if (dist.max_ms === undefined || ms <= dist.max_ms) return Math.max(1, ms);
  }
}

/** Picks a type by weight, then its duration. */
export function drawJob(rng: Rng, mix: JobMix): { type: string; durationMs: number } {
  const entries = Object.entries(mix);
  if (entries.length === 0) throw new Error("empty job mix");
  const total = entries.reduce((sum, [, d]) => sum + (d.weight ?? 1), 0);
  let pick = rng() * total;
  for (const [type, dist] of entries) {
    pick -= dist.weight ?? 1;
    if (pick < 0) return { type, durationMs: drawDuration(rng, dist) };
  }
  const [type, dist] = entries[entries.length - 1]!;
  return { type, durationMs: drawDuration(rng, dist) };
}

/** `count` Poisson arrival offsets (ms from 0) spread over about `spanMs`: exponential gaps at rate count/span. */
export function poissonArrivals(rng: Rng, count: number, spanMs: number): number[] {
  const meanGap = spanMs / count;
  const out: number[] = [];
  let t = 0;
  for (let i = 0; i < count; i++) {
    out.push(Math.round(t));
    t += -Math.log(1 - rng()) * meanGap;
  }
  return out;
}

/** The mix with every median (and cap) multiplied by `factor`: quick runs shrink durations ×0.1. */
export function scaleMix(mix: JobMix, factor: number, capSigmas?: number): JobMix {
  const out: JobMix = {};
  for (const [type, d] of Object.entries(mix)) {
    const median = d.median_ms * factor;
    out[type] = {
      ...d,
      median_ms: median,
      ...(capSigmas !== undefined ? { max_ms: Math.round(median * Math.exp(d.sigma * capSigmas)) } : {}),
    };
  }
  return out;
}
