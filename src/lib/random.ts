import { randomBytes } from "node:crypto";

/** Injected randomness: jitter and generated ids/keys go through this so tests can make them deterministic. */
export interface Random {
  /** Uniform in [0, 1). */
  float(): number;
  bytes(size: number): Buffer;
}

/** Small draws (ids: 10 bytes each) are cut from a block of this many CSPRNG bytes, as Node's randomUUID does. */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

/**
 * `size` bytes from the CSPRNG. One `randomBytes` call costs microseconds whatever its size, which made it
 * the largest part of creating a message id: small draws come from a pooled block instead, each byte handed
 * out once.
 */
function secureBytes(size: number): Buffer {
  if (size > POOL_BYTES / 16) return randomBytes(size);
  if (used + size > pool.length) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  const out = Buffer.from(pool.subarray(used, used + size)); // a copy: the pool is never shared
  used += size;
  return out;
}

export const systemRandom: Random = {
  float: () => Math.random(),
  bytes: secureBytes,
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
