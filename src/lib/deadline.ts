/** A signal that aborts at a deadline or with a parent signal; `done()` releases both at once. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** The deadline passed (the parent's abort does not count). */
  readonly timedOut: boolean;
  /** Clears the timer and unhooks the parent: call it when the request is over, however it ended. */
  done(): void;
}

/**
 * A per-request deadline that costs nothing once the request is over. `AbortSignal.timeout` keeps its timer
 * (and the signal) until the deadline passes, and `AbortSignal.any` links through weak references that only
 * a full garbage collection frees: at thousands of requests a second both pile up in the old generation.
 * Here the timer is cleared and the listener removed as soon as the request ends. The abort reason on the
 * deadline is a `TimeoutError` DOMException, like `AbortSignal.timeout`'s.
 */
export function deadline(timeoutMs: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError"));
  }, timeoutMs);
  const onAbort = () => controller.abort(parent!.reason);
  if (parent?.aborted) onAbort();
  else parent?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    done() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onAbort);
    },
  };
}
