import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES, type ConfigVariable } from "../../src/config-variables.js";
import { loadConfig, signingSecretProblem, type Config } from "../../src/config.js";
import { ConfigError } from "../../src/errors.js";

const REQUIRED = { RENDLEY_API_KEY: "rk_test_123" };

/** A `whsec_` secret decoding to exactly `bytes` bytes (canonical, padded base64). */
const secretOf = (bytes: number): string => `whsec_${Buffer.alloc(bytes, 0xab).toString("base64")}`;

/** Runs loadConfig expecting a ConfigError; returns its problems. */
function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("loadConfig", () => {
  describe("defaults (only RENDLEY_API_KEY set)", () => {
    const config = loadConfig({ ...REQUIRED });

    it.each<[keyof Config, unknown]>([
      ["port", 8080],
      ["host", "0.0.0.0"],
      ["databaseUrl", undefined],
      ["databaseMigrationUrl", undefined],
      ["databasePreparedStatements", true],
      ["dataDir", "./.relay-data"],
      ["rendleyApiUrl", "https://api.rendley.com"],
      ["rendleyApiKey", "rk_test_123"],
      ["relayApiKey", undefined],
      ["signingSecret", undefined],
      ["pollMinIntervalMs", 1000],
      ["pollMaxIntervalMs", 10_000],
      ["pollConcurrency", 32],
      ["deliveryConcurrency", 64],
      [
        "deliveryRetryScheduleMs",
        [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000],
      ],
      ["deliveryPerOriginConcurrency", 8],
      ["breakerThreshold", 10],
      ["breakerCooldownMs", 30_000],
      ["resultRefreshAfterMs", 300_000],
      ["retentionDays", 30],
      ["maintenanceIntervalMs", 60_000],
      ["deliveryTimeoutMs", 15_000],
      ["upstreamTimeoutMs", 10_000],
      ["leaseMs", 15_000],
      ["logLevel", "info"],
      ["logFormat", undefined],
      ["metricsToken", undefined],
      ["rendleyAgentUrl", "https://mcp.rendley.com"],
      ["rendleyAgentCancelUrl", undefined],
      ["subscriptionListIntervalMs", 10_000],
      ["subscriptionListMaxBytes", 16 * 1024 * 1024],
    ])("%s defaults to %j", (key, expected) => {
      expect(config[key]).toStrictEqual(expected);
    });

    it("has exactly the documented fields", () => {
      expect(Object.keys(config).sort()).toEqual(
        [
          "port",
          "host",
          "databaseUrl",
          "databaseMigrationUrl",
          "databasePreparedStatements",
          "dataDir",
          "rendleyApiUrl",
          "rendleyApiKey",
          "relayApiKey",
          "signingSecret",
          "callbackAllowlist",
          "pollMinIntervalMs",
          "pollMaxIntervalMs",
          "pollConcurrency",
          "deliveryConcurrency",
          "deliveryRetryScheduleMs",
          "deliveryPerOriginConcurrency",
          "breakerThreshold",
          "breakerCooldownMs",
          "resultRefreshAfterMs",
          "retentionDays",
          "maintenanceIntervalMs",
          "deliveryTimeoutMs",
          "upstreamTimeoutMs",
          "leaseMs",
          "logLevel",
          "logFormat",
          "metricsToken",
          "adminKey",
          "encryptionKey",
          "requireHttps",
          "rateLimitRps",
          "rateLimitBurst",
          "upstreamMaxRps",
          "rendleyAgentUrl",
          "rendleyAgentCancelUrl",
          "rendleyAiActions",
          "subscriptionListIntervalMs",
          "subscriptionListMaxBytes",
          "shutdownUnreadyMs",
        ].sort(),
      );
    });

    it("has an empty callback allowlist that allows nothing", () => {
      expect(config.callbackAllowlist.entries).toEqual([]);
      expect(config.callbackAllowlist.allowsHost("localhost", 80)).toBe(false);
      expect(config.callbackAllowlist.allowsAddress("10.0.0.1", 80)).toBe(false);
    });

    it("is frozen, schedule included", () => {
      expect(Object.isFrozen(config)).toBe(true);
      expect(Object.isFrozen(config.deliveryRetryScheduleMs)).toBe(true);
      expect(() => {
        (config as { port: number }).port = 1;
      }).toThrow(TypeError);
      expect(() => {
        (config.deliveryRetryScheduleMs as number[]).push(1);
      }).toThrow(TypeError);
      expect(config.port).toBe(8080);
      expect(config.deliveryRetryScheduleMs).toHaveLength(9);
    });
  });

  describe("values that are read", () => {
    it.each<[string, Record<string, string>, keyof Config, unknown]>([
      ["PORT", { PORT: "9000" }, "port", 9000],
      ["PORT 0 (free port)", { PORT: "0" }, "port", 0],
      ["PORT 65535", { PORT: "65535" }, "port", 65535],
      ["PORT trimmed", { PORT: " 9001 " }, "port", 9001],
      ["HOST", { HOST: "127.0.0.1" }, "host", "127.0.0.1"],
      ["DATABASE_URL postgres://", { DATABASE_URL: "postgres://u:p@db/relay" }, "databaseUrl", "postgres://u:p@db/relay"],
      ["DATABASE_URL postgresql://", { DATABASE_URL: "postgresql://db/relay" }, "databaseUrl", "postgresql://db/relay"],
      [
        "DATABASE_MIGRATION_URL",
        { DATABASE_URL: "postgres://u:p@pgbouncer:6432/relay", DATABASE_MIGRATION_URL: "postgres://u:p@db:5432/relay" },
        "databaseMigrationUrl",
        "postgres://u:p@db:5432/relay",
      ],
      ["DATABASE_PREPARED_STATEMENTS false", { DATABASE_PREPARED_STATEMENTS: "false" }, "databasePreparedStatements", false],
      ["DATABASE_PREPARED_STATEMENTS 0", { DATABASE_PREPARED_STATEMENTS: "0" }, "databasePreparedStatements", false],
      ["DATABASE_PREPARED_STATEMENTS true", { DATABASE_PREPARED_STATEMENTS: "true" }, "databasePreparedStatements", true],
      ["RELAY_DATA_DIR memory://", { RELAY_DATA_DIR: "memory://" }, "dataDir", "memory://"],
      ["RENDLEY_API_URL without slash", { RENDLEY_API_URL: "http://localhost:9000" }, "rendleyApiUrl", "http://localhost:9000"],
      [
        "RENDLEY_API_URL trailing slash",
        { RENDLEY_API_URL: "https://api.example.com/" },
        "rendleyApiUrl",
        "https://api.example.com",
      ],
      [
        "RENDLEY_API_URL path + slashes",
        { RENDLEY_API_URL: "http://localhost:9000/base//" },
        "rendleyApiUrl",
        "http://localhost:9000/base",
      ],
      ["POLL_MIN_INTERVAL_MS 1000 (boundary)", { POLL_MIN_INTERVAL_MS: "1000" }, "pollMinIntervalMs", 1000],
      ["POLL_MAX equal to MIN", { POLL_MIN_INTERVAL_MS: "5000", POLL_MAX_INTERVAL_MS: "5000" }, "pollMaxIntervalMs", 5000],
      ["POLL_CONCURRENCY 1 (boundary)", { POLL_CONCURRENCY: "1" }, "pollConcurrency", 1],
      ["DELIVERY_CONCURRENCY", { DELIVERY_CONCURRENCY: "10000" }, "deliveryConcurrency", 10_000],
      ["DELIVERY_RETRY_SCHEDULE", { DELIVERY_RETRY_SCHEDULE: "250ms,1s,1m" }, "deliveryRetryScheduleMs", [250, 1000, 60_000]],
      ["DELIVERY_RETRY_SCHEDULE none", { DELIVERY_RETRY_SCHEDULE: "none" }, "deliveryRetryScheduleMs", []],
      ["LOG_LEVEL", { LOG_LEVEL: "silent" }, "logLevel", "silent"],
      ["LOG_FORMAT json", { LOG_FORMAT: "json" }, "logFormat", "json"],
      ["LOG_FORMAT pretty", { LOG_FORMAT: "pretty" }, "logFormat", "pretty"],
      ["RELAY_METRICS_TOKEN", { RELAY_METRICS_TOKEN: "m".repeat(16) }, "metricsToken", "m".repeat(16)],
      ["RELAY_API_KEY 16 chars", { RELAY_API_KEY: "a".repeat(16) }, "relayApiKey", "a".repeat(16)],
      ["RELAY_API_KEY 256 chars", { RELAY_API_KEY: "b".repeat(256) }, "relayApiKey", "b".repeat(256)],
      ["RELAY_SIGNING_SECRET 24 bytes", { RELAY_SIGNING_SECRET: secretOf(24) }, "signingSecret", secretOf(24)],
      ["RELAY_SIGNING_SECRET 64 bytes", { RELAY_SIGNING_SECRET: secretOf(64) }, "signingSecret", secretOf(64)],
    ])("%s", (_label, env, key, expected) => {
      expect(loadConfig({ ...REQUIRED, ...env })[key]).toStrictEqual(expected);
    });

    it("parses RELAY_CALLBACK_ALLOWLIST", () => {
      const config = loadConfig({ ...REQUIRED, RELAY_CALLBACK_ALLOWLIST: " 10.0.0.0/8 , receiver.internal:8443 " });
      expect(config.callbackAllowlist.entries).toEqual(["10.0.0.0/8", "receiver.internal:8443"]);
      expect(config.callbackAllowlist.allowsAddress("10.1.2.3", 443)).toBe(true);
      expect(config.callbackAllowlist.allowsHost("receiver.internal", 8443)).toBe(true);
      expect(config.callbackAllowlist.allowsHost("receiver.internal", 443)).toBe(false);
    });
  });

  describe("empty strings count as unset", () => {
    it.each<[string, keyof Config, unknown]>([
      ["PORT", "port", 8080],
      ["HOST", "host", "0.0.0.0"],
      ["DATABASE_URL", "databaseUrl", undefined],
      ["RELAY_DATA_DIR", "dataDir", "./.relay-data"],
      ["RENDLEY_API_URL", "rendleyApiUrl", "https://api.rendley.com"],
      ["RELAY_API_KEY", "relayApiKey", undefined],
      ["RELAY_SIGNING_SECRET", "signingSecret", undefined],
      ["POLL_MIN_INTERVAL_MS", "pollMinIntervalMs", 1000],
      [
        "DELIVERY_RETRY_SCHEDULE",
        "deliveryRetryScheduleMs",
        [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000],
      ],
      ["LOG_LEVEL", "logLevel", "info"],
      ["LOG_FORMAT", "logFormat", undefined],
      ["RELAY_METRICS_TOKEN", "metricsToken", undefined],
    ])("%s", (name, key, expected) => {
      expect(loadConfig({ ...REQUIRED, [name]: "" })[key]).toStrictEqual(expected);
      expect(loadConfig({ ...REQUIRED, [name]: "   " })[key]).toStrictEqual(expected);
    });

    it("an empty RENDLEY_API_KEY is missing", () => {
      expect(problemsOf({ RENDLEY_API_KEY: "" })).toEqual([expect.stringMatching(/^RENDLEY_API_KEY is required/)]);
      expect(problemsOf({ RENDLEY_API_KEY: "  " })).toEqual([expect.stringMatching(/^RENDLEY_API_KEY is required/)]);
    });
  });

  describe("invalid values", () => {
    // [label, env, variable the single problem must name, fragment it must contain]
    it.each<[string, Record<string, string>, string, string]>([
      ["PORT not a number", { PORT: "abc" }, "PORT", "whole number"],
      ["PORT negative", { PORT: "-1" }, "PORT", "whole number"],
      ["PORT above 65535", { PORT: "70000" }, "PORT", "at most 65535"],
      ["PORT 65536", { PORT: "65536" }, "PORT", "at most 65535"],
      ["POLL_MIN_INTERVAL_MS 999", { POLL_MIN_INTERVAL_MS: "999" }, "POLL_MIN_INTERVAL_MS", "once per second"],
      [
        "POLL_MAX below MIN",
        { POLL_MIN_INTERVAL_MS: "5000", POLL_MAX_INTERVAL_MS: "4999" },
        "POLL_MAX_INTERVAL_MS",
        "must not be below POLL_MIN_INTERVAL_MS",
      ],
      ["POLL_CONCURRENCY 0", { POLL_CONCURRENCY: "0" }, "POLL_CONCURRENCY", "at least 1"],
      ["DELIVERY_CONCURRENCY 10001", { DELIVERY_CONCURRENCY: "10001" }, "DELIVERY_CONCURRENCY", "at most 10000"],
      [
        "DELIVERY_RETRY_SCHEDULE without unit",
        { DELIVERY_RETRY_SCHEDULE: "5" },
        "DELIVERY_RETRY_SCHEDULE",
        '"5" is not a duration',
      ],
      [
        "DELIVERY_RETRY_SCHEDULE empty entry",
        { DELIVERY_RETRY_SCHEDULE: "5s,,5m" },
        "DELIVERY_RETRY_SCHEDULE",
        '"" is not a duration',
      ],
      ["DELIVERY_TIMEOUT_MS 99", { DELIVERY_TIMEOUT_MS: "99" }, "DELIVERY_TIMEOUT_MS", "at least 100"],
      ["LEASE_MS 999", { LEASE_MS: "999" }, "LEASE_MS", "at least 1000"],
      ["DATABASE_URL mysql", { DATABASE_URL: "mysql://x" }, "DATABASE_URL", "postgres://"],
      [
        "DATABASE_MIGRATION_URL mysql",
        { DATABASE_URL: "postgres://db/relay", DATABASE_MIGRATION_URL: "mysql://x" },
        "DATABASE_MIGRATION_URL",
        "postgres://",
      ],
      [
        "DATABASE_MIGRATION_URL without DATABASE_URL",
        { DATABASE_MIGRATION_URL: "postgres://db/relay" },
        "DATABASE_MIGRATION_URL",
        "needs DATABASE_URL",
      ],
      [
        "DATABASE_PREPARED_STATEMENTS off",
        { DATABASE_PREPARED_STATEMENTS: "off" },
        "DATABASE_PREPARED_STATEMENTS",
        "true or false",
      ],
      ["RENDLEY_API_URL ftp", { RENDLEY_API_URL: "ftp://x" }, "RENDLEY_API_URL", "http(s) URL"],
      ["RENDLEY_API_URL not a URL", { RENDLEY_API_URL: "api.rendley.com" }, "RENDLEY_API_URL", "http(s) URL"],
      ["RELAY_API_KEY 15 chars", { RELAY_API_KEY: "a".repeat(15) }, "RELAY_API_KEY", "16 to 256 printable characters"],
      ["RELAY_API_KEY 257 chars", { RELAY_API_KEY: "a".repeat(257) }, "RELAY_API_KEY", "16 to 256 printable characters"],
      ["RELAY_API_KEY with a space", { RELAY_API_KEY: "abcdefgh ijklmnop" }, "RELAY_API_KEY", "without spaces"],
      [
        "RELAY_SIGNING_SECRET without prefix",
        { RELAY_SIGNING_SECRET: Buffer.alloc(32).toString("base64") },
        "RELAY_SIGNING_SECRET",
        "does not start with whsec_",
      ],
      [
        "RELAY_SIGNING_SECRET bad base64",
        { RELAY_SIGNING_SECRET: "whsec_not*base64!" },
        "RELAY_SIGNING_SECRET",
        "not valid base64",
      ],
      ["RELAY_SIGNING_SECRET 16 bytes", { RELAY_SIGNING_SECRET: secretOf(16) }, "RELAY_SIGNING_SECRET", "decodes to 16 bytes"],
      ["RELAY_SIGNING_SECRET 65 bytes", { RELAY_SIGNING_SECRET: secretOf(65) }, "RELAY_SIGNING_SECRET", "decodes to 65 bytes"],
      ["LOG_LEVEL loud", { LOG_LEVEL: "loud" }, "LOG_LEVEL", "silent"],
      ["LOG_FORMAT text", { LOG_FORMAT: "text" }, "LOG_FORMAT", "must be json or pretty"],
      ["RELAY_METRICS_TOKEN 15 chars", { RELAY_METRICS_TOKEN: "m".repeat(15) }, "RELAY_METRICS_TOKEN", "16 to 256 printable"],
      ["RELAY_METRICS_TOKEN with a space", { RELAY_METRICS_TOKEN: "abcdefgh ijklmnop" }, "RELAY_METRICS_TOKEN", "without spaces"],
    ])("%s", (_label, env, variable, fragment) => {
      const problems = problemsOf({ ...REQUIRED, ...env });
      expect(problems).toHaveLength(1);
      expect(problems[0]!.startsWith(`${variable} `)).toBe(true);
      expect(problems[0]).toContain(fragment);
    });

    it("POLL_MIN_INTERVAL_MS below 1000 explains why, exactly", () => {
      expect(problemsOf({ ...REQUIRED, POLL_MIN_INTERVAL_MS: "999" })).toEqual([
        "POLL_MIN_INTERVAL_MS must be at least 1000 (Rendley: no benefit polling faster than once per second)",
      ]);
    });

    it("POLL_MAX_INTERVAL_MS 999 is too small and below the default minimum, without the once-per-second note", () => {
      expect(problemsOf({ ...REQUIRED, POLL_MAX_INTERVAL_MS: "999" })).toEqual([
        "POLL_MAX_INTERVAL_MS must be at least 1000",
        "POLL_MAX_INTERVAL_MS must not be below POLL_MIN_INTERVAL_MS",
      ]);
    });

    it("a bad allowlist entry names the variable once", () => {
      const problems = problemsOf({ ...REQUIRED, RELAY_CALLBACK_ALLOWLIST: "10.0.0.0/8,10.0.0.0/99" });
      expect(problems).toEqual(['invalid RELAY_CALLBACK_ALLOWLIST entry "10.0.0.0/99": the prefix length must be 0 to 32']);
      expect(problems[0]!.split("RELAY_CALLBACK_ALLOWLIST")).toHaveLength(2);
    });

    it("missing RENDLEY_API_KEY says how to set it", () => {
      const problems = problemsOf({});
      expect(problems).toEqual([
        "RENDLEY_API_KEY is required: set it to your Rendley API key, e.g. `RENDLEY_API_KEY=<your key> npm start`",
      ]);
    });

    it("reports several problems at once, each naming its variable", () => {
      const problems = problemsOf({
        PORT: "abc",
        POLL_CONCURRENCY: "0",
        DELIVERY_RETRY_SCHEDULE: "5",
        DATABASE_URL: "mysql://x",
        LOG_LEVEL: "loud",
      });
      expect(problems).toHaveLength(6);
      for (const variable of [
        "RENDLEY_API_KEY",
        "PORT",
        "POLL_CONCURRENCY",
        "DELIVERY_RETRY_SCHEDULE",
        "DATABASE_URL",
        "LOG_LEVEL",
      ]) {
        expect(problems.filter((p) => p.startsWith(`${variable} `))).toHaveLength(1);
      }
    });

    it("the ConfigError message lists every problem", () => {
      let error: unknown;
      try {
        loadConfig({ PORT: "abc" });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).name).toBe("ConfigError");
      expect((error as Error).message).toBe(
        "invalid configuration:\n  - PORT must be a whole number\n" +
          "  - RENDLEY_API_KEY is required: set it to your Rendley API key, e.g. `RENDLEY_API_KEY=<your key> npm start`",
      );
    });

    it("POLL_MAX below MIN is reported together with a bad PORT", () => {
      const problems = problemsOf({ ...REQUIRED, PORT: "abc", POLL_MIN_INTERVAL_MS: "5000", POLL_MAX_INTERVAL_MS: "2000" });
      expect(problems).toEqual(["PORT must be a whole number", "POLL_MAX_INTERVAL_MS must not be below POLL_MIN_INTERVAL_MS"]);
    });

    // Source bug: the cross-field check is an object-level zod superRefine, which zod skips whenever a field
    // failed with an aborting issue (an enum mismatch, a missing value, a transform returning z.NEVER). So
    // "POLL_MAX below MIN" only surfaces on the next run, although the JSDoc promises one ConfigError
    // "listing every problem".
    it("reports POLL_MAX below MIN next to an enum, schedule, allowlist or missing-key problem", () => {
      const others: Record<string, Record<string, string | undefined>> = {
        "LOG_LEVEL=loud": { ...REQUIRED, LOG_LEVEL: "loud" },
        "DELIVERY_RETRY_SCHEDULE=5": { ...REQUIRED, DELIVERY_RETRY_SCHEDULE: "5" },
        "RELAY_CALLBACK_ALLOWLIST=10.0.0.0/99": { ...REQUIRED, RELAY_CALLBACK_ALLOWLIST: "10.0.0.0/99" },
        "RENDLEY_API_KEY missing": {},
      };
      const hiddenBy = Object.entries(others)
        .filter(([, env]) => {
          const problems = problemsOf({ ...env, POLL_MIN_INTERVAL_MS: "5000", POLL_MAX_INTERVAL_MS: "2000" });
          return !problems.includes("POLL_MAX_INTERVAL_MS must not be below POLL_MIN_INTERVAL_MS");
        })
        .map(([label]) => label);
      expect(hiddenBy, "POLL_MAX < MIN problem missing when combined with").toEqual([]);
    });
  });
});

