import { sql } from "drizzle-orm";
import { bigint, boolean, index, integer, jsonb, pgTable, smallint, text, uniqueIndex } from "drizzle-orm/pg-core";
import { FINISHED_WATCH_STATUSES } from "../domain/watch.js";
import { createdAt, ts, updatedAt } from "./schema-columns.js";
import { subscriptions } from "./schema-subscriptions.js";
import { literalList } from "./sql-values.js";

/**
 * One row per app using the relay; every owned row carries tenant_id. Each tenant has its own API keys,
 * signing secrets and Rendley key (AES-256-GCM ciphertext under RELAY_ENCRYPTION_KEY, never returned).
 */
export const tenants = pgTable("tenants", {
  id: text().primaryKey(),
  name: text().notNull(),
  /** active | disabled (a disabled tenant's API keys are refused). */
  status: text().notNull().default("active"),
  /** `v1:` + base64(iv | tag | ciphertext), AAD = tenant id; null: the environment's RENDLEY_API_KEY (default tenant only). */
  rendleyKeyCiphertext: text(),
  rendleyKeyUpdatedAt: ts("rendley_key_updated_at"),
  disabledAt: ts("disabled_at"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** Relay API keys, stored as SHA-256 hex hashes: the key itself is shown once and never stored. */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    keyHash: text().notNull(),
    /** The key's first characters (`rrk_AbC…`), to tell keys apart in lists. */
    prefix: text(),
    label: text(),
    /** `env` (from RELAY_API_KEY), `generated` (first start) or `admin`. */
    source: text().notNull(),
    createdAt: createdAt(),
    revokedAt: ts("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_key_hash_key").on(t.keyHash), index("api_keys_tenant_idx").on(t.tenantId, t.createdAt)],
);

/** Signing secrets per tenant; the current one has expires_at null. */
export const signingSecrets = pgTable(
  "signing_secrets",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    secret: text().notNull(),
    source: text().notNull(),
    createdAt: createdAt(),
    expiresAt: ts("expires_at"),
  },
  (t) => [index("signing_secrets_tenant_idx").on(t.tenantId, t.createdAt)],
);

/**
 * The scheduler row: one per upstream job (per tenant), shared by every watch on that job, so the
 * upstream sees one polling cadence. `status` is `active` while any watch needs polls, then `done`
 * (terminal job), `expired` (job not found) or `idle` (every watch canceled).
 */
export const polls = pgTable(
  "polls",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    jobId: text().notNull(),
    /** The Rendley service that owns the job (`api` or `agent`): where it is polled. */
    service: text().notNull().default("api"),
    status: text().notNull().default("active"),
    nextPollAt: ts("next_poll_at").notNull(),
    intervalMs: integer().notNull(),
    /** Fencing token: bumped by every claim; write-backs only apply when it still matches. */
    claimSeq: integer().notNull().default(0),
    lockedBy: text(),
    jobStatus: text(),
    /** The status whose event the watching watches last got; a status change is judged against it. */
    emittedStatus: text(),
    job: jsonb(),
    jobFetchedAt: ts("job_fetched_at"),
    pollCount: integer().notNull().default(0),
    /** When the job was first (re)watched: the origin of `plan_ms` and of learned durations. */
    startedAt: ts("started_at").notNull().defaultNow(),
    /** The next polls as offsets (ms) from started_at, consumed by the claim (one write per unchanged poll). Empty: back off. */
    planMs: integer()
      .array()
      .notNull()
      .default(sql`'{}'::int[]`),
    /** When the poll before the last one ran (a finished job ended between the two). */
    prevPolledAt: ts("prev_polled_at"),
    lastPolledAt: ts("last_polled_at"),
    /** Rendley's job type, once seen: which learned duration distribution plans its polls. */
    jobType: text(),
    /** The plan came from a learned distribution (false: backoff, re-planned once the type has history). */
    plannedPredictive: boolean().notNull().default(false),
    notFoundCount: integer().notNull().default(0),
    errorCount: integer().notNull().default(0),
    lastError: text(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("polls_tenant_service_job_key").on(t.tenantId, t.service, t.jobId),
    // Only active rows are ever claimed: the claim's cost does not grow with finished rows.
    index("polls_due_idx")
      .on(t.nextPollAt)
      .where(sql`status = 'active'`),
  ],
);

