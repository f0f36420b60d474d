ALTER TABLE "jobs" ADD COLUMN "prepared_first" bigint;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "last_fire_prepared" smallint DEFAULT 0 NOT NULL;