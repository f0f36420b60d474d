CREATE TABLE `idempotency_keys` (
	`principal` varchar(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	`idem_key` varchar(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	`method` varchar(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	`request_hash` varchar(64) NOT NULL,
	`call_id` varchar(64) NOT NULL,
	`deadline_at` bigint NOT NULL,
	`expires_at` bigint NOT NULL,
	`answer_code` int,
	`answer` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	CONSTRAINT `idempotency_keys_principal_idem_key_pk` PRIMARY KEY(`principal`,`idem_key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_expires_at` ON `idempotency_keys` (`expires_at`);