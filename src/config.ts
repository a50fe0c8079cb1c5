import { z } from "zod";
import { CONFIG_VARIABLES, type ConfigVariable } from "./config-variables.js";
import { processEnv } from "./environment.js";
import { ConfigError } from "./errors.js";

export { signingSecretProblem } from "./config-parsers.js";

type Variables = typeof CONFIG_VARIABLES;

/**
 * Every setting of the relay, validated and frozen. Built once by `loadConfig`, passed down, never read
 * from the environment again. One property per entry of `CONFIG_VARIABLES` (src/config-variables.ts,
 * where each is documented), typed by what that entry's schema outputs.
 */
export type Config = {
  readonly [Name in keyof Variables as Variables[Name]["property"]]: z.output<Variables[Name]["schema"]>;
};

const VARIABLES: readonly (readonly [name: string, variable: ConfigVariable])[] = Object.entries(CONFIG_VARIABLES);

const schema = z.object(Object.fromEntries(VARIABLES.map(([name, variable]) => [name, variable.schema])));

/** Checks between variables, run on the raw values so they are reported next to any other problem. */
function crossFieldProblems(input: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const min = Number(input.POLL_MIN_INTERVAL_MS);
  const max = Number(input.POLL_MAX_INTERVAL_MS);
  if (Number.isInteger(min) && Number.isInteger(max) && max < min)
    problems.push("POLL_MAX_INTERVAL_MS must not be below POLL_MIN_INTERVAL_MS");
  if (input.DATABASE_MIGRATION_URL && !input.DATABASE_URL) {
    problems.push("DATABASE_MIGRATION_URL needs DATABASE_URL: it is the same Postgres database over a direct connection");
  }
  if (!input.RENDLEY_API_KEY && !input.RELAY_ADMIN_KEY) {
    problems.push("RENDLEY_API_KEY is required: set it to your Rendley API key, e.g. `RENDLEY_API_KEY=<your key> npm start`");
  }
  if (input.RELAY_ADMIN_KEY && !input.RELAY_ENCRYPTION_KEY) {
    problems.push(
      "RELAY_ENCRYPTION_KEY is required with RELAY_ADMIN_KEY: tenants' Rendley keys are encrypted with it (`openssl rand -base64 32`)",
    );
  }
  return problems;
}

/**
 * Reads and validates the relay's settings. Pure: it takes the environment as an argument and
 * throws one ConfigError listing every problem, each naming its variable; only `main` exits.
 * Values are trimmed; empty strings count as unset.
 */
export function loadConfig(env: Record<string, string | undefined> = processEnv()): Config {
  const input: Record<string, string | undefined> = {};
  for (const [name, variable] of VARIABLES) {
    const value = env[name]?.trim();
    input[name] = value ? value : variable.default;
  }
  const parsed = schema.safeParse(input);
  const problems = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((issue) => {
          const name = String(issue.path[0] ?? "environment");
          if (issue.message.startsWith(name) || issue.message.startsWith(`invalid ${name}`)) return issue.message;
          return `${name} ${issue.message}`;
        })),
    ...crossFieldProblems(input),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const values = parsed.data as Record<string, unknown>;
  // The casts are sound: each property takes its own variable's schema output, which is how `Config` is derived.
  return Object.freeze(Object.fromEntries(VARIABLES.map(([name, variable]) => [variable.property, values[name]]))) as Config;
}
