CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`scopes` text NOT NULL,
	`hash` text NOT NULL,
	`salt` text NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	`expires_at` integer,
	`revoked_at` integer,
	`revoked_by` text
);
--> statement-breakpoint
ALTER TABLE `jobs` ADD `modified_by` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `triggered_by` text;--> statement-breakpoint
ALTER TABLE `schedulers` ADD `modified_by` text;