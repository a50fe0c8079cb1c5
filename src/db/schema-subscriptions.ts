import { sql } from "drizzle-orm";
import { boolean, index, integer, jsonb, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { tenants } from "./schema.js";
import { createdAt, ts, updatedAt } from "./schema-columns.js";

/**
 * Push for jobs nobody registered: each job Rendley's job list shows under `filter` that the subscription has
 * not seen becomes a watch of the subscription. Subscriptions of a tenant with the same filter share one
 * listing (`subscription_listings`, keyed by `filter_key`).
 */
export const subscriptions = pgTable(
  "subscriptions",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    /** `source_type`, `project_id`, `job_type`, `source_id`: the job list's query. */
    filter: jsonb().notNull(),
    /** A digest of the tenant and filter: the listing this subscription is discovered by. */
    filterKey: text().notNull(),
    callbackUrl: text().notNull(),
    events: text().array().notNull(),
    metadata: jsonb(),
    retryScheduleMs: integer().array(),
    callbackHeaders: jsonb(),
    /** Announce jobs already terminal at the first listing (default: the first listing is a baseline). */
    includeExisting: boolean().notNull().default(false),
    /** active | deleted (discovery stopped). */
    status: text().notNull().default("active"),
    /** When the first listing (the baseline) was taken for this subscription. */
    baselineAt: ts("baseline_at"),
    /** Watches created from discovered jobs. */
    discoveredCount: integer().notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: ts("deleted_at"),
  },
  (t) => [
    index("subscriptions_tenant_created_idx").on(t.tenantId, t.createdAt.desc(), t.id.desc()),
    index("subscriptions_filter_active_idx")
      .on(t.tenantId, t.filterKey)
      .where(sql`status = 'active'`),
  ],
);

/** One listing per distinct (tenant, filter): when it is due, who holds it (a lease), and how the last one went. */
export const subscriptionListings = pgTable(
  "subscription_listings",
  {
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    filterKey: text().notNull(),
    filter: jsonb().notNull(),
    nextListAt: ts("next_list_at").notNull(),
    lockedBy: text(),
    lockedUntil: ts("locked_until"),
    lastListedAt: ts("last_listed_at"),
    /** Jobs in the last list that was read whole. */
    lastJobCount: integer(),
    /** A digest of the last list's job ids: an unchanged list (and every subscription past its baseline) costs no more work. */
    idsDigest: text(),
    lastError: text(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.filterKey] }), index("subscription_listings_due_idx").on(t.nextListAt)],
);

/** The jobs a subscription has seen (announced or baselined): a job is discovered once per subscription. */
export const subscriptionJobs = pgTable(
  "subscription_jobs",
  {
    subscriptionId: text()
      .notNull()
      .references(() => subscriptions.id),
    jobId: text().notNull(),
    /** The watch made for it; null when it was terminal at the baseline and not announced. */
    watchId: text(),
    seenAt: ts("seen_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.subscriptionId, t.jobId] })],
);
