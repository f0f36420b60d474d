CREATE TABLE "event_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"cursor" bigint,
	"count" integer NOT NULL,
	"time" bigint NOT NULL,
	"events" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "event_log_state" (
	"name" varchar(16) PRIMARY KEY NOT NULL,
	"value" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"scheduler" varchar(191) COLLATE "C" NOT NULL,
	"id" varchar(191) COLLATE "C" NOT NULL,
	"name" varchar(191) COLLATE "C" NOT NULL,
	"handler" varchar(191) COLLATE "C" NOT NULL,
	"trigger" text COLLATE "C" NOT NULL,
	"args" text COLLATE "C" NOT NULL,
	"kwargs" text COLLATE "C" NOT NULL,
	"coalesce" smallint NOT NULL,
	"max_instances" integer NOT NULL,
	"misfire_grace_ms" bigint,
	"timeout_ms" bigint,
	"retry" text COLLATE "C",
	"paused" smallint NOT NULL,
	"next_run_time" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"version" bigint NOT NULL,
	CONSTRAINT "jobs_scheduler_id_pk" PRIMARY KEY("scheduler","id")
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" varchar(36) PRIMARY KEY NOT NULL,
	"scheduler" varchar(191) COLLATE "C" NOT NULL,
	"job_id" varchar(191) COLLATE "C" NOT NULL,
	"job_name" varchar(191) COLLATE "C" DEFAULT '' NOT NULL,
	"scheduled_time" bigint NOT NULL,
	"manual" smallint NOT NULL,
	"fire_time" bigint NOT NULL,
	"handler" varchar(191) COLLATE "C" NOT NULL,
	"args" text COLLATE "C" NOT NULL,
	"kwargs" text COLLATE "C" NOT NULL,
	"timeout_ms" bigint,
	"retry" text COLLATE "C",
	"max_instances" integer DEFAULT 1 NOT NULL,
	"attempt" integer NOT NULL,
	"status" varchar(16) NOT NULL,
	"status_reason" varchar(1024) COLLATE "C" DEFAULT '' NOT NULL,
	"due_at" bigint,
	"expires_at" bigint,
	"worker_id" varchar(191) COLLATE "C",
	"lease_token" varchar(64),
	"lease_expires_at" bigint,
	"deadline_at" bigint,
	"started_at" bigint,
	"finished_at" bigint,
	"result" text COLLATE "C",
	"error" text COLLATE "C",
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "schedulers" (
	"name" varchar(191) COLLATE "C" PRIMARY KEY NOT NULL,
	"timezone" varchar(64) NOT NULL,
	"coalesce" smallint NOT NULL,
	"max_instances" integer NOT NULL,
	"misfire_grace_ms" bigint,
	"paused" smallint NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"version" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "worker_handlers" (
	"session_id" varchar(36) NOT NULL,
	"handler" varchar(191) COLLATE "C" NOT NULL,
	"worker_id" varchar(191) COLLATE "C" NOT NULL,
	"node_id" varchar(191) COLLATE "C" NOT NULL,
	"expires_at" bigint NOT NULL,
	CONSTRAINT "worker_handlers_session_id_handler_pk" PRIMARY KEY("session_id","handler")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "event_log_cursor" ON "event_log" USING btree ("cursor");--> statement-breakpoint
CREATE INDEX "jobs_next_run_time" ON "jobs" USING btree ("next_run_time");--> statement-breakpoint
CREATE INDEX "jobs_scheduler_next_run_time" ON "jobs" USING btree ("scheduler","next_run_time");--> statement-breakpoint
CREATE INDEX "jobs_handler" ON "jobs" USING btree ("handler");--> statement-breakpoint
CREATE UNIQUE INDEX "runs_job_scheduled_time" ON "runs" USING btree ("scheduler","job_id","scheduled_time","manual");--> statement-breakpoint
CREATE INDEX "runs_dispatch" ON "runs" USING btree ("status","handler","due_at");--> statement-breakpoint
CREATE INDEX "runs_job_status" ON "runs" USING btree ("scheduler","job_id","status");--> statement-breakpoint
CREATE INDEX "runs_scheduler_scheduled_time" ON "runs" USING btree ("scheduler","scheduled_time");--> statement-breakpoint
CREATE INDEX "worker_handlers_handler" ON "worker_handlers" USING btree ("handler","expires_at");