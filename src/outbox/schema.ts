/**
 * @module outbox/schema
 * The one drizzle schema. Migrations in migrations/ are generated from it by drizzle-kit (forward-only).
 * Times are epoch milliseconds.
 */
import { sqliteTable, text, integer, index, primaryKey } from 'drizzle-orm/sqlite-core';
import { sql } from 'drizzle-orm';

export const alarms = sqliteTable(
  'alarms',
  {
    id: text('id').primaryKey(),
    source: text('source').notNull(),
    name: text('name').notNull(),
    severity: text('severity').notNull(),
    status: text('status').notNull(),
    summary: text('summary'),
    description: text('description'),
    labels: text('labels').notNull(),
    annotations: text('annotations').notNull(),
    details: text('details'),
    occurredAt: integer('occurred_at').notNull(),
    receivedAt: integer('received_at').notNull(),
    dedupKey: text('dedup_key').notNull(),
    /** Number of methods its routes gave it; 0 = unrouted. */
    routedTo: integer('routed_to').notNull(),
    /** When a firing alarm resolves by itself unless refreshed (`ends_at`); null: never. */
    endsAt: integer('ends_at'),
  },
  // Only what prune needs: every index costs each insert (the dedup key's had no reader).
  (t) => [index('alarms_received_at').on(t.receivedAt)],
);

/** The hot outbox: undelivered notifications (pending, inflight) and the dead letters. */
export const notifications = sqliteTable(
  'notifications',
  {
    id: text('id').primaryKey(),
    /** The notification's (first) alarm. */
    alarmId: text('alarm_id').notNull(),
    /** How many alarms it carries; more than one (grouping): all of them are in notification_alarms. */
    alarmCount: integer('alarm_count').notNull().default(1),
    method: text('method').notNull(),
    state: text('state', { enum: ['pending', 'inflight', 'dead'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    createdAt: integer('created_at').notNull(),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    leaseUntil: integer('lease_until'),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    deadReason: text('dead_reason'),
    deadAt: integer('dead_at'),
    /**
     * The notification this one is delivered after: the previous one of the same method and alarm (or
     * group). It waits while that one is pending or in flight (a resolved never overtakes its firing);
     * null: nothing to wait for.
     */
    afterId: text('after_id'),
    /** 0: a state change; n: the n-th repeat of a still-firing alarm (repeat_interval). */
    repeat: integer('repeat').notNull().default(0),
  },
  (t) => [
    index('notifications_due').on(t.method, t.nextAttemptAt).where(sql`state = 'pending'`),
    index('notifications_lease').on(t.leaseUntil).where(sql`state = 'inflight'`),
    index('notifications_alarm').on(t.alarmId),
    index('notifications_dead').on(t.deadAt).where(sql`state = 'dead'`),
    // The oldest undelivered notification (a metric read at each scrape), exact whatever the backlog.
    index('notifications_undelivered_created').on(t.createdAt).where(sql`state <> 'dead'`),
  ],
);

/** Delivered notifications, kept for `database.retention`. */
export const deliveries = sqliteTable(
  'deliveries',
  {
    notificationId: text('notification_id').primaryKey(),
    alarmId: text('alarm_id').notNull(),
    /** As in notifications. */
    alarmCount: integer('alarm_count').notNull().default(1),
    method: text('method').notNull(),
    attempts: integer('attempts').notNull(),
    createdAt: integer('created_at').notNull(),
    sentAt: integer('sent_at').notNull(),
    lastStatus: integer('last_status'),
  },
  (t) => [index('deliveries_sent_at').on(t.sentAt), index('deliveries_alarm').on(t.alarmId)],
);

/** Every delivery attempt: time, outcome, HTTP status, latency, error. */
export const attempts = sqliteTable(
  'attempts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    notificationId: text('notification_id').notNull(),
    attempt: integer('attempt').notNull(),
    at: integer('at').notNull(),
    outcome: text('outcome', { enum: ['sent', 'retry', 'permanent', 'aborted', 'replayed'] }).notNull(),
    status: integer('status'),
    latencyMs: integer('latency_ms').notNull(),
    error: text('error'),
  },
  (t) => [index('attempts_notification').on(t.notificationId), index('attempts_at').on(t.at)],
);

/** Idempotency: a repeat of a key within the TTL answers with the original ids. */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    key: text('key').primaryKey(),
    alarmIds: text('alarm_ids').notNull(),
    notificationIds: text('notification_ids').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('idempotency_keys_created_at').on(t.createdAt)],
);

