import { doublePrecision, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { tenants } from "./schema.js";
import { ts, updatedAt } from "./schema-columns.js";

/**
 * Circuit breaker state per callback origin (per tenant), as last written by any relay process:
 * each process decides from its own memory and records transitions here for GET /v1/origins.
 */
export const origins = pgTable(
  "origins",
  {
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    origin: text().notNull(),
    /** closed | open | half_open */
    state: text().notNull(),
    consecutiveFailures: integer().notNull().default(0),
    openedAt: ts("opened_at"),
    openUntil: ts("open_until"),
    lastSuccessAt: ts("last_success_at"),
    lastFailureAt: ts("last_failure_at"),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.origin] })],
);

/** Named leases for work exactly one process should do at a time (maintenance), River's leader row. */
export const leases = pgTable("leases", {
  name: text().primaryKey(),
  owner: text().notNull(),
  expiresAt: ts("expires_at").notNull(),
});

/** Learned completion times per (tenant, job type): a decaying lognormal fit (TypeStats) predictive polling plans with. */
export const jobTypeStats = pgTable(
  "job_type_stats",
  {
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    jobType: text().notNull(),
    /** The (decayed) weight of completions the fit rests on: the weight of history. */
    samples: doublePrecision().notNull(),
    meanLog: doublePrecision().notNull(),
    varLog: doublePrecision().notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.jobType] })],
);
