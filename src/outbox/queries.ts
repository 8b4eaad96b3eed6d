/**
 * @module outbox/queries
 * Read-only questions about the outbox: one alarm and its notifications, attempt history, counts.
 */
import { eq, inArray, or, sql } from 'drizzle-orm';
import type { Alarm } from '../domain/alarm.ts';
import type { SyncDb } from './db.ts';
import { alarms, attempts, deliveries, notificationAlarms, notifications } from './schema.ts';
import { rowToAlarm } from './rows.ts';

export class OutboxQueries {
  readonly #db: SyncDb;

  constructor(db: SyncDb) {
    this.#db = db;
  }

  countUndelivered(): number {
    return this.#db.get<{ c: number }>(sql`SELECT count(*) AS c FROM notifications WHERE state != 'dead'`)?.c ?? 0;
  }

  /** Undelivered (pending or in flight) notifications per method. */
  undeliveredByMethod(): Map<string, number> {
    const rows = this.#db.all<{ method: string; c: number }>(
      sql`SELECT method, count(*) AS c FROM notifications WHERE state != 'dead' GROUP BY method`,
    );
    return new Map(rows.map((r) => [r.method, r.c]));
  }

  countsByState(): { pending: number; inflight: number; dead: number; delivered: number } {
    const rows = this.#db.all<{ state: string; c: number }>(sql`SELECT state, count(*) AS c FROM notifications GROUP BY state`);
    const by = Object.fromEntries(rows.map((r) => [r.state, r.c]));
    const delivered = this.#db.get<{ c: number }>(sql`SELECT count(*) AS c FROM deliveries`)?.c ?? 0;
    return { pending: by.pending ?? 0, inflight: by.inflight ?? 0, dead: by.dead ?? 0, delivered };
  }

  getAlarm(id: string): Alarm | undefined {
    const row = this.#db.select().from(alarms).where(eq(alarms.id, id)).get();
    return row ? rowToAlarm(row) : undefined;
  }

  /** The undelivered and dead notifications carrying the alarm: as their first alarm or in a group. */
  notificationsOf(alarmId: string) {
    return this.#db
      .select()
      .from(notifications)
      .where(or(eq(notifications.alarmId, alarmId), inArray(notifications.id, this.#groupsOf(alarmId))))
      .all();
  }

  /** The delivered notifications carrying the alarm: as their first alarm or in a group. */
  deliveriesOf(alarmId: string) {
    return this.#db
      .select()
      .from(deliveries)
      .where(or(eq(deliveries.alarmId, alarmId), inArray(deliveries.notificationId, this.#groupsOf(alarmId))))
      .all();
  }

  #groupsOf(alarmId: string) {
    return this.#db.select({ id: notificationAlarms.notificationId }).from(notificationAlarms).where(eq(notificationAlarms.alarmId, alarmId));
  }

  attemptsOf(notificationId: string) {
    return this.#db.select().from(attempts).where(eq(attempts.notificationId, notificationId)).orderBy(attempts.id).all();
  }
}
