import { z } from "zod";
import { ConfigError } from "./errors.js";
import { parseScheduleMs } from "./lib/duration.js";
import { parseCallbackAllowlist, type CallbackAllowlist } from "./security/callback-allowlist.js";

/** Every setting of the relay, validated and frozen. Built once by `loadConfig`, passed down, never read from the environment again. */
export interface Config {
  /** PORT: where the API listens (default 8080; 0 picks a free port). */
  readonly port: number;
  /** HOST (default 0.0.0.0). */
  readonly host: string;
  /** DATABASE_URL: `postgres://…` uses Postgres; unset uses embedded PGlite. */
  readonly databaseUrl: string | undefined;
  /** RELAY_DATA_DIR: PGlite's directory (default ./.relay-data); `memory://` keeps everything in memory. */
  readonly dataDir: string;
  /** RENDLEY_API_URL (default https://api.rendley.com), without trailing slash. */
  readonly rendleyApiUrl: string;
  /**
   * RENDLEY_API_KEY: the default tenant's Rendley key, sent as a bearer token upstream. Required, unless
   * RELAY_ADMIN_KEY is set (several tenants, each with its own key set through the admin API).
   */
  readonly rendleyApiKey: string | undefined;
  /** RELAY_ADMIN_KEY: bearer token of the admin API (/v1/admin); unset turns the admin API off. */
  readonly adminKey: string | undefined;
  /** RELAY_ENCRYPTION_KEY: 32 random bytes (base64 or hex) that encrypt tenants' Rendley keys at rest; required with RELAY_ADMIN_KEY. */
  readonly encryptionKey: Buffer | undefined;
  /** RELAY_REQUIRE_HTTPS (default false): refuse plain-http callback URLs. */
  readonly requireHttps: boolean;
  /** UPSTREAM_MAX_RPS (default unset: unlimited): Rendley requests per second, shared by every relay process. */
  readonly upstreamMaxRps: number | undefined;
  /** RELAY_RATE_LIMIT_RPS (default 50) / RELAY_RATE_LIMIT_BURST (default 100): requests per API key. */
  readonly rateLimitRps: number;
  readonly rateLimitBurst: number;
  /** RELAY_API_KEY: clients' bearer token; generated, stored hashed and printed once when unset. */
  readonly relayApiKey: string | undefined;
  /** RELAY_SIGNING_SECRET: `whsec_` + base64 of 24–64 bytes; generated and stored when unset. */
  readonly signingSecret: string | undefined;
  /** RELAY_CALLBACK_ALLOWLIST: hosts, host:port or CIDRs callbacks may target despite the private-network block. */
  readonly callbackAllowlist: CallbackAllowlist;
  /** POLL_MIN_INTERVAL_MS (default 1000, at least 1000) / POLL_MAX_INTERVAL_MS (default 10000). */
  readonly pollMinIntervalMs: number;
  readonly pollMaxIntervalMs: number;
  /** POLL_CONCURRENCY (default 32): upstream requests in flight per process. */
  readonly pollConcurrency: number;
  /** DELIVERY_CONCURRENCY (default 64): callback requests in flight per process. */
  readonly deliveryConcurrency: number;
  /** DELIVERY_RETRY_SCHEDULE (default 5s,5m,30m,2h,5h,10h,14h,20h,24h): delays between attempts after the first, each ±20% jitter. */
  readonly deliveryRetryScheduleMs: readonly number[];
  /** DELIVERY_PER_ORIGIN_CONCURRENCY (default 8): callback requests in flight per receiver origin per process. */
  readonly deliveryPerOriginConcurrency: number;
  /** DELIVERY_BREAKER_THRESHOLD (default 10): consecutive failures that open an origin's circuit breaker. */
  readonly breakerThreshold: number;
  /** DELIVERY_BREAKER_COOLDOWN_MS (default 30000): how long an open breaker pauses an origin before one probe. */
  readonly breakerCooldownMs: number;
  /** RESULT_REFRESH_AFTER_MS (default 300000): a final event older than this is re-read before an attempt (fresh result links). */
  readonly resultRefreshAfterMs: number;
  /** RETENTION_DAYS (default 30): finished watches and their attempts older than this are pruned. */
  readonly retentionDays: number;
  /** MAINTENANCE_INTERVAL_MS (default 60000): how often one relay process prunes. */
  readonly maintenanceIntervalMs: number;
  /** DELIVERY_TIMEOUT_MS (default 15000): whole-request deadline of one callback attempt. */
  readonly deliveryTimeoutMs: number;
  /** UPSTREAM_TIMEOUT_MS (default 10000): whole-request deadline of one upstream call. */
  readonly upstreamTimeoutMs: number;
  /** LEASE_MS (default 15000): how long a claim held by a process that died blocks others. */
  readonly leaseMs: number;
  /** LOG_LEVEL (default info): trace, debug, info, warn, error, fatal or silent. */
  readonly logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
  /** LOG_FORMAT (default unset: pretty on a terminal, JSON otherwise): `json` or `pretty` to choose. */
  readonly logFormat: "json" | "pretty" | undefined;
  /** RELAY_METRICS_TOKEN: bearer token GET /metrics requires; unset leaves /metrics open (it carries no secrets). */
  readonly metricsToken: string | undefined;
}

