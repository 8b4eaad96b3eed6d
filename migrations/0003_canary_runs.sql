CREATE TABLE `canary_runs` (
	`rid` text PRIMARY KEY NOT NULL,
	`canary` text NOT NULL,
	`started_at` integer NOT NULL,
	`stage` text NOT NULL,
	`firing_alarm_id` text,
	`resolved_alarm_id` text,
	`outcome` text NOT NULL,
	`reason` text,
	`finished_at` integer,
	`latency_ms` integer,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `canary_runs_canary_started` ON `canary_runs` (`canary`,`started_at`);--> statement-breakpoint
CREATE INDEX `canary_runs_open` ON `canary_runs` (`canary`,`started_at`) WHERE outcome = 'open';