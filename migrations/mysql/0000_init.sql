CREATE TABLE `events` (
	`cursor` bigint unsigned AUTO_INCREMENT NOT NULL,
	`type` varchar(32) NOT NULL,
	`scheduler` varchar(191) CHARACTER SET ascii COLLATE ascii_bin,
	`job_id` varchar(191) CHARACTER SET ascii COLLATE ascii_bin,
	`run_id` varchar(36),
	`handler` varchar(191) CHARACTER SET ascii COLLATE ascii_bin,
	`time` bigint NOT NULL,
	`data` mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	CONSTRAINT `events_cursor` PRIMARY KEY(`cursor`)
);
--> statement-breakpoint
CREATE TABLE `jobs` (
	`scheduler` varchar(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	`id` varchar(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	`name` varchar(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`handler` varchar(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	`trigger` mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`args` mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`kwargs` mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`coalesce` boolean NOT NULL,
	`max_instances` int NOT NULL,
	`misfire_grace_ms` bigint,
	`timeout_ms` bigint,
	`retry` mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	`paused` boolean NOT NULL,
	`next_run_time` bigint,
	`created_at` bigint NOT NULL,
	`updated_at` bigint NOT NULL,
	`version` bigint NOT NULL,
	CONSTRAINT `jobs_scheduler_id_pk` PRIMARY KEY(`scheduler`,`id`)
);
--> statement-breakpoint
CREATE TABLE `runs` (
	`id` varchar(36) NOT NULL,
	`scheduler` varchar(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	`job_id` varchar(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	`scheduled_time` bigint NOT NULL,
	`manual` boolean NOT NULL,
	`fire_time` bigint NOT NULL,
	`handler` varchar(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	`args` mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`kwargs` mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`attempt` int NOT NULL,
	`status` varchar(16) NOT NULL,
	`worker_id` varchar(191) CHARACTER SET ascii COLLATE ascii_bin,
	`lease_token` varchar(64),
	`lease_expires_at` bigint,
	`started_at` bigint,
	`finished_at` bigint,
	`result` mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	`error` mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	`created_at` bigint NOT NULL,
	`updated_at` bigint NOT NULL,
	CONSTRAINT `runs_id` PRIMARY KEY(`id`),
	CONSTRAINT `runs_job_scheduled_time` UNIQUE(`scheduler`,`job_id`,`scheduled_time`,`manual`)
);
--> statement-breakpoint
CREATE TABLE `schedulers` (
	`name` varchar(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	`timezone` varchar(64) NOT NULL,
	`coalesce` boolean NOT NULL,
	`max_instances` int NOT NULL,
	`misfire_grace_ms` bigint,
	`paused` boolean NOT NULL,
	`created_at` bigint NOT NULL,
	`updated_at` bigint NOT NULL,
	`version` bigint NOT NULL,
	CONSTRAINT `schedulers_name` PRIMARY KEY(`name`)
);
--> statement-breakpoint
CREATE INDEX `events_time` ON `events` (`time`);--> statement-breakpoint
CREATE INDEX `jobs_next_run_time` ON `jobs` (`next_run_time`);--> statement-breakpoint
CREATE INDEX `jobs_scheduler_next_run_time` ON `jobs` (`scheduler`,`next_run_time`);--> statement-breakpoint
CREATE INDEX `jobs_handler` ON `jobs` (`handler`);--> statement-breakpoint
CREATE INDEX `runs_status_fire_time` ON `runs` (`status`,`fire_time`);--> statement-breakpoint
CREATE INDEX `runs_lease_expires_at` ON `runs` (`lease_expires_at`);--> statement-breakpoint
CREATE INDEX `runs_created_at` ON `runs` (`created_at`);