/** The one source of "now" for the relay: SQL receives it as a parameter, so a fake clock also moves time inside the database. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface FakeClock extends Clock {
  set(time: Date | number): void;
  advance(ms: number): void;
}

/** A clock that only moves when told to (tests). */
export function createFakeClock(start: Date | number = Date.UTC(2026, 0, 1)): FakeClock {
  let current = typeof start === "number" ? start : start.getTime();
  return {
    now: () => new Date(current),
    set: (time) => {
      current = typeof time === "number" ? time : time.getTime();
    },
    advance: (ms) => {
      current += ms;
    },
  };
}
