CREATE TABLE `remote_refs` (
	`method` text NOT NULL,
	`dedup_key` text NOT NULL,
	`ref` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`method`, `dedup_key`)
);
--> statement-breakpoint
CREATE INDEX `remote_refs_updated_at` ON `remote_refs` (`updated_at`);--> statement-breakpoint
ALTER TABLE `deliveries` ADD `group_alarm_ids` text;--> statement-breakpoint
ALTER TABLE `notifications` ADD `group_alarm_ids` text;--> statement-breakpoint
CREATE INDEX `alarms_dedup_key` ON `alarms` (`dedup_key`);