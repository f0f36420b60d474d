CREATE TABLE `worker_handlers` (
	`session_id` varchar(36) NOT NULL,
	`handler` varchar(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	`worker_id` varchar(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	`node_id` varchar(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`expires_at` bigint NOT NULL,
	CONSTRAINT `worker_handlers_session_id_handler_pk` PRIMARY KEY(`session_id`,`handler`)
);
--> statement-breakpoint
CREATE INDEX `worker_handlers_handler` ON `worker_handlers` (`handler`,`expires_at`);