CREATE TABLE `events` (
	`cursor` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`type` text NOT NULL,
	`scheduler` text,
	`job_id` text,
	`run_id` text,
	`handler` text,
	`time` integer NOT NULL,
	`data` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_time` ON `events` (`time`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`scheduler` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`handler` text NOT NULL,
	`trigger` text NOT NULL,
	`args` text NOT NULL,
	`kwargs` text NOT NULL,
	`coalesce` integer NOT NULL,
	`max_instances` integer NOT NULL,
	`misfire_grace_ms` integer,
	`timeout_ms` integer,
	`retry` text,
	`paused` integer NOT NULL,
	`next_run_time` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`version` integer NOT NULL,
	PRIMARY KEY(`scheduler`, `id`)
);
--> statement-breakpoint
CREATE INDEX `jobs_next_run_time` ON `jobs` (`next_run_time`);--> statement-breakpoint
CREATE INDEX `jobs_scheduler_next_run_time` ON `jobs` (`scheduler`,`next_run_time`);--> statement-breakpoint
CREATE INDEX `jobs_handler` ON `jobs` (`handler`);--> statement-breakpoint
CREATE TABLE `runs` (
	`id` text PRIMARY KEY NOT NULL,
	`scheduler` text NOT NULL,
	`job_id` text NOT NULL,
	`scheduled_time` integer NOT NULL,
	`manual` integer NOT NULL,
	`fire_time` integer NOT NULL,
	`handler` text NOT NULL,
	`args` text NOT NULL,
	`kwargs` text NOT NULL,
	`attempt` integer NOT NULL,
	`status` text NOT NULL,
	`worker_id` text,
	`lease_token` text,
	`lease_expires_at` integer,
	`started_at` integer,
	`finished_at` integer,
	`result` text,
	`error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `runs_job_scheduled_time` ON `runs` (`scheduler`,`job_id`,`scheduled_time`,`manual`);--> statement-breakpoint
CREATE INDEX `runs_status_fire_time` ON `runs` (`status`,`fire_time`);--> statement-breakpoint
CREATE INDEX `runs_lease_expires_at` ON `runs` (`lease_expires_at`);--> statement-breakpoint
CREATE INDEX `runs_created_at` ON `runs` (`created_at`);--> statement-breakpoint
CREATE TABLE `schedulers` (
	`name` text PRIMARY KEY NOT NULL,
	`timezone` text NOT NULL,
	`coalesce` integer NOT NULL,
	`max_instances` integer NOT NULL,
	`misfire_grace_ms` integer,
	`paused` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`version` integer NOT NULL
);