const DEFAULTS = {
  PORT: "8080",
  HOST: "0.0.0.0",
  RELAY_DATA_DIR: "./.relay-data",
  RENDLEY_API_URL: "https://api.rendley.com",
  RELAY_CALLBACK_ALLOWLIST: "",
  POLL_MIN_INTERVAL_MS: "1000",
  POLL_MAX_INTERVAL_MS: "10000",
  POLL_CONCURRENCY: "32",
  DELIVERY_CONCURRENCY: "64",
  DELIVERY_RETRY_SCHEDULE: "5s,5m,30m,2h,5h,10h,14h,20h,24h",
  DELIVERY_PER_ORIGIN_CONCURRENCY: "8",
  DELIVERY_BREAKER_THRESHOLD: "10",
  DELIVERY_BREAKER_COOLDOWN_MS: "30000",
  RESULT_REFRESH_AFTER_MS: "300000",
  RETENTION_DAYS: "30",
  MAINTENANCE_INTERVAL_MS: "60000",
  DELIVERY_TIMEOUT_MS: "15000",
  UPSTREAM_TIMEOUT_MS: "10000",
  LEASE_MS: "15000",
  LOG_LEVEL: "info",
  RELAY_REQUIRE_HTTPS: "false",
  RELAY_RATE_LIMIT_RPS: "50",
  RELAY_RATE_LIMIT_BURST: "100",
} as const;

/** 32 bytes, given as base64 (44 chars) or hex (64 chars). */
function parseEncryptionKey(raw: string): Buffer | undefined {
  const bytes = /^[0-9a-f]{64}$/i.test(raw) ? Buffer.from(raw, "hex") : Buffer.from(raw, "base64");
  return bytes.length === 32 && (/^[0-9a-f]{64}$/i.test(raw) || bytes.toString("base64") === raw) ? bytes : undefined;
}

const SIGNING_SECRET_HINT =
  "it must be `whsec_` followed by the base64 of 24 to 64 random bytes (e.g. `whsec_$(openssl rand -base64 32)`)";

