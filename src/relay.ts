import { getRequestListener } from "@hono/node-server";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { createApp } from "./api/app.js";
import { listenForApi } from "./api/listener.js";
import type { Config } from "./config.js";
import { createDb, databaseOptions, type Database } from "./db/client.js";
import { createDatabaseClock } from "./db/database-clock.js";
import { migrate } from "./db/migrate.js";
import { bootstrapDefaultTenant } from "./db/queries/bootstrap-tenant.js";
import { releaseAllClaims } from "./db/queries/release-claims.js";
import { createDeps, type Deps, type DepsOverrides } from "./deps.js";
import { createDeliveryWorker, type DeliveryWorker } from "./delivery/worker.js";
import { coerceError, errorForLog } from "./lib/error-for-log.js";
import { createLogger, type Logger } from "./lib/logger.js";
import { systemClock } from "./lib/clock.js";
import { systemRandom } from "./lib/random.js";
import type { WorkerLoop } from "./lib/worker-loop.js";
import { createMaintenance, type Maintenance } from "./maintenance/maintenance.js";
import { createScheduler } from "./scheduler/scheduler.js";
import { createSubscriptionLister, type SubscriptionLister } from "./scheduler/subscription-lister.js";

export interface RelayOptions extends DepsOverrides {
  logger?: Logger;
  /** PGlite: start from this data dir tarball (tests clone a migrated template). */
  loadDataDir?: Blob;
  /** Which parts run in this process (default all). Tests turn loops off to step them with runOnce(). */
  roles?: { api?: boolean; scheduler?: boolean; delivery?: boolean; maintenance?: boolean };
  /** Aborts a start that is still waiting for the database. */
  signal?: AbortSignal;
}

export interface Relay {
  /** `http://host:port` the API listens on (port 0 resolved). */
  readonly url: string;
  readonly port: number;
  readonly deps: Deps;
  readonly scheduler: WorkerLoop;
  readonly delivery: DeliveryWorker;
  readonly maintenance: Maintenance;
  /** Subscriptions' discovery (runs with the scheduler role). */
  readonly lister: SubscriptionLister;
  /** Set when this start generated the API key: show it once, it is stored only as a hash. */
  readonly generatedApiKey: string | undefined;
  /**
   * Stops accepting requests and claims, finishes or releases in-flight work, closes pools. `/readyz`
   * answers 503 from the start of the stop, `unreadyMs` (default 0) before the listener closes.
   */
  stop(options?: { graceMs?: number; unreadyMs?: number }): Promise<void>;
}

/** In-flight work gets this long to finish on stop before it is aborted and released (SIGTERM budget: 10 s). */
export const DEFAULT_GRACE_MS = 6_000;

/**
 * Opens and migrates the database, then runs `prepare` on it (the default tenant's bootstrap), retrying the
 * whole start while Postgres cannot be reached: a relay started before its Postgres, or one whose connection
 * drops between the migration and the bootstrap, waits instead of exiting.
 */
async function openDatabase<T>(
  config: Config,
  options: RelayOptions,
  logger: Logger,
  prepare: (db: Database) => Promise<T>,
): Promise<{ db: Database; prepared: T }> {
  for (let attempt = 1; ; attempt++) {
    let db: Database | undefined;
    try {
      db = await createDb({ ...databaseOptions(config), loadDataDir: options.loadDataDir });
      await migrate(db);
      return { db, prepared: await prepare(db) };
    } catch (err) {
      await db?.close().catch(() => {});
      const error = coerceError(err) as Error & { code?: string };
      // PGlite failures (a locked directory, a corrupt store) do not heal by waiting.
      if (!config.databaseUrl || options.signal?.aborted) throw error;
      const delayMs = Math.min(10_000, 500 * 2 ** Math.min(attempt, 5));
      logger.error({ err: errorForLog(error), attempt, retryInMs: delayMs }, "database not reachable at start; retrying");
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, delayMs);
        options.signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(error);
        });
      });
    }
  }
}

/**
 * The composition root: database → migrations → default tenant → API, scheduler and delivery worker.
 * `main.ts` calls it with the environment's config; tests call it with port 0 and their own fakes.
 */
