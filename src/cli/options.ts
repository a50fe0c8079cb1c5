import { InvalidArgumentError, type Command } from "commander";

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
