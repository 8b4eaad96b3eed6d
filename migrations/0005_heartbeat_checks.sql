CREATE TABLE `check_states` (
	`name` text PRIMARY KEY NOT NULL,
	`uuid` text NOT NULL,
	`state` text NOT NULL,
	`due_at` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `check_states_due` ON `check_states` (`due_at`) WHERE due_at IS NOT NULL;--> statement-breakpoint
CREATE TABLE `checks` (
	`name` text PRIMARY KEY NOT NULL,
	`uuid` text NOT NULL,
	`period_ms` integer,
	`schedule` text,
	`tz` text,
	`grace_ms` integer NOT NULL,
	`labels` text DEFAULT '{}' NOT NULL,
	`paused` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `checks_uuid_unique` ON `checks` (`uuid`);