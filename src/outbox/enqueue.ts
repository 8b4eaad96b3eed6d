/**
 * @module outbox/enqueue
 * The ingest side of the outbox: alarms, their notifications and idempotency keys, written inside the
 * group-committed transaction on the main connection (the configured synchronous level, FULL by default:
 * an acknowledged alarm survives a power cut).
 */
import { sql } from 'drizzle-orm';
import type { Alarm } from '../domain/alarm.ts';
import type { Connection, RawDb } from './db.ts';
import { notificationAlarms } from './schema.ts';
import { ALARM_COLUMNS, ALARM_PLACEHOLDERS, alarmToValues } from './rows.ts';
import { withLock, type WriteLock } from './write-lock.ts';

export interface NewNotification {
  readonly id: string;
  /** The alarms it carries (one today), in order. */
  readonly alarmIds: readonly string[];
  readonly method: string;
  readonly createdAt: number;
  /** Delivered after this notification (the previous one of the same method and alarm): see schema. */
  readonly afterId?: string;
  /** The n-th reminder (repeat_interval); 0 or absent: a state change. */
  readonly repeat?: number;
}

export interface IdempotencyRecord {
  readonly alarmIds: string[];
  readonly notificationIds: string[];
}

/** Statements prepared once on the main connection; the two written per alarm go to the driver directly. */
export function prepareEnqueue({ db, raw }: Connection) {
  const ph = sql.placeholder;
  return {
    insertAlarm: raw.prepare(`INSERT INTO alarms (${ALARM_COLUMNS}) VALUES (${ALARM_PLACEHOLDERS})`),
    insertNotification: raw.prepare(
      `INSERT INTO notifications (id, alarm_id, alarm_count, method, state, attempts, created_at, next_attempt_at, after_id, repeat)
       VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)`,
    ),
    insertMember: db
      .insert(notificationAlarms)
      .values({ notificationId: ph('notificationId'), position: ph('position'), alarmId: ph('alarmId') })
      .prepare(),
    getIdem: raw.prepare('SELECT alarm_ids, notification_ids FROM idempotency_keys WHERE key = ? AND created_at >= ?'),
    putIdem: raw.prepare(
      `INSERT INTO idempotency_keys (key, alarm_ids, notification_ids, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET alarm_ids = excluded.alarm_ids, notification_ids = excluded.notification_ids, created_at = excluded.created_at`,
    ),
  };
}

/** Call inside a transaction (`transaction`), then `OutboxStore.noteCommitted` once it committed. */
export class Enqueuer {
  readonly #raw: RawDb;
  readonly #q: ReturnType<typeof prepareEnqueue>;
  readonly #lock: WriteLock | undefined;

  /** `lock`: taken around each transaction when another thread writes to the same database. */
  constructor(conn: Connection, lock?: WriteLock) {
    this.#raw = conn.raw;
    this.#lock = lock;
    this.#q = prepareEnqueue(conn);
  }

  /** Runs fn in one transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T {
    return withLock(this.#lock, () => this.#raw.transaction(fn));
  }

  insertAlarm(a: Alarm, routedTo: number): void {
    this.#q.insertAlarm.run(...alarmToValues(a, routedTo));
  }

  insertNotification(n: NewNotification): void {
    const first = n.alarmIds[0];
    if (first === undefined) throw new Error(`notification ${n.id} carries no alarm`);
    this.#q.insertNotification.run(n.id, first, n.alarmIds.length, n.method, n.createdAt, n.createdAt, n.afterId ?? null, n.repeat ?? 0);
    if (n.alarmIds.length > 1) {
      n.alarmIds.forEach((alarmId, position) => this.#q.insertMember.run({ notificationId: n.id, position, alarmId }));
    }
  }

  getIdempotency(key: string, since: number): IdempotencyRecord | undefined {
    const row = this.#q.getIdem.values(key, since)[0];
    if (!row) return undefined;
    return { alarmIds: JSON.parse(String(row[0])) as string[], notificationIds: JSON.parse(String(row[1])) as string[] };
  }

  putIdempotency(key: string, rec: IdempotencyRecord, at: number): void {
    this.#q.putIdem.run(key, JSON.stringify(rec.alarmIds), JSON.stringify(rec.notificationIds), at);
  }
}
