CREATE TABLE `notification_alarms` (
	`notification_id` text NOT NULL,
	`position` integer NOT NULL,
	`alarm_id` text NOT NULL,
	PRIMARY KEY(`notification_id`, `position`)
);
--> statement-breakpoint
CREATE INDEX `notification_alarms_alarm` ON `notification_alarms` (`alarm_id`);--> statement-breakpoint
CREATE TABLE `remote_refs` (
	`method` text NOT NULL,
	`dedup_key` text NOT NULL,
	`ref` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`method`, `dedup_key`)
);
--> statement-breakpoint
ALTER TABLE `deliveries` ADD `alarm_count` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `notifications` ADD `alarm_count` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
CREATE INDEX `alarms_dedup_key` ON `alarms` (`dedup_key`);