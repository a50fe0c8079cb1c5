const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/**
 * Parses one duration such as `250ms`, `5s`, `5m`, `2h` or `1d` into milliseconds.
 * A unit is required: a bare `5` would be ambiguous between seconds and milliseconds.
 * @throws Error naming the bad value.
 */
export function parseDurationMs(raw: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(raw.trim());
  if (!match) throw new Error(`"${raw}" is not a duration (use a number with a unit: ms, s, m, h, d; e.g. 5s)`);
  const value = Number(match[1]) * UNIT_MS[match[2] as Unit];
  if (!Number.isFinite(value)) throw new Error(`"${raw}" is too large`);
  return Math.round(value);
}

/**
 * Parses a comma-separated retry schedule (`5s,5m,30m`) into delays in milliseconds.
 * `none` means no retries after the first attempt.
 */
export function parseScheduleMs(raw: string): number[] {
  const trimmed = raw.trim();
  if (trimmed === "none") return [];
  if (trimmed === "") throw new Error("the schedule is empty (use `none` for no retries)");
  return trimmed.split(",").map((part) => parseDurationMs(part));
}

/** Formats milliseconds back into the compact form `parseDurationMs` reads (for logs and docs). */
export function formatDurationMs(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
