import { Agent, type Dispatcher } from "undici";
import type { Config } from "./config.js";
import type { Database } from "./db/client.js";
import { loadRendleyKeyCiphertext } from "./db/queries/load-rendley-key-ciphertext.js";
import { createGuardedAgent } from "./security/guarded-agent.js";
import { systemClock, type Clock } from "./lib/clock.js";
import type { Logger } from "./lib/logger.js";
import { systemRandom, type Random } from "./lib/random.js";
import { createUpstreamHealth, type UpstreamHealth } from "./upstream/upstream-health.js";
import { systemResolver, type Resolver } from "./security/callback-url.js";
import { createSecretBox, type SecretBox } from "./security/secret-box.js";
import { instrumentUpstream } from "./metrics/instrument-upstream.js";
import { loadMetricsSnapshot } from "./db/queries/load-metrics-snapshot.js";
import { createRelayMetrics, type RelayMetrics } from "./metrics/relay-metrics.js";
import { createUpstreamClient, type UpstreamClient } from "./upstream/client.js";
import { createTenantKeys, type TenantKeys } from "./upstream/tenant-keys.js";
import { USER_AGENT } from "./version.js";

/** Everything with a side effect, passed down explicitly: nothing imports a singleton. */
export interface Deps {
  readonly config: Config;
  readonly db: Database;
  readonly clock: Clock;
  /**
   * The clock also stands for the database's (a clock tests move by hand): times such as lease ends are then
   * written from it. Otherwise leases run on the database's `now()`, so relays whose clocks differ never see a
   * lease end early or late (and on Postgres `clock` is aligned on the database's clock, `createDatabaseClock`).
   */
  readonly clockDrivesDatabase: boolean;
  readonly random: Random;
  readonly logger: Logger;
  readonly upstream: UpstreamClient;
  readonly upstreamHealth: UpstreamHealth;
  /** For callbacks only: checks every address it connects to against the private-network block. */
  readonly callbackDispatcher: Dispatcher;
  /** DNS for registration-time callback URL checks. */
  readonly resolver: Resolver;
  /** Each tenant's Rendley key (decrypted on demand, cached briefly). */
  readonly tenantKeys: TenantKeys;
  /** Encrypts secrets at rest; undefined without RELAY_ENCRYPTION_KEY. */
  readonly secretBox: SecretBox | undefined;
  /** Prometheus metrics of this relay (its own registry): the scheduler and the worker record, GET /metrics reads. */
  readonly metrics: RelayMetrics;
  /** Closes the HTTP pools. */
  close(): Promise<void>;
}

/** Replaceable side effects (tests, benchmarks). */
export interface DepsOverrides {
  clock?: Clock;
  /** Set with a clock tests move by hand (default false): see `Deps.clockDrivesDatabase`. */
  clockDrivesDatabase?: boolean;
  random?: Random;
  resolver?: Resolver;
  callbackDispatcher?: Dispatcher;
  upstreamDispatcher?: Dispatcher;
  metrics?: RelayMetrics;
}

/**
 * The keep-alive pool for Rendley's API. HTTP/1.1 only (`allowH2: false`), as with undici 7: undici 8 offers HTTP/2
 * by default, which would multiplex polls over shared sessions and, on a cold start, queue them behind one protocol
 * probe; the relay's concurrency (`POLL_CONCURRENCY` connections) and deadlines are measured on HTTP/1.1.
 */
export function createUpstreamAgent(config: Pick<Config, "pollConcurrency" | "upstreamTimeoutMs">): Agent {
  return new Agent({
    keepAliveTimeout: 30_000,
    connections: config.pollConcurrency,
    connect: { timeout: config.upstreamTimeoutMs },
    allowH2: false,
  });
}

export function createDeps(config: Config, db: Database, logger: Logger, overrides: DepsOverrides = {}): Deps {
  const clock = overrides.clock ?? systemClock;
  const secretBox = config.encryptionKey ? createSecretBox(config.encryptionKey) : undefined;
  const resolver = overrides.resolver ?? systemResolver;
  const metrics = overrides.metrics ?? createRelayMetrics({ loadSnapshot: () => loadMetricsSnapshot(db, clock.now()) });
  const upstreamDispatcher = overrides.upstreamDispatcher ?? createUpstreamAgent(config);
  const callbackDispatcher =
    overrides.callbackDispatcher ??
    createGuardedAgent({
      allowlist: config.callbackAllowlist,
      resolver,
      connectTimeoutMs: Math.min(10_000, config.deliveryTimeoutMs),
      agentOptions: { keepAliveTimeout: 10_000 },
    });
  return {
    config,
    db,
    clock,
    clockDrivesDatabase: overrides.clockDrivesDatabase ?? false,
    random: overrides.random ?? systemRandom,
    logger,
    resolver,
    secretBox,
    tenantKeys: createTenantKeys({
      loadCiphertext: (tenantId) => loadRendleyKeyCiphertext(db, tenantId),
      clock,
      box: secretBox,
      envKey: config.rendleyApiKey,
      logger,
    }),
    upstreamHealth: createUpstreamHealth(),
    callbackDispatcher,
    metrics,
    upstream: instrumentUpstream(
      createUpstreamClient({
        baseUrl: config.rendleyApiUrl,
        agentBaseUrl: config.rendleyAgentUrl,
        agentCancelUrl: config.rendleyAgentCancelUrl,
        dispatcher: upstreamDispatcher,
        timeoutMs: config.upstreamTimeoutMs,
        clock,
        userAgent: USER_AGENT,
      }),
      metrics,
    ),
    async close() {
      await Promise.allSettled([
        overrides.upstreamDispatcher ? undefined : upstreamDispatcher.close(),
        overrides.callbackDispatcher ? undefined : callbackDispatcher.close(),
      ]);
    },
  };
}
