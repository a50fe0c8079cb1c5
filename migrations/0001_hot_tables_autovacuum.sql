-- polls and deliveries are updated on every poll and attempt: vacuum them after ~1% churn instead of
-- the default 20%, so dead tuples do not pile up at the head of the due indexes that every claim scans.
ALTER TABLE "polls" SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.02);--> statement-breakpoint
ALTER TABLE "deliveries" SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.02);
