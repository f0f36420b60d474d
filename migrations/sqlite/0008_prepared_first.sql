ALTER TABLE `jobs` ADD `prepared_first` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `last_fire_prepared` integer DEFAULT false NOT NULL;