CREATE TABLE "leases" (
	"name" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "origins" (
	"tenant_id" text NOT NULL,
	"origin" text NOT NULL,
	"state" text NOT NULL,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"opened_at" timestamp with time zone,
	"open_until" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"last_failure_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "origins_tenant_id_origin_pk" PRIMARY KEY("tenant_id","origin")
);
--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "origin" text;--> statement-breakpoint
UPDATE "deliveries" SET "origin" = substring("callback_url" from '^[a-z]+://[^/?#]+');--> statement-breakpoint
ALTER TABLE "deliveries" ALTER COLUMN "origin" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "job_fetched_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "retry_schedule_ms" integer[];--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "extra_headers" jsonb;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "last_attempt_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD COLUMN "response_excerpt" text;--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD COLUMN "location" text;--> statement-breakpoint
ALTER TABLE "watches" ADD COLUMN "retry_schedule_ms" integer[];--> statement-breakpoint
ALTER TABLE "watches" ADD COLUMN "callback_headers" jsonb;--> statement-breakpoint
ALTER TABLE "origins" ADD CONSTRAINT "origins_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "deliveries_origin_pending_idx" ON "deliveries" USING btree ("tenant_id","origin") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "deliveries_failed_last_attempt_idx" ON "deliveries" USING btree ("tenant_id","last_attempt_at") WHERE status = 'failed';