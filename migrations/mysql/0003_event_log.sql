CREATE TABLE `event_log` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`cursor` bigint unsigned,
	`count` int NOT NULL,
	`time` bigint NOT NULL,
	`events` mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	CONSTRAINT `event_log_id` PRIMARY KEY(`id`),
	CONSTRAINT `event_log_cursor` UNIQUE(`cursor`)
);
--> statement-breakpoint
CREATE TABLE `event_log_state` (
	`name` varchar(16) NOT NULL,
	`value` bigint unsigned NOT NULL,
	CONSTRAINT `event_log_state_name` PRIMARY KEY(`name`)
);
--> statement-breakpoint
INSERT INTO `event_log_state` (`name`, `value`) VALUES ('last', 0), ('pruned', 0);