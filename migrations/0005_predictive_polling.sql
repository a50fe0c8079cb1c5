CREATE TABLE "job_type_stats" (
	"tenant_id" text NOT NULL,
	"job_type" text NOT NULL,
	"samples" double precision NOT NULL,
	"mean_log" double precision NOT NULL,
	"var_log" double precision NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "job_type_stats_tenant_id_job_type_pk" PRIMARY KEY("tenant_id","job_type")
);
--> statement-breakpoint
ALTER TABLE "polls" ADD COLUMN "started_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "polls" ADD COLUMN "plan_ms" integer[] DEFAULT '{}'::int[] NOT NULL;--> statement-breakpoint
ALTER TABLE "polls" ADD COLUMN "prev_polled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "polls" ADD COLUMN "last_polled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "polls" ADD COLUMN "job_type" text;--> statement-breakpoint
ALTER TABLE "job_type_stats" ADD CONSTRAINT "job_type_stats_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;