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
    /** Number of notifications created for it; 0 = unrouted. */
    routedTo: integer('routed_to').notNull(),
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
  },
  (t) => [
    index('notifications_due').on(t.method, t.nextAttemptAt).where(sql`state = 'pending'`),
    index('notifications_lease').on(t.leaseUntil).where(sql`state = 'inflight'`),
    index('notifications_alarm').on(t.alarmId),
    index('notifications_dead').on(t.deadAt).where(sql`state = 'dead'`),
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
    outcome: text('outcome', { enum: ['sent', 'retry', 'permanent', 'aborted'] }).notNull(),
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

export const schema = { alarms, notifications, deliveries, attempts, idempotencyKeys, notificationAlarms, remoteRefs, canaryRuns };
