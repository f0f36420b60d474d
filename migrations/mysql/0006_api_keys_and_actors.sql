CREATE TABLE `api_keys` (
	`id` varchar(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	`name` varchar(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`scopes` mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`hash` varchar(128) NOT NULL,
	`salt` varchar(64) NOT NULL,
	`created_at` bigint NOT NULL,
	`created_by` varchar(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	`expires_at` bigint,
	`revoked_at` bigint,
	`revoked_by` varchar(191) CHARACTER SET ascii COLLATE ascii_bin,
	CONSTRAINT `api_keys_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
ALTER TABLE `jobs` ADD `modified_by` varchar(191) CHARACTER SET ascii COLLATE ascii_bin;--> statement-breakpoint
ALTER TABLE `runs` ADD `triggered_by` varchar(191) CHARACTER SET ascii COLLATE ascii_bin;--> statement-breakpoint
ALTER TABLE `schedulers` ADD `modified_by` varchar(191) CHARACTER SET ascii COLLATE ascii_bin;