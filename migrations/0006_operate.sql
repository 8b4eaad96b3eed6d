CREATE TABLE `methods` (
	`name` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`settings` text NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `notifications_undelivered_created` ON `notifications` (`created_at`) WHERE state <> 'dead';