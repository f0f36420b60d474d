CREATE TABLE `cluster_nodes` (
	`node_id` varchar(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`version` varchar(64) NOT NULL,
	`address` varchar(300) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`role` varchar(16) NOT NULL,
	`state` varchar(16) NOT NULL,
	`started_at` bigint NOT NULL,
	`last_seen` bigint NOT NULL,
	`expires_at` bigint NOT NULL,
	`activity` mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`workers` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	CONSTRAINT `cluster_nodes_node_id` PRIMARY KEY(`node_id`)
);
--> statement-breakpoint
CREATE INDEX `cluster_nodes_expires_at` ON `cluster_nodes` (`expires_at`);