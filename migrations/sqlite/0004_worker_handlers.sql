CREATE TABLE `worker_handlers` (
	`session_id` text NOT NULL,
	`handler` text NOT NULL,
	`worker_id` text NOT NULL,
	`node_id` text NOT NULL,
	`expires_at` integer NOT NULL,
	PRIMARY KEY(`session_id`, `handler`)
);
--> statement-breakpoint
CREATE INDEX `worker_handlers_handler` ON `worker_handlers` (`handler`,`expires_at`);