/** Checks a Standard Webhooks secret; returns the problem or undefined. */
export function signingSecretProblem(secret: string): string | undefined {
  if (!secret.startsWith("whsec_")) return `does not start with whsec_; ${SIGNING_SECRET_HINT}`;
  const b64 = secret.slice("whsec_".length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || Buffer.from(b64, "base64").toString("base64") !== b64) {
    return `is not valid base64 after whsec_; ${SIGNING_SECRET_HINT}`;
  }
  const bytes = Buffer.from(b64, "base64").length;
  if (bytes < 24 || bytes > 64) return `decodes to ${bytes} bytes; ${SIGNING_SECRET_HINT}`;
  return undefined;
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const schema = z.object({
  PORT: int(0, 65535),
  HOST: z.string().min(1),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must start with postgres:// or postgresql://")
    .optional(),
  RELAY_DATA_DIR: z.string().min(1),
  RENDLEY_API_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).transform((u) => u.replace(/\/+$/, "")),
  RENDLEY_API_KEY: z.string().min(1).optional(),
  RELAY_API_KEY: z
    .string()
    .regex(/^[\x21-\x7e]{16,256}$/, "must be 16 to 256 printable characters without spaces")
    .optional(),
  RELAY_SIGNING_SECRET: z
    .string()
    .superRefine((s, ctx) => {
      const problem = signingSecretProblem(s);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  RELAY_CALLBACK_ALLOWLIST: z.string().transform((raw, ctx) => {
    try {
      return parseCallbackAllowlist(raw);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  }),
  POLL_MIN_INTERVAL_MS: int(1000),
  POLL_MAX_INTERVAL_MS: int(1000),
  POLL_CONCURRENCY: int(1, 10_000),
  DELIVERY_CONCURRENCY: int(1, 10_000),
  DELIVERY_RETRY_SCHEDULE: z.string().transform((raw, ctx) => {
    try {
      return parseScheduleMs(raw);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  }),
  DELIVERY_PER_ORIGIN_CONCURRENCY: int(1, 10_000),
  DELIVERY_BREAKER_THRESHOLD: int(1, 10_000),
  DELIVERY_BREAKER_COOLDOWN_MS: int(100, 86_400_000),
  RESULT_REFRESH_AFTER_MS: int(0),
  RETENTION_DAYS: int(1, 36_500),
  MAINTENANCE_INTERVAL_MS: int(1000),
  DELIVERY_TIMEOUT_MS: int(100, 300_000),
  UPSTREAM_TIMEOUT_MS: int(100, 300_000),
  LEASE_MS: int(1000),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
  LOG_FORMAT: z.enum(["json", "pretty"], { error: "must be json or pretty" }).optional(),
  RELAY_METRICS_TOKEN: z
    .string()
    .regex(/^[\x21-\x7e]{16,256}$/, "must be 16 to 256 printable characters without spaces (e.g. `openssl rand -hex 24`)")
    .optional(),
  RELAY_ADMIN_KEY: z
    .string()
    .regex(/^[\x21-\x7e]{24,256}$/, "must be 24 to 256 printable characters without spaces (e.g. `openssl rand -base64 32`)")
    .optional(),
  RELAY_ENCRYPTION_KEY: z
    .string()
    .transform((raw, ctx) => {
      const key = parseEncryptionKey(raw);
      if (!key)
        ctx.addIssue({ code: "custom", message: "must be 32 random bytes as base64 or hex (e.g. `openssl rand -base64 32`)" });
      return key ?? z.NEVER;
    })
    .optional(),
  RELAY_REQUIRE_HTTPS: z
    .enum(["true", "false", "1", "0"], { error: "must be true or false" })
    .transform((v) => v === "true" || v === "1"),
  RELAY_RATE_LIMIT_RPS: int(1, 1_000_000),
  UPSTREAM_MAX_RPS: int(1, 1_000_000).optional(),
  RELAY_RATE_LIMIT_BURST: int(1, 1_000_000),
});

/** Checks between variables, run on the raw values so they are reported next to any other problem. */
function crossFieldProblems(input: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const min = Number(input.POLL_MIN_INTERVAL_MS);
  const max = Number(input.POLL_MAX_INTERVAL_MS);
  if (Number.isInteger(min) && Number.isInteger(max) && max < min)
    problems.push("POLL_MAX_INTERVAL_MS must not be below POLL_MIN_INTERVAL_MS");
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
 * Empty strings count as unset.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string | undefined> = { ...DEFAULTS };
  for (const key of [
    ...Object.keys(DEFAULTS),
    "DATABASE_URL",
    "RENDLEY_API_KEY",
    "RELAY_API_KEY",
    "RELAY_SIGNING_SECRET",
    "RELAY_ADMIN_KEY",
    "RELAY_ENCRYPTION_KEY",
    "UPSTREAM_MAX_RPS",
    "LOG_FORMAT",
    "RELAY_METRICS_TOKEN",
  ]) {
    const value = env[key];
    if (value !== undefined && value.trim() !== "") input[key] = value.trim();
  }
  const parsed = schema.safeParse(input);
  const problems = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((issue) => {
          const name = String(issue.path[0] ?? "environment");
          if (issue.message.startsWith(name) || issue.message.startsWith(`invalid ${name}`)) return issue.message;
          return name === "POLL_MIN_INTERVAL_MS" && issue.code === "too_small"
            ? `${name} ${issue.message} (Rendley: no benefit polling faster than once per second)`
            : `${name} ${issue.message}`;
        })),
    ...crossFieldProblems(input),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.RELAY_DATA_DIR,
    rendleyApiUrl: e.RENDLEY_API_URL,
    rendleyApiKey: e.RENDLEY_API_KEY,
    relayApiKey: e.RELAY_API_KEY,
    signingSecret: e.RELAY_SIGNING_SECRET,
    callbackAllowlist: e.RELAY_CALLBACK_ALLOWLIST,
    pollMinIntervalMs: e.POLL_MIN_INTERVAL_MS,
    pollMaxIntervalMs: e.POLL_MAX_INTERVAL_MS,
    pollConcurrency: e.POLL_CONCURRENCY,
    deliveryConcurrency: e.DELIVERY_CONCURRENCY,
    deliveryRetryScheduleMs: Object.freeze(e.DELIVERY_RETRY_SCHEDULE),
    deliveryPerOriginConcurrency: e.DELIVERY_PER_ORIGIN_CONCURRENCY,
    breakerThreshold: e.DELIVERY_BREAKER_THRESHOLD,
    breakerCooldownMs: e.DELIVERY_BREAKER_COOLDOWN_MS,
    resultRefreshAfterMs: e.RESULT_REFRESH_AFTER_MS,
    retentionDays: e.RETENTION_DAYS,
    maintenanceIntervalMs: e.MAINTENANCE_INTERVAL_MS,
    deliveryTimeoutMs: e.DELIVERY_TIMEOUT_MS,
    upstreamTimeoutMs: e.UPSTREAM_TIMEOUT_MS,
    leaseMs: e.LEASE_MS,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    metricsToken: e.RELAY_METRICS_TOKEN,
    adminKey: e.RELAY_ADMIN_KEY,
    encryptionKey: e.RELAY_ENCRYPTION_KEY,
    requireHttps: e.RELAY_REQUIRE_HTTPS,
    rateLimitRps: e.RELAY_RATE_LIMIT_RPS,
    upstreamMaxRps: e.UPSTREAM_MAX_RPS,
    rateLimitBurst: e.RELAY_RATE_LIMIT_BURST,
  });
}
