import { randomBytes } from "node:crypto";

/** Injected randomness: jitter and generated ids/keys go through this so tests can make them deterministic. */
export interface Random {
  /** Uniform in [0, 1). */
  float(): number;
  bytes(size: number): Buffer;
}

export const systemRandom: Random = {
  float: () => Math.random(),
  bytes: (size) => randomBytes(size),
};

/** Deterministic generator (mulberry32) for tests and benchmarks that need reproducible runs. */
export function createSeededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    float: next,
    bytes: (size) => Buffer.from(Array.from({ length: size }, () => Math.floor(next() * 256))),
  };
}