/**
 * The alarms of a notification that carries more than one (grouping), in order; a notification of one
 * alarm has no rows here (its notifications.alarm_id says it all).
 */
export const notificationAlarms = sqliteTable(
  'notification_alarms',
  {
    notificationId: text('notification_id').notNull(),
    position: integer('position').notNull(),
    alarmId: text('alarm_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.notificationId, t.position] }), index('notification_alarms_alarm').on(t.alarmId)],
);

/**
 * What a channel created remotely for an alarm, per (method, dedup key): a PagerDuty dedup_key, a Jira
 * issue key, a Slack message ts. Written by a successful send, read by the next send for the same key
 * (so a resolve can address what the firing created). Kept until the channel removes it (a resolve
 * writes null): an incident may stay open longer than any retention.
 */
export const remoteRefs = sqliteTable(
  'remote_refs',
  {
    method: text('method').notNull(),
    dedupKey: text('dedup_key').notNull(),
    ref: text('ref').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.method, t.dedupKey] })],
);

/**
 * One run of a heartbeat canary (issue #10): the canary alarm injected, its notifications followed until
 * every one was sent (succeeded) or one failed or ran out of time (failed). `stage` is the canary service's
 * own step name; `latency_ms` (succeeded runs): injection → the last notification sent; `detail`: free
 * text, such as the latency per method.
 */
export const canaryRuns = sqliteTable(
  'canary_runs',
  {
    rid: text('rid').primaryKey(),
    canary: text('canary').notNull(),
    startedAt: integer('started_at').notNull(),
    stage: text('stage').notNull(),
    firingAlarmId: text('firing_alarm_id'),
    resolvedAlarmId: text('resolved_alarm_id'),
    outcome: text('outcome', { enum: ['open', 'succeeded', 'failed'] }).notNull(),
    reason: text('reason'),
    finishedAt: integer('finished_at'),
    latencyMs: integer('latency_ms'),
    detail: text('detail'),
  },
  (t) => [
    index('canary_runs_canary_started').on(t.canary, t.startedAt),
    index('canary_runs_open').on(t.canary, t.startedAt).where(sql`outcome = 'open'`),
  ],
);

/**
 * The lifecycle state of each alarm, per (source, dedup key) (issue #13): its status and since when,
 * the occurrences seen, its latest occurrence (`alarm_id`), the silence muting it, and per method the
 * status last notified and the repeat schedule (`methods`, JSON: see lifecycle/state). `wake_at`: the
 * next time the lifecycle timer has work for it (expiry, repeat, the end of a flap-damping hold).
 */
export const alarmStates = sqliteTable(
  'alarm_states',
  {
    source: text('source').notNull(),
    dedupKey: text('dedup_key').notNull(),
    status: text('status', { enum: ['firing', 'resolved'] }).notNull(),
    since: integer('since').notNull(),
    lastSeen: integer('last_seen').notNull(),
    count: integer('count').notNull(),
    alarmId: text('alarm_id').notNull(),
    endsAt: integer('ends_at'),
    silencedBy: text('silenced_by'),
    /** 1: its latest occurrence was recorded without notifying (monasca actionsEnabled: false). */
    quiet: integer('quiet').notNull().default(0),
    methods: text('methods').notNull().default('{}'),
    wakeAt: integer('wake_at'),
  },
  // A rowid table (rows appended) with its primary key as an index: measured faster to insert into at
  // random dedup keys than WITHOUT ROWID (whose whole rows would land at random places).
  (t) => [primaryKey({ columns: [t.source, t.dedupKey] }), index('alarm_states_wake').on(t.wakeAt).where(sql`wake_at IS NOT NULL`)],
);

