/** Options for {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long (default 10 000 ms). */
  timeoutMs?: number;
  /** Pause between attempts (default 20 ms). */
  intervalMs?: number;
  /** Included in the timeout error, to say what was awaited. */
  message?: string;
}

/**
 * Polls `cond` (sync or async) every `intervalMs` until it returns a truthy value, which is returned.
 * A throwing `cond` counts as "not yet". Rejects after `timeoutMs` with an Error whose message includes
 * `message` (if given) and the last thrown error or the last returned value. Never a fixed sleep.
 */
export async function waitFor<T>(cond: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 20, message } = options;
  const deadline = Date.now() + timeoutMs;
  let last: { kind: "value"; value: unknown } | { kind: "error"; error: unknown } | undefined;

  for (;;) {
    try {
      const value = await cond();
      if (value) return value as NonNullable<T>;
      last = { kind: "value", value };
    } catch (error) {
      last = { kind: "error", error };
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }

  const lastText =
    last === undefined
      ? "no attempt finished"
      : last.kind === "error"
        ? `last error: ${last.error instanceof Error ? last.error.message : String(last.error)}`
        : `last value: ${describe(last.value)}`;
  const prefix = message ? `${message}: ` : "";
  throw new Error(`${prefix}waitFor timed out after ${timeoutMs} ms (${lastText})`, {
    cause: last?.kind === "error" ? last.error : undefined,
  });
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
