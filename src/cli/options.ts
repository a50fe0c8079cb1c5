import { InvalidArgumentError, type Command } from "commander";
import type { JobEvent } from "../client/index.js";

/** The events a watch can subscribe to. */
export const EVENTS: readonly JobEvent[] = ["job.processing", "job.completed", "job.failed", "job.canceled"];

/** `--url`, `--api-key`, `--json`: what every tenant command takes. */
export function withTenantOptions(cmd: Command): Command {
  return cmd
    .option("--url <url>", "the relay's base URL (default: $RELAY_URL or http://127.0.0.1:8080)")
    .option("--api-key <key>", "the tenant's relay API key (default: $RELAY_API_KEY)")
    .option("--json", "print the API's data as JSON");
}

/** `--url`, `--admin-key`, `--json`: what every admin command takes. */
export function withAdminOptions(cmd: Command): Command {
  return cmd
    .option("--url <url>", "the relay's base URL (default: $RELAY_URL or http://127.0.0.1:8080)")
    .option("--admin-key <key>", "the relay's admin key (default: $RELAY_ADMIN_KEY)")
    .option("--json", "print the API's data as JSON");
}

/** An option parser for whole numbers in [min, max]. */
export function wholeNumber(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return Number(value);
  };
}

/** An option parser for ISO 8601 timestamps with a time zone (what the API accepts). */
export function timestamp(value: string): string {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i.test(value) || Number.isNaN(Date.parse(value)))
    throw new InvalidArgumentError("expected an ISO 8601 timestamp with a time zone, e.g. 2026-01-01T00:00:00Z");
  return value;
}

/** `--event a --event b,c` → [a, b, c], each one of the events a watch can subscribe to. */
export function collectEvents(value: string, previous: JobEvent[] = []): JobEvent[] {
  const events = value.split(",").map((e) => e.trim());
  for (const e of events)
    if (!EVENTS.includes(e as JobEvent)) throw new InvalidArgumentError(`expected one of ${EVENTS.join(", ")}`);
  return [...previous, ...(events as JobEvent[])];
}

/** `text` parsed as a JSON object, or undefined when it is not JSON or not an object. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : undefined;
}

export function metadataObject(value: string): Record<string, unknown> {
  const parsed = parseJsonObject(value);
  if (!parsed) throw new InvalidArgumentError('expected a JSON object, e.g. \'{"order_id":"ord_42"}\'');
  return parsed;
}

/** What the API accepts as an Idempotency-Key. */
export function idempotencyKey(value: string): string {
  if (!/^[\x21-\x7e]{1,255}$/.test(value))
    throw new InvalidArgumentError("expected 1 to 255 printable characters without spaces");
  return value;
}
