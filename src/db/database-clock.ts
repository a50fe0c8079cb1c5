import { errorForLog } from "../lib/error-for-log.js";
import type { Clock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import type { Database } from "./client.js";
import { readDatabaseTime } from "./queries/read-database-time.js";

/** A clock that reads the process's clock and adds its measured offset to the database's clock. */
export interface DatabaseClock extends Clock {
  /** The last measured offset (database − process), in ms. */
  readonly offsetMs: number;
  /** Measures the offset again (the best of a few round trips); keeps the last one when the database does not answer. */
  sync(): Promise<void>;
  /** Measures now and every `intervalMs` until `stop()` (a failed measurement is logged, never thrown). */
  start(): Promise<void>;
  stop(): void;
}

/** Round trips per measurement: the one with the shortest round trip wins (NTP's choice). */
const SAMPLES = 3;
/** A sample whose round trip took longer than this says little about the offset. */
const MAX_ROUND_TRIP_MS = 1_000;
/** An offset this large is worth a warning: the host's clock is not synchronised. */
const WARN_OFFSET_MS = 1_000;

/**
 * Every time the relay writes (poll schedules, plan origins, new deliveries, retry times) is read from its
 * process clock, but several relays share one database. A relay whose clock is off would then poll a job
 * another relay just polled, or hold it back. Aligned on the database's `clock_timestamp()`, every relay
 * writes times on the same clock, measured to within half a round trip (a few ms on a local network).
 * @param base the process clock (`systemClock`)
 */
export function createDatabaseClock(
  db: Database,
  base: Clock,
  options: { intervalMs?: number; logger?: Logger } = {},
): DatabaseClock {
  const intervalMs = options.intervalMs ?? 60_000;
  let offsetMs = 0;
  let timer: NodeJS.Timeout | undefined;
  let warned = false;

  async function sample(): Promise<{ offsetMs: number; roundTripMs: number }> {
    const sent = base.now().getTime();
    const at = (await readDatabaseTime(db)).getTime();
    const received = base.now().getTime();
    return { offsetMs: at - (sent + received) / 2, roundTripMs: received - sent };
  }

  const clock: DatabaseClock = {
    now: () => new Date(base.now().getTime() + offsetMs),
    get offsetMs() {
      return offsetMs;
    },
    async sync() {
      let best: { offsetMs: number; roundTripMs: number } | undefined;
      for (let i = 0; i < SAMPLES; i++) {
        const s = await sample();
        if (s.roundTripMs <= MAX_ROUND_TRIP_MS && (!best || s.roundTripMs < best.roundTripMs)) best = s;
      }
      if (!best) return;
      offsetMs = Math.round(best.offsetMs);
      if (Math.abs(offsetMs) >= WARN_OFFSET_MS && !warned) {
        warned = true;
        options.logger?.warn(
          { offsetMs },
          "this host's clock is off the database's; the relay keeps its times on the database's clock",
        );
      }
    },
    async start() {
      const measure = () =>
        clock
          .sync()
          .catch((err: unknown) =>
            options.logger?.warn({ err: errorForLog(err) }, "database clock not measured; keeping the last offset"),
          );
      await measure();
      timer = setInterval(() => void measure(), intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  return clock;
}