describe("signingSecretProblem", () => {
  it.each([
    ["24 bytes", secretOf(24)],
    ["32 bytes", secretOf(32)],
    ["64 bytes", secretOf(64)],
    ["25 bytes (padded)", secretOf(25)],
  ])("accepts %s", (_label, secret) => {
    expect(signingSecretProblem(secret)).toBeUndefined();
  });

  it.each([
    ["no prefix", Buffer.alloc(32).toString("base64"), "does not start with whsec_"],
    ["wrong prefix case", `WHSEC_${Buffer.alloc(32).toString("base64")}`, "does not start with whsec_"],
    ["nothing after the prefix", "whsec_", "is not valid base64 after whsec_"],
    ["characters outside base64", "whsec_abc$def", "is not valid base64 after whsec_"],
    ["base64url alphabet", `whsec_${Buffer.alloc(32, 0xfb).toString("base64url")}`, "is not valid base64 after whsec_"],
    ["missing padding", `whsec_${Buffer.alloc(25).toString("base64").replace(/=+$/, "")}`, "is not valid base64 after whsec_"],
    ["23 bytes", secretOf(23), "decodes to 23 bytes"],
    ["16 bytes", secretOf(16), "decodes to 16 bytes"],
    ["65 bytes", secretOf(65), "decodes to 65 bytes"],
  ])("rejects %s", (_label, secret, fragment) => {
    const problem = signingSecretProblem(secret);
    expect(problem).toContain(fragment);
    expect(problem).toContain("whsec_$(openssl rand -base64 32)");
  });
});

