import { z } from "zod";
import { int, parseEncryptionKey, parsedBy, signingSecretProblem } from "./config-parsers.js";
import { AI_ACTIONS } from "./domain/ai-actions.js";
import { parseScheduleMs } from "./lib/duration.js";
import { parseCallbackAllowlist } from "./security/callback-allowlist.js";
import type { ConfigVariable } from "./config-variable.js";

export type { ConfigVariable };

/**
 * Every environment variable the relay reads, by name, in the order problems are reported. `Config` is
 * derived from this table, `loadConfig` reads it, and a test checks README.md's configuration table against it.
 */
export const CONFIG_VARIABLES = {
  PORT: {
    property: "port",
    default: "8080",
    schema: int(0, 65535),
    doc: "Where the API listens (0 picks a free port).",
  },
  HOST: {
    property: "host",
    default: "0.0.0.0",
    schema: z.string().min(1),
    doc: "The address the API binds to.",
  },
  DATABASE_URL: {
    property: "databaseUrl",
    defaultText: "unset",
    schema: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must start with postgres:// or postgresql://")
      .optional(),
    doc: "`postgres://…` uses Postgres; unset uses embedded PGlite.",
  },
  DATABASE_MIGRATION_URL: {
    property: "databaseMigrationUrl",
    defaultText: "unset (`DATABASE_URL`)",
    schema: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must start with postgres:// or postgresql://")
      .optional(),
    doc: "The same database over a direct connection (not a pooler), for migrations only; unset migrates over DATABASE_URL.",
  },
  DATABASE_PREPARED_STATEMENTS: {
    property: "databasePreparedStatements",
    default: "true",
    schema: z.enum(["true", "false", "1", "0"], { error: "must be true or false" }).transform((v) => v === "true" || v === "1"),
    doc: "`false` turns postgres.js's named prepared statements off: behind PgBouncer before 1.21 in transaction mode, or with max_prepared_statements = 0.",
  },
  RELAY_DATA_DIR: {
    property: "dataDir",
    default: "./.relay-data",
    schema: z.string().min(1),
    doc: "PGlite's directory (`memory://` keeps everything in memory); one process per directory.",
  },
  RENDLEY_API_URL: {
    property: "rendleyApiUrl",
    default: "https://api.rendley.com",
    schema: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).transform((u) => u.replace(/\/+$/, "")),
    doc: "Upstream base, kept without trailing slash; the relay calls `${RENDLEY_API_URL}/v1/jobs/{id}`.",
  },
  RENDLEY_API_KEY: {
    property: "rendleyApiKey",
    defaultText: "**required** (unless `RELAY_ADMIN_KEY` is set)",
    schema: z.string().min(1).optional(),
    doc: "The default tenant's Rendley key, sent as a bearer token upstream; required unless RELAY_ADMIN_KEY is set.",
  },
  RENDLEY_AGENT_URL: {
    property: "rendleyAgentUrl",
    default: "https://mcp.rendley.com",
    schema: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).transform((u) => u.replace(/\/+$/, "")),
    doc: 'The agent service\'s base: agent jobs (`"service": "agent"`) are started and polled there.',
  },
  RENDLEY_AGENT_CANCEL_URL: {
    property: "rendleyAgentCancelUrl",
    defaultText: "unset",
    schema: z
      .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
      .refine((u) => u.includes("%7Bid%7D") || u.includes("{id}"), "must contain {id}")
      .transform((u) => u.replace("%7Bid%7D", "{id}"))
      .optional(),
    doc: "Where an agent job is canceled (POST, `{id}` replaced); unset: `cancel_job` answers `unsupported` for agent watches.",
  },
  RENDLEY_AI_ACTIONS: {
    property: "rendleyAiActions",
    default: AI_ACTIONS.join(","),
    schema: parsedBy((raw) => {
      const actions = [
        ...new Set(
          raw
            .split(",")
            .map((a) => a.trim())
            .filter(Boolean),
        ),
      ];
      const bad = actions.find((a) => !/^[a-z0-9][a-z0-9-]{0,63}$/.test(a));
      if (bad !== undefined) throw new Error(`has ${JSON.stringify(bad)}, not an action name (lower case, digits, dashes)`);
      return actions;
    }),
    doc: "The AI actions `POST /v1/ai/{action}` accepts (comma list); any other answers `404 unknown_action`.",
  },
  RELAY_API_KEY: {
    property: "relayApiKey",
    defaultText: "generated on first start, stored as a SHA-256 hash, printed once",
    schema: z
      .string()
      .regex(/^[\x21-\x7e]{16,256}$/, "must be 16 to 256 printable characters without spaces")
      .optional(),
    doc: "Clients' bearer token on every /v1 route; generated, stored hashed and printed once when unset.",
  },
  RELAY_SIGNING_SECRET: {
    property: "signingSecret",
    defaultText: "generated on first start and stored",
    schema: z
      .string()
      .superRefine((s, ctx) => {
        const problem = signingSecretProblem(s);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional(),
    doc: "`whsec_` + base64 of 24–64 random bytes that signs callbacks; generated and stored when unset.",
  },
  RELAY_CALLBACK_ALLOWLIST: {
    property: "callbackAllowlist",
    default: "",
    defaultText: "empty",
    schema: parsedBy(parseCallbackAllowlist),
    doc: "Comma-separated hosts, host:port or CIDRs callbacks may target despite the private-network block.",
  },
  POLL_MIN_INTERVAL_MS: {
    property: "pollMinIntervalMs",
    default: "1000",
    schema: int(1000, Number.MAX_SAFE_INTEGER, "Rendley: no benefit polling faster than once per second"),
    doc: "Shortest delay between two polls of a job; at least 1000.",
  },
  POLL_MAX_INTERVAL_MS: {
    property: "pollMaxIntervalMs",
    default: "10000",
    schema: int(1000),
    doc: "Longest delay between two polls of a job; not below POLL_MIN_INTERVAL_MS.",
  },
  POLL_CONCURRENCY: {
    property: "pollConcurrency",
    default: "32",
    schema: int(1, 10_000),
    doc: "Upstream requests in flight per process.",
  },
  DELIVERY_CONCURRENCY: {
    property: "deliveryConcurrency",
    default: "64",
    schema: int(1, 10_000),
    doc: "Callback requests in flight per process.",
  },
  DELIVERY_RETRY_SCHEDULE: {
    property: "deliveryRetryScheduleMs",
    default: "5s,5m,30m,2h,5h,10h,14h,20h,24h",
    schema: parsedBy((raw): readonly number[] => Object.freeze(parseScheduleMs(raw))),
    doc: "Delays between attempts after the first, each ±20% jitter (units ms, s, m, h, d; `none` for no retries).",
  },
  DELIVERY_PER_ORIGIN_CONCURRENCY: {
    property: "deliveryPerOriginConcurrency",
    default: "8",
    schema: int(1, 10_000),
    doc: "Callback requests in flight per receiver origin per process.",
  },
  DELIVERY_BREAKER_THRESHOLD: {
    property: "breakerThreshold",
    default: "10",
    schema: int(1, 10_000),
    doc: "Consecutive failures that open an origin's circuit breaker.",
  },
  DELIVERY_BREAKER_COOLDOWN_MS: {
    property: "breakerCooldownMs",
    default: "30000",
    schema: int(100, 86_400_000),
    doc: "How long an open breaker pauses an origin before one probe.",
  },
  RESULT_REFRESH_AFTER_MS: {
    property: "resultRefreshAfterMs",
    default: "300000",
    schema: int(0),
    doc: "A final event whose job was fetched longer ago is re-read before an attempt (fresh result links).",
  },
  RETENTION_DAYS: {
    property: "retentionDays",
    default: "30",
    schema: int(1, 36_500),
    doc: "Finished watches and their attempts older than this are pruned.",
  },
  MAINTENANCE_INTERVAL_MS: {
    property: "maintenanceIntervalMs",
    default: "60000",
    schema: int(1000),
    doc: "How often one relay process prunes.",
  },
  DELIVERY_TIMEOUT_MS: {
    property: "deliveryTimeoutMs",
    default: "15000",
    schema: int(100, 300_000),
    doc: "Whole-request deadline of one callback attempt, body included.",
  },
  UPSTREAM_TIMEOUT_MS: {
    property: "upstreamTimeoutMs",
    default: "10000",
    schema: int(100, 300_000),
    doc: "Whole-request deadline of one upstream call.",
  },
  LEASE_MS: {
    property: "leaseMs",
    default: "15000",
    schema: int(1000),
    doc: "How long a delivery claimed by a process that died blocks others.",
  },
  SUBSCRIPTION_LIST_INTERVAL_MS: {
    property: "subscriptionListIntervalMs",
    default: "10000",
    schema: int(2000, 86_400_000, "the job list is not paged: listing it is not cheap"),
    doc: "How often each distinct subscription filter of a tenant lists Rendley's jobs (`GET /v1/jobs`).",
  },
  SUBSCRIPTION_LIST_MAX_BYTES: {
    property: "subscriptionListMaxBytes",
    default: "16777216",
    schema: int(1024, 1024 * 1024 * 1024),
    doc: "A job list bigger than this is not read (the subscription's `last_error`); discovery resumes on the next listing.",
  },
  SHUTDOWN_UNREADY_MS: {
    property: "shutdownUnreadyMs",
    default: "2000",
    schema: int(0, 60_000),
    doc: "On SIGTERM, how long `/readyz` answers 503 while the API still serves, before the listener closes (so load balancers take the endpoint out first).",
  },
  LOG_LEVEL: {
    property: "logLevel",
    default: "info",
    schema: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
    doc: "trace, debug, info, warn, error, fatal or silent.",
  },
  LOG_FORMAT: {
    property: "logFormat",
    defaultText: "unset: `pretty` on a terminal, else `json`",
    schema: z.enum(["json", "pretty"], { error: "must be json or pretty" }).optional(),
    doc: "`json` or `pretty`; unset picks pretty on a terminal, JSON otherwise.",
  },
  RELAY_METRICS_TOKEN: {
    property: "metricsToken",
    defaultText: "unset (`/metrics` open)",
    schema: z
      .string()
      .regex(/^[\x21-\x7e]{16,256}$/, "must be 16 to 256 printable characters without spaces (e.g. `openssl rand -hex 24`)")
      .optional(),
    doc: "Bearer token GET /metrics requires; unset leaves /metrics open (it carries no secrets).",
  },
  RELAY_ADMIN_KEY: {
    property: "adminKey",
    defaultText: "unset (admin API off)",
    schema: z
      .string()
      .regex(/^[\x21-\x7e]{24,256}$/, "must be 24 to 256 printable characters without spaces (e.g. `openssl rand -base64 32`)")
      .optional(),
    doc: "Bearer token of the admin API (/v1/admin); unset turns the admin API off.",
  },
  RELAY_ENCRYPTION_KEY: {
    property: "encryptionKey",
    defaultText: "unset; required with `RELAY_ADMIN_KEY`",
    schema: parsedBy(parseEncryptionKey).optional(),
    doc: "32 random bytes (base64 or hex) that encrypt tenants' Rendley keys at rest; required with RELAY_ADMIN_KEY.",
  },
  RELAY_REQUIRE_HTTPS: {
    property: "requireHttps",
    default: "false",
    schema: z.enum(["true", "false", "1", "0"], { error: "must be true or false" }).transform((v) => v === "true" || v === "1"),
    doc: "Refuse plain-http callback URLs, at registration and at delivery.",
  },
  RELAY_RATE_LIMIT_RPS: {
    property: "rateLimitRps",
    default: "50",
    schema: int(1, 1_000_000),
    doc: "Requests per second per API key (429 with Retry-After beyond).",
  },
  UPSTREAM_MAX_RPS: {
    property: "upstreamMaxRps",
    defaultText: "unset (unlimited)",
    schema: int(1, 1_000_000).optional(),
    doc: "Rendley requests per second, shared by every relay process; unset is unlimited.",
  },
  RELAY_RATE_LIMIT_BURST: {
    property: "rateLimitBurst",
    default: "100",
    schema: int(1, 1_000_000),
    doc: "Requests an API key may send at once beyond its per-second rate.",
  },
} as const satisfies Record<string, ConfigVariable>;