/** Silences (maintenance windows): alarms matching `match` (JSON, the syntax of routes[].match) between the times are not notified. */
export const silences = sqliteTable(
  'silences',
  {
    id: text('id').primaryKey(),
    match: text('match').notNull(),
    startsAt: integer('starts_at').notNull(),
    endsAt: integer('ends_at').notNull(),
    comment: text('comment').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('silences_ends_at').on(t.endsAt)],
);

/**
 * Groups of notifications being gathered (routes[].group_by): per (method, group key), when the gathered
 * alarms go out (`flush_at`, null while empty) and when the last group went (for group_interval).
 */
export const alarmGroups = sqliteTable(
  'alarm_groups',
  {
    key: text('key').primaryKey(),
    method: text('method').notNull(),
    flushAt: integer('flush_at'),
    lastFlushAt: integer('last_flush_at'),
    intervalMs: integer('interval_ms').notNull(),
    /** The group's last notification: the next one is delivered after it. */
    lastNotificationId: text('last_notification_id'),
  },
  (t) => [index('alarm_groups_flush').on(t.flushAt).where(sql`flush_at IS NOT NULL`)],
);

/** The alarms gathered in a group until it goes out, in arrival order. */
export const alarmGroupMembers = sqliteTable(
  'alarm_group_members',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    groupKey: text('group_key').notNull(),
    alarmId: text('alarm_id').notNull(),
    repeat: integer('repeat').notNull().default(0),
  },
  (t) => [index('alarm_group_members_group').on(t.groupKey)],
);

/**
 * Heartbeat checks added at runtime (issue #15; the admin API, the CLI): file checks live in the config.
 * The schedule is a period (`period_ms`) or a cron expression (`schedule`, read in `tz`); `labels` is JSON.
 */
export const checks = sqliteTable('checks', {
  name: text('name').primaryKey(),
  uuid: text('uuid').notNull().unique(),
  periodMs: integer('period_ms'),
  schedule: text('schedule'),
  tz: text('tz'),
  graceMs: integer('grace_ms').notNull(),
  labels: text('labels').notNull().default('{}'),
  paused: integer('paused').notNull().default(0),
  createdAt: integer('created_at').notNull(),
});

/**
 * What is kept about every check, file and runtime, by name: its UUID (a file check without a fixed one
 * keeps the UUID generated for it here, so it survives restarts), its state (checks/types CheckState, JSON)
 * and `due_at`, when the check goes down unless pinged (the checks' timer reads it).
 */
export const checkStates = sqliteTable(
  'check_states',
  {
    name: text('name').primaryKey(),
    uuid: text('uuid').notNull(),
    state: text('state').notNull(),
    dueAt: integer('due_at'),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('check_states_due').on(t.dueAt).where(sql`due_at IS NOT NULL`)],
);

/**
 * Notification methods created through the admin API (file methods live in the config). `settings` is the
 * method as it was given (JSON: `type` and the same keys as a method in the config file, secrets and
 * `*_file` paths included), validated again by the config parser at every start.
 */
export const methods = sqliteTable('methods', {
  name: text('name').primaryKey(),
  type: text('type').notNull(),
  settings: text('settings').notNull(),
  createdAt: integer('created_at').notNull(),
  createdBy: text('created_by'),
  updatedAt: integer('updated_at').notNull(),
});

export const schema = { alarmStates, silences, alarmGroups, alarmGroupMembers, alarms, notifications, deliveries, attempts, idempotencyKeys, notificationAlarms, remoteRefs, canaryRuns, checks, checkStates, methods };