describe("admin API, encryption key, HTTPS and rate limits", () => {
  const key = Buffer.alloc(32, 7);
  const ADMIN = { RELAY_ADMIN_KEY: "k".repeat(24), RELAY_ENCRYPTION_KEY: key.toString("base64") };
  const ENCRYPTION_KEY_PROBLEM = "RELAY_ENCRYPTION_KEY must be 32 random bytes as base64 or hex (e.g. `openssl rand -base64 32`)";

  it.each<[keyof Config, unknown]>([
    ["adminKey", undefined],
    ["encryptionKey", undefined],
    ["requireHttps", false],
    ["rateLimitRps", 50],
    ["rateLimitBurst", 100],
    ["upstreamMaxRps", undefined],
  ])("%s defaults to %j", (property, expected) => {
    expect(loadConfig({ ...REQUIRED })[property]).toStrictEqual(expected);
  });

  it.each([
    ["base64", key.toString("base64")],
    ["hex", key.toString("hex")],
    ["upper-case hex", key.toString("hex").toUpperCase()],
  ])("reads RELAY_ENCRYPTION_KEY as %s", (_label, raw) => {
    expect(loadConfig({ ...REQUIRED, RELAY_ENCRYPTION_KEY: raw }).encryptionKey).toEqual(key);
  });

  it.each([
    ["16 bytes", Buffer.alloc(16).toString("base64")],
    ["base64 without padding", key.toString("base64").replace(/=+$/, "")],
    ["hex of 31 bytes", Buffer.alloc(31).toString("hex")],
    ["not base64", "!".repeat(44)],
  ])("rejects RELAY_ENCRYPTION_KEY of %s", (_label, raw) => {
    expect(problemsOf({ ...REQUIRED, RELAY_ENCRYPTION_KEY: raw })).toEqual([ENCRYPTION_KEY_PROBLEM]);
  });

  it("RELAY_ADMIN_KEY replaces RENDLEY_API_KEY and needs RELAY_ENCRYPTION_KEY", () => {
    const config = loadConfig(ADMIN);
    expect(config.rendleyApiKey).toBeUndefined();
    expect(config.adminKey).toBe("k".repeat(24));
    expect(config.encryptionKey).toEqual(key);
    expect(problemsOf({ RELAY_ADMIN_KEY: "k".repeat(24) })).toEqual([
      "RELAY_ENCRYPTION_KEY is required with RELAY_ADMIN_KEY: tenants' Rendley keys are encrypted with it (`openssl rand -base64 32`)",
    ]);
  });

  it("RELAY_ADMIN_KEY shorter than 24 characters", () => {
    expect(problemsOf({ ...ADMIN, RELAY_ADMIN_KEY: "k".repeat(23) })).toEqual([
      "RELAY_ADMIN_KEY must be 24 to 256 printable characters without spaces (e.g. `openssl rand -base64 32`)",
    ]);
  });

  it.each([
    ["true", true],
    ["1", true],
    ["false", false],
    ["0", false],
  ])("RELAY_REQUIRE_HTTPS=%s", (raw, expected) => {
    expect(loadConfig({ ...REQUIRED, RELAY_REQUIRE_HTTPS: raw }).requireHttps).toBe(expected);
  });

  it.each<[Record<string, string>, string]>([
    [{ RELAY_REQUIRE_HTTPS: "yes" }, "RELAY_REQUIRE_HTTPS must be true or false"],
    [{ RELAY_RATE_LIMIT_RPS: "0" }, "RELAY_RATE_LIMIT_RPS must be at least 1"],
    [{ RELAY_RATE_LIMIT_BURST: "1000001" }, "RELAY_RATE_LIMIT_BURST must be at most 1000000"],
    [{ UPSTREAM_MAX_RPS: "0" }, "UPSTREAM_MAX_RPS must be at least 1"],
  ])("rejects %j", (env, problem) => {
    expect(problemsOf({ ...REQUIRED, ...env })).toEqual([problem]);
  });

  it("reads the rate limits", () => {
    const config = loadConfig({ ...REQUIRED, RELAY_RATE_LIMIT_RPS: "5", RELAY_RATE_LIMIT_BURST: "7", UPSTREAM_MAX_RPS: "3" });
    expect([config.rateLimitRps, config.rateLimitBurst, config.upstreamMaxRps]).toEqual([5, 7, 3]);
  });
});

describe("CONFIG_VARIABLES", () => {
  const variables: [string, ConfigVariable][] = Object.entries(CONFIG_VARIABLES);

  it("fills each Config property from exactly one variable", () => {
    const properties = variables.map(([, variable]) => variable.property);
    expect(properties.filter((property, i) => properties.indexOf(property) !== i)).toEqual([]);
    expect(Object.keys(loadConfig({ ...REQUIRED })).sort()).toEqual(properties.sort());
  });

  it("documents each variable in one line", () => {
    const undocumented = variables.filter(([, variable]) => !/^[^\n]{10,}$/.test(variable.doc)).map(([name]) => name);
    expect(undocumented).toEqual([]);
  });

  /** A config with its allowlist (an object of closures) replaced by its entries, to compare two configs. */
  const comparable = (config: Config) => ({ ...config, callbackAllowlist: config.callbackAllowlist.entries });

  it.each(variables.map(([name]) => name).filter((name) => name !== "RENDLEY_API_KEY"))("a blank %s is unset", (name) => {
    expect(comparable(loadConfig({ ...REQUIRED, [name]: " \t " }))).toStrictEqual(comparable(loadConfig({ ...REQUIRED })));
  });
});
