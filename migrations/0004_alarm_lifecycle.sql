CREATE TABLE `alarm_group_members` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`group_key` text NOT NULL,
	`alarm_id` text NOT NULL,
	`repeat` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `alarm_group_members_group` ON `alarm_group_members` (`group_key`);--> statement-breakpoint
CREATE TABLE `alarm_groups` (
	`key` text PRIMARY KEY NOT NULL,
	`method` text NOT NULL,
	`flush_at` integer,
	`last_flush_at` integer,
	`interval_ms` integer NOT NULL,
	`last_notification_id` text
);
--> statement-breakpoint
CREATE INDEX `alarm_groups_flush` ON `alarm_groups` (`flush_at`) WHERE flush_at IS NOT NULL;--> statement-breakpoint
CREATE TABLE `alarm_states` (
	`source` text NOT NULL,
	`dedup_key` text NOT NULL,
	`status` text NOT NULL,
	`since` integer NOT NULL,
	`last_seen` integer NOT NULL,
	`count` integer NOT NULL,
	`alarm_id` text NOT NULL,
	`ends_at` integer,
	`silenced_by` text,
	`quiet` integer DEFAULT 0 NOT NULL,
	`methods` text DEFAULT '{}' NOT NULL,
	`wake_at` integer,
	PRIMARY KEY(`source`, `dedup_key`)
);
--> statement-breakpoint
CREATE INDEX `alarm_states_wake` ON `alarm_states` (`wake_at`) WHERE wake_at IS NOT NULL;--> statement-breakpoint
CREATE TABLE `silences` (
	`id` text PRIMARY KEY NOT NULL,
	`match` text NOT NULL,
	`starts_at` integer NOT NULL,
	`ends_at` integer NOT NULL,
	`comment` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `silences_ends_at` ON `silences` (`ends_at`);--> statement-breakpoint
ALTER TABLE `alarms` ADD `ends_at` integer;--> statement-breakpoint
ALTER TABLE `notifications` ADD `after_id` text;--> statement-breakpoint
ALTER TABLE `notifications` ADD `repeat` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Alarms that were notified before the lifecycle existed get their state: the latest occurrence of each
-- (source, dedup key); when it fires, every method that got (or is getting) its notification was told
-- firing, and one still undelivered is what the next notification of that method waits for. Their
-- resolve is then notified, in order, like any other.
INSERT INTO `alarm_states` (`source`, `dedup_key`, `status`, `since`, `last_seen`, `count`, `alarm_id`, `methods`)
SELECT l.`source`, l.`dedup_key`, l.`status`, l.`received_at`, l.`received_at`, 1, l.`id`,
  CASE WHEN l.`status` = 'firing' THEN coalesce((
    SELECT json_group_object(x.`method`, CASE WHEN x.`pid` IS NULL
      THEN json_object('st', 'firing', 'at', l.`received_at`, 'rat', l.`received_at`, 'n', 0)
      ELSE json_object('st', 'firing', 'at', l.`received_at`, 'rat', l.`received_at`, 'n', 0, 'id', x.`pid`) END)
    FROM (
      SELECT `method`, max(`id`) AS `pid` FROM `notifications` WHERE `alarm_id` = l.`id` AND `state` != 'dead' GROUP BY `method`
      UNION ALL
      SELECT DISTINCT `method`, NULL FROM `deliveries` WHERE `alarm_id` = l.`id`
        AND `method` NOT IN (SELECT `method` FROM `notifications` WHERE `alarm_id` = l.`id` AND `state` != 'dead')
    ) x
  ), '{}') ELSE '{}' END
FROM (SELECT `id`, `source`, `dedup_key`, `status`, max(`received_at`) AS `received_at` FROM `alarms` GROUP BY `source`, `dedup_key`) l;
