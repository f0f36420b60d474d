CREATE TABLE `cluster_nodes` (
	`node_id` text PRIMARY KEY NOT NULL,
	`version` text NOT NULL,
	`address` text NOT NULL,
	`role` text NOT NULL,
	`state` text NOT NULL,
	`started_at` integer NOT NULL,
	`last_seen` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`activity` text NOT NULL,
	`workers` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `cluster_nodes_expires_at` ON `cluster_nodes` (`expires_at`);