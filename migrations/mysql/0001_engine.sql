DROP INDEX `runs_status_fire_time` ON `runs`;--> statement-breakpoint
DROP INDEX `runs_lease_expires_at` ON `runs`;--> statement-breakpoint
DROP INDEX `runs_created_at` ON `runs`;--> statement-breakpoint
ALTER TABLE `runs` ADD `job_name` varchar(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `runs` ADD `timeout_ms` bigint;--> statement-breakpoint
ALTER TABLE `runs` ADD `retry` mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `runs` ADD `max_instances` int DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `runs` ADD `status_reason` varchar(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `runs` ADD `due_at` bigint;--> statement-breakpoint
ALTER TABLE `runs` ADD `expires_at` bigint;--> statement-breakpoint
ALTER TABLE `runs` ADD `deadline_at` bigint;--> statement-breakpoint
CREATE INDEX `runs_dispatch` ON `runs` (`status`,`handler`,`due_at`);--> statement-breakpoint
CREATE INDEX `runs_job_status` ON `runs` (`scheduler`,`job_id`,`status`);--> statement-breakpoint
CREATE INDEX `runs_scheduler_scheduled_time` ON `runs` (`scheduler`,`scheduled_time`);