/** What an app registered: a job id, a callback URL, the events it wants. */
export const watches = pgTable(
  "watches",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    pollId: text()
      .notNull()
      .references(() => polls.id),
    jobId: text().notNull(),
    service: text().notNull().default("api"),
    /** The subscription that discovered the job (null: registered by an app). */
    subscriptionId: text().references(() => subscriptions.id),
    callbackUrl: text().notNull(),
    events: text().array().notNull(),
    metadata: jsonb(),
    /** The watch's own retry delays (ms), or null for DELIVERY_RETRY_SCHEDULE. */
    retryScheduleMs: integer().array(),
    /** Extra headers sent with every callback (values never returned by the API nor logged). */
    callbackHeaders: jsonb(),
    status: text().notNull().default("watching"),
    lastError: text(),
    idempotencyKey: text(),
    requestHash: text(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("watches_tenant_created_idx").on(t.tenantId, t.createdAt.desc(), t.id.desc()),
    index("watches_tenant_status_created_idx").on(t.tenantId, t.status, t.createdAt.desc(), t.id.desc()),
    index("watches_tenant_job_created_idx").on(t.tenantId, t.jobId, t.createdAt.desc(), t.id.desc()),
    index("watches_poll_watching_idx")
      .on(t.pollId)
      .where(sql`status = 'watching'`),
    // Deleting a poll checks its foreign key here; without this index that check reads every watch.
    index("watches_poll_idx").on(t.pollId),
    // Retention finds old finished watches without walking the live ones.
    index("watches_finished_updated_idx")
      .on(t.updatedAt)
      .where(sql`status in ${literalList(FINISHED_WATCH_STATUSES)}`),
    uniqueIndex("watches_tenant_idempotency_key").on(t.tenantId, t.idempotencyKey),
    index("watches_subscription_created_idx")
      .on(t.subscriptionId, t.createdAt.desc(), t.id.desc())
      .where(sql`subscription_id is not null`),
  ],
);

/**
 * One row per event message of a watch; its id is the `webhook-id`, stable across every attempt and
 * redelivery. `rank` orders a watch's events (processing before terminal).
 */
export const deliveries = pgTable(
  "deliveries",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    watchId: text()
      .notNull()
      .references(() => watches.id),
    event: text().notNull(),
    rank: smallint().notNull(),
    callbackUrl: text().notNull(),
    /** scheme://host:port of the callback: the unit of fairness and of the circuit breaker. */
    origin: text().notNull(),
    body: text().notNull(),
    /** When the job object inside `body` was fetched; late attempts refresh it (time-limited result links). */
    jobFetchedAt: ts("job_fetched_at"),
    retryScheduleMs: integer().array(),
    extraHeaders: jsonb(),
    status: text().notNull().default("pending"),
    /** Attempts in the current series (a redelivery starts a new series); indexes the retry schedule. */
    seriesAttempts: integer().notNull().default(0),
    /** Attempts over the delivery's whole life; numbers the attempt log. */
    totalAttempts: integer().notNull().default(0),
    nextTrigger: text().notNull().default("scheduled"),
    nextAttemptAt: ts("next_attempt_at"),
    claimSeq: integer().notNull().default(0),
    lockedBy: text(),
    lastError: text(),
    lastAttemptAt: ts("last_attempt_at"),
    deliveredAt: ts("delivered_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("deliveries_watch_event_key").on(t.watchId, t.event),
    index("deliveries_origin_pending_idx")
      .on(t.tenantId, t.origin)
      .where(sql`status = 'pending'`),
    index("deliveries_failed_last_attempt_idx")
      .on(t.tenantId, t.lastAttemptAt)
      .where(sql`status = 'failed'`),
    index("deliveries_due_idx")
      .on(t.nextAttemptAt)
      .where(sql`status = 'pending'`),
    index("deliveries_watch_pending_idx")
      .on(t.watchId, t.rank)
      .where(sql`status = 'pending'`),
  ],
);

/** Append-only log of callback attempts. */
export const deliveryAttempts = pgTable(
  "delivery_attempts",
  {
    id: bigint({ mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    tenantId: text().notNull(),
    deliveryId: text()
      .notNull()
      .references(() => deliveries.id),
    attempt: integer().notNull(),
    trigger: text().notNull(),
    at: ts("at").notNull(),
    statusCode: integer(),
    durationMs: integer().notNull(),
    error: text(),
    /** The first 1 KiB of the response body. */
    responseExcerpt: text(),
    /** Where a 3xx pointed (never followed). */
    location: text(),
  },
  (t) => [index("delivery_attempts_delivery_idx").on(t.deliveryId, t.attempt)],
);

export * from "./schema-coordination.js";
export * from "./schema-subscriptions.js";
