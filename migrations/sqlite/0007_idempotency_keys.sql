CREATE TABLE `idempotency_keys` (
	`principal` text NOT NULL,
	`idem_key` text NOT NULL,
	`method` text NOT NULL,
	`request_hash` text NOT NULL,
	`call_id` text NOT NULL,
	`deadline_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`answer_code` integer,
	`answer` text,
	PRIMARY KEY(`principal`, `idem_key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_expires_at` ON `idempotency_keys` (`expires_at`);