CREATE TABLE "subscription_jobs" (
	"subscription_id" text NOT NULL,
	"job_id" text NOT NULL,
	"watch_id" text,
	"seen_at" timestamp with time zone NOT NULL,
	CONSTRAINT "subscription_jobs_subscription_id_job_id_pk" PRIMARY KEY("subscription_id","job_id")
);
--> statement-breakpoint
CREATE TABLE "subscription_listings" (
	"tenant_id" text NOT NULL,
	"filter_key" text NOT NULL,
	"filter" jsonb NOT NULL,
	"next_list_at" timestamp with time zone NOT NULL,
	"locked_by" text,
	"locked_until" timestamp with time zone,
	"last_listed_at" timestamp with time zone,
	"last_job_count" integer,
	"ids_digest" text,
	"last_error" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "subscription_listings_tenant_id_filter_key_pk" PRIMARY KEY("tenant_id","filter_key")
);
--> statement-breakpoint
CREATE TABLE "subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"filter" jsonb NOT NULL,
	"filter_key" text NOT NULL,
	"callback_url" text NOT NULL,
	"events" text[] NOT NULL,
	"metadata" jsonb,
	"retry_schedule_ms" integer[],
	"callback_headers" jsonb,
	"include_existing" boolean DEFAULT false NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"baseline_at" timestamp with time zone,
	"discovered_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "polls" ADD COLUMN "service" text DEFAULT 'api' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "polls_tenant_service_job_key" ON "polls" USING btree ("tenant_id","service","job_id");--> statement-breakpoint
DROP INDEX "polls_tenant_job_key";--> statement-breakpoint
ALTER TABLE "watches" ADD COLUMN "service" text DEFAULT 'api' NOT NULL;--> statement-breakpoint
ALTER TABLE "watches" ADD COLUMN "subscription_id" text;--> statement-breakpoint
ALTER TABLE "subscription_jobs" ADD CONSTRAINT "subscription_jobs_subscription_id_subscriptions_id_fk" FOREIGN KEY ("subscription_id") REFERENCES "public"."subscriptions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscription_listings" ADD CONSTRAINT "subscription_listings_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "subscription_listings_due_idx" ON "subscription_listings" USING btree ("next_list_at");--> statement-breakpoint
CREATE INDEX "subscriptions_tenant_created_idx" ON "subscriptions" USING btree ("tenant_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "subscriptions_filter_active_idx" ON "subscriptions" USING btree ("tenant_id","filter_key") WHERE status = 'active';--> statement-breakpoint
ALTER TABLE "watches" ADD CONSTRAINT "watches_subscription_id_subscriptions_id_fk" FOREIGN KEY ("subscription_id") REFERENCES "public"."subscriptions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "watches_subscription_created_idx" ON "watches" USING btree ("subscription_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST) WHERE subscription_id is not null;