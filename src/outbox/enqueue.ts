/**
 * @module outbox/enqueue
 * The ingest side of the outbox: alarms, their notifications and idempotency keys, written inside the
 * group-committed transaction on the main connection (the configured synchronous level, FULL by default:
 * an acknowledged alarm survives a power cut).
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Alarm } from '../domain/alarm.ts';
import type { SyncDb } from './db.ts';
import { alarms, idempotencyKeys, notificationAlarms, notifications } from './schema.ts';
import { alarmToRow } from './rows.ts';

export interface NewNotification {
  readonly id: string;
  /** The alarms it carries (one today), in order. */
  readonly alarmIds: readonly string[];
  readonly method: string;
  readonly createdAt: number;
}

export interface IdempotencyRecord {
  readonly alarmIds: string[];
  readonly notificationIds: string[];
}

/** Hot statements prepared once on the main connection. */
export function prepareEnqueue(db: SyncDb) {
  const ph = sql.placeholder;
  return {
    insertAlarm: db
      .insert(alarms)
      .values({
        id: ph('id'), source: ph('source'), name: ph('name'), severity: ph('severity'), status: ph('status'),
        summary: ph('summary'), description: ph('description'), labels: ph('labels'), annotations: ph('annotations'),
        details: ph('details'), occurredAt: ph('occurredAt'), receivedAt: ph('receivedAt'), dedupKey: ph('dedupKey'),
        routedTo: ph('routedTo'),
      })
      .prepare(),
    insertNotification: db
      .insert(notifications)
      .values({
        id: ph('id'), alarmId: ph('alarmId'), alarmCount: ph('alarmCount'), method: ph('method'), state: 'pending',
        attempts: 0, createdAt: ph('createdAt'), nextAttemptAt: ph('createdAt'),
      })
      .prepare(),
    insertMember: db
      .insert(notificationAlarms)
      .values({ notificationId: ph('notificationId'), position: ph('position'), alarmId: ph('alarmId') })
      .prepare(),
    getIdem: db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.key, ph('key')), sql`${idempotencyKeys.createdAt} >= ${ph('since')}`))
      .prepare(),
    putIdem: db
      .insert(idempotencyKeys)
      .values({ key: ph('key'), alarmIds: ph('alarmIds'), notificationIds: ph('notificationIds'), createdAt: ph('createdAt') })
      .onConflictDoUpdate({
        target: idempotencyKeys.key,
        set: { alarmIds: sql`excluded.alarm_ids`, notificationIds: sql`excluded.notification_ids`, createdAt: sql`excluded.created_at` },
      })
      .prepare(),
  };
}

/** Call inside a transaction (`transaction`), then `OutboxStore.noteCommitted` once it committed. */
export class Enqueuer {
  readonly #db: SyncDb;
  readonly #q: ReturnType<typeof prepareEnqueue>;

  constructor(db: SyncDb) {
    this.#db = db;
    this.#q = prepareEnqueue(db);
  }

  /** Runs fn in one transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(() => fn());
  }

  insertAlarm(a: Alarm, routedTo: number): void {
    this.#q.insertAlarm.run(alarmToRow(a, routedTo));
  }

  insertNotification(n: NewNotification): void {
    const first = n.alarmIds[0];
    if (first === undefined) throw new Error(`notification ${n.id} carries no alarm`);
    this.#q.insertNotification.run({ id: n.id, alarmId: first, alarmCount: n.alarmIds.length, method: n.method, createdAt: n.createdAt });
    if (n.alarmIds.length > 1) {
      n.alarmIds.forEach((alarmId, position) => this.#q.insertMember.run({ notificationId: n.id, position, alarmId }));
    }
  }

  getIdempotency(key: string, since: number): IdempotencyRecord | undefined {
    const row = this.#q.getIdem.get({ key, since });
    if (!row) return undefined;
    return { alarmIds: JSON.parse(row.alarmIds) as string[], notificationIds: JSON.parse(row.notificationIds) as string[] };
  }

  putIdempotency(key: string, rec: IdempotencyRecord, at: number): void {
    this.#q.putIdem.run({ key, alarmIds: JSON.stringify(rec.alarmIds), notificationIds: JSON.stringify(rec.notificationIds), createdAt: at });
  }
}
