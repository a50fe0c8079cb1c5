/** What ended a sleep: its timer, or a `wake()`. */
export type WakeReason = "timer" | "woken";

/** A sleep that can be cut short: the worker loop sleeps on it between claims, and `nudge()` or finished work wakes it. */
export interface WakeSignal {
  /** Sleeps up to `ms`. Resolves "woken" early on `wake()`, or at once when a wake-up arrived since the last sleep. */
  sleep(ms: number): Promise<WakeReason>;
  /** Ends the sleep in progress; with none, the next sleep returns at once, so a wake-up is never lost. */
  wake(): void;
}

/** One sleeper at a time: a sleep started while another is pending takes over its wake-up. */
export function createWakeSignal(): WakeSignal {
  let wakeSleeper: (() => void) | undefined;
  // A wake-up that arrived while nothing slept (during a claim, whose query may not see the work just added).
  let missedWake = false;

  return {
    sleep: (ms) =>
      new Promise<WakeReason>((resolve) => {
        if (missedWake) {
          missedWake = false;
          resolve("woken");
          return;
        }
        const timer = setTimeout(() => {
          wakeSleeper = undefined;
          resolve("timer");
        }, ms);
        wakeSleeper = () => {
          clearTimeout(timer);
          resolve("woken");
        };
      }),
    wake() {
      const w = wakeSleeper;
      wakeSleeper = undefined;
      if (w) w();
      else missedWake = true;
    },
  };
}
