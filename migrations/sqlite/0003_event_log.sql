CREATE TABLE `event_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`cursor` integer,
	`count` integer NOT NULL,
	`time` integer NOT NULL,
	`events` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `event_log_cursor` ON `event_log` (`cursor`);--> statement-breakpoint
CREATE TABLE `event_log_state` (
	`name` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `event_log_state` (`name`, `value`) VALUES ('last', 0), ('pruned', 0);