export async function startRelay(config: Config, options: RelayOptions = {}): Promise<Relay> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const roles = { api: true, scheduler: true, delivery: true, maintenance: true, ...options.roles };
  // The API's socket is bound first and kept to the drain: while the database is awaited it answers /healthz
  // (and /readyz 503), so the process is not restarted and no connection is refused in between.
  const listener = roles.api ? await listenForApi(config.port, config.host) : undefined;
  const random = options.random ?? systemRandom;
  const clock = options.clock ?? systemClock;
  let db: Database;
  let boot: Awaited<ReturnType<typeof bootstrapDefaultTenant>> | undefined;
  try {
    // Single-tenant mode: the environment's keys make the default tenant. With only RELAY_ADMIN_KEY set,
    // tenants come from the admin API alone.
    ({ db, prepared: boot } = await openDatabase(config, options, logger, (opened) =>
      config.rendleyApiKey
        ? bootstrapDefaultTenant(opened, {
            relayApiKey: config.relayApiKey,
            signingSecret: config.signingSecret,
            random,
            now: clock.now(),
          })
        : Promise.resolve(undefined),
    ));
  } catch (err) {
    listener?.closeAllConnections();
    await listener?.close();
    throw err;
  }
  let deps: Deps | undefined;
  // Several relays on one Postgres write times on its clock, whatever their hosts' clocks say (a clock that
  // drives the database, in tests, already stands for the database's).
  const databaseClock =
    db.kind === "postgres" && !options.clockDrivesDatabase ? createDatabaseClock(db, clock, { logger }) : undefined;
  try {
    await databaseClock?.start();
    deps = createDeps(config, db, logger, { ...options, clock: databaseClock ?? clock });
    if (!boot) logger.info("no RENDLEY_API_KEY: multi-tenant mode, create tenants with the admin API (/v1/admin/tenants)");
    if (boot?.generatedSigningSecret) logger.info("generated a signing secret (read it with GET /v1/signing-secret)");
    if (boot?.envSecretIgnored) {
      logger.warn(
        "RELAY_SIGNING_SECRET holds a secret that was rotated away; the rotated one stays current (unset the variable or set the new secret)",
      );
    }
    if (db.kind === "pglite") {
      const released = await releaseAllClaims(db, clock.now());
      if (released.deliveries > 0) logger.info(released, "released delivery claims left by a previous run");
    }

    const workerId = `${hostname()}:${process.pid}:${random.bytes(4).toString("hex")}`;
    const delivery = createDeliveryWorker(deps, { workerId });
    // The events this process's polls see are sent by its own delivery worker without a claim, when it runs here.
    const scheduler = createScheduler(deps, {
      workerId,
      onDeliveriesCreated: () => delivery.nudge(),
      deliveries: roles.delivery ? delivery : undefined,
    });
    const maintenance = createMaintenance(deps, { workerId });
    const lister = createSubscriptionLister(deps, {
      workerId,
      budget: scheduler.budget,
      onWatchesCreated: () => scheduler.nudge(),
    });

    if (listener) {
      const app = createApp(deps, {
        onWatchCreated: () => scheduler.nudge(),
        onRedeliver: () => delivery.nudge(),
        onSigningSecretRotated: (tenantId) => delivery.invalidateSecrets(tenantId),
      });
      listener.serve(getRequestListener(app.fetch));
    }
    const port = listener?.port ?? 0;
    if (roles.scheduler) {
      scheduler.start();
      lister.start();
    }
    if (roles.delivery) delivery.start();
    if (roles.maintenance) maintenance.start();
    const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
    logger.info({ port, database: db.kind, roles }, "relay started");

    const started = deps;
    let stopping: Promise<void> | undefined;
    return {
      url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
      port,
      deps: started,
      scheduler,
      delivery,
      maintenance,
      lister,
      generatedApiKey: boot?.generatedApiKey,
      stop(stopOptions = {}) {
        stopping ??= (async () => {
          const graceMs = stopOptions.graceMs ?? DEFAULT_GRACE_MS;
          // Endpoints are taken out first: /readyz answers 503 for a moment while the API still serves.
          listener?.drain();
          const unreadyMs = stopOptions.unreadyMs ?? 0;
          if (listener && unreadyMs > 0) await sleep(unreadyMs);
          const closed = listener?.close() ?? Promise.resolve();
          await Promise.all([scheduler.stop(graceMs), delivery.stop(graceMs), maintenance.stop(), lister.stop()]);
          listener?.closeAllConnections();
          await closed;
          databaseClock?.stop();
          await started.close();
          await db.close();
          logger.info("relay stopped");
        })();
        return stopping;
      },
    };
  } catch (err) {
    databaseClock?.stop();
    listener?.closeAllConnections();
    await listener?.close();
    await deps?.close();
    await db.close();
    throw err;
  }
}
