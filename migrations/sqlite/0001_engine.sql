DROP INDEX `runs_status_fire_time`;--> statement-breakpoint
DROP INDEX `runs_lease_expires_at`;--> statement-breakpoint
DROP INDEX `runs_created_at`;--> statement-breakpoint
ALTER TABLE `runs` ADD `job_name` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `runs` ADD `timeout_ms` integer;--> statement-breakpoint
ALTER TABLE `runs` ADD `retry` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `max_instances` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `runs` ADD `status_reason` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `runs` ADD `due_at` integer;--> statement-breakpoint
ALTER TABLE `runs` ADD `expires_at` integer;--> statement-breakpoint
ALTER TABLE `runs` ADD `deadline_at` integer;--> statement-breakpoint
CREATE INDEX `runs_dispatch` ON `runs` (`status`,`handler`,`due_at`);--> statement-breakpoint
CREATE INDEX `runs_job_status` ON `runs` (`scheduler`,`job_id`,`status`);--> statement-breakpoint
CREATE INDEX `runs_scheduler_scheduled_time` ON `runs` (`scheduler`,`scheduled_time`);