ALTER TABLE `jobs` ADD `prepared_first` bigint;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_fire_prepared` boolean DEFAULT false NOT NULL;