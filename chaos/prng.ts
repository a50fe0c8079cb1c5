/** A small seeded PRNG (mulberry32): the same seed gives the same fault decisions, so a failing run can be replayed. */
export interface Prng {
  /** [0, 1) */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

export function createPrng(seed: number): Prng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)]!,
  };
}

/** Independent streams from one seed, so one fault source drawing more numbers does not shift another's. */
export function streams(seed: number) {
  const derive = (salt: number) => createPrng((seed ^ Math.imul(salt, 0x9e3779b1)) >>> 0);
  return { kills: derive(1), upstream: derive(2), receivers: derive(3), jobs: derive(4), outage: derive(5) };
}
