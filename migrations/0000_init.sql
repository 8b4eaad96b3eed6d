CREATE TABLE `alarms` (
	`id` text PRIMARY KEY NOT NULL,
	`source` text NOT NULL,
	`name` text NOT NULL,
	`severity` text NOT NULL,
	`status` text NOT NULL,
	`summary` text,
	`description` text,
	`labels` text NOT NULL,
	`annotations` text NOT NULL,
	`details` text,
	`occurred_at` integer NOT NULL,
	`received_at` integer NOT NULL,
	`dedup_key` text NOT NULL,
	`routed_to` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `alarms_received_at` ON `alarms` (`received_at`);--> statement-breakpoint
CREATE TABLE `attempts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`notification_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`at` integer NOT NULL,
	`outcome` text NOT NULL,
	`status` integer,
	`latency_ms` integer NOT NULL,
	`error` text
);
--> statement-breakpoint
CREATE INDEX `attempts_notification` ON `attempts` (`notification_id`);--> statement-breakpoint
CREATE INDEX `attempts_at` ON `attempts` (`at`);--> statement-breakpoint
CREATE TABLE `deliveries` (
	`notification_id` text PRIMARY KEY NOT NULL,
	`alarm_id` text NOT NULL,
	`method` text NOT NULL,
	`attempts` integer NOT NULL,
	`created_at` integer NOT NULL,
	`sent_at` integer NOT NULL,
	`last_status` integer
);
--> statement-breakpoint
CREATE INDEX `deliveries_sent_at` ON `deliveries` (`sent_at`);--> statement-breakpoint
CREATE INDEX `deliveries_alarm` ON `deliveries` (`alarm_id`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`key` text PRIMARY KEY NOT NULL,
	`alarm_ids` text NOT NULL,
	`notification_ids` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_created_at` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` text PRIMARY KEY NOT NULL,
	`alarm_id` text NOT NULL,
	`method` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`lease_until` integer,
	`last_status` integer,
	`last_error` text,
	`dead_reason` text,
	`dead_at` integer
);
--> statement-breakpoint
CREATE INDEX `notifications_due` ON `notifications` (`method`,`next_attempt_at`) WHERE state = 'pending';--> statement-breakpoint
CREATE INDEX `notifications_lease` ON `notifications` (`lease_until`) WHERE state = 'inflight';--> statement-breakpoint
CREATE INDEX `notifications_alarm` ON `notifications` (`alarm_id`);--> statement-breakpoint
CREATE INDEX `notifications_dead` ON `notifications` (`dead_at`) WHERE state = 'dead';