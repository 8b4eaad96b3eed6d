/**
 * @module outbox/store
 * The outbox repository: enqueue, claim with a lease, complete (sent / retry / dead / release), prune.
 * Synchronous (every SQLite driver we use is); hot statements are prepared once.
 * A notification moves pending → inflight (leased) → sent (moved to `deliveries`) | pending again | dead.
 *
 * Two connections: ingest writes go through `db` (the configured synchronous level, FULL by default:
 * an acknowledged alarm survives a power cut). Delivery bookkeeping (claim, complete, leases) may use a
 * second connection at synchronous=NORMAL: losing such a commit in a power cut can only make a
 * notification be sent again, never lost, and it saves an fsync per delivery batch.
 */
import { and, eq, lte, sql } from 'drizzle-orm';
import type { Alarm } from '../domain/alarm.ts';
import type { SyncDb } from './db.ts';
import { alarms, attempts, deliveries, idempotencyKeys, notifications } from './schema.ts';
import { alarmToRow, rowToAlarm, type AlarmRow } from './rows.ts';

export interface NewNotification {
  readonly id: string;
  readonly alarmId: string;
  readonly method: string;
  readonly createdAt: number;
}

export interface Claimed {
  readonly id: string;
  readonly method: string;
  /** Attempts including this one. */
  readonly attempt: number;
  readonly createdAt: number;
  readonly alarm: Alarm;
}

export interface AttemptRecord {
  readonly at: number;
  readonly status?: number;
  readonly latencyMs: number;
  readonly error?: string;
}

export type Completion =
  | ({ readonly kind: 'sent'; readonly n: Claimed } & AttemptRecord)
  | ({ readonly kind: 'retry'; readonly n: Claimed; readonly nextAttemptAt: number } & AttemptRecord)
  | ({ readonly kind: 'dead'; readonly n: Claimed; readonly reason: string; readonly permanent: boolean } & AttemptRecord)
  /** Attempt aborted by shutdown: back to pending, the attempt not counted. */
  | ({ readonly kind: 'release'; readonly n: Claimed } & AttemptRecord);

export interface IdempotencyRecord {
  readonly alarmIds: string[];
  readonly notificationIds: string[];
}

/** The alarm cache holds alarms with notifications not yet claimed, bounded by count and by size. */
const ALARM_CACHE_MAX = 20_000;
const ALARM_CACHE_MAX_BYTES = 64 * 1024 * 1024;

interface CachedAlarm {
  readonly alarm: Alarm;
  /** Notifications of this alarm not yet claimed from the cache. */
  remaining: number;
  readonly bytes: number;
}

/** Rough size of an alarm in memory (its strings dominate). */
function approxBytes(a: Alarm): number {
  let n = 256 + (a.summary?.length ?? 0) + (a.description?.length ?? 0);
  for (const [k, v] of Object.entries(a.labels)) n += k.length + v.length;
  for (const [k, v] of Object.entries(a.annotations)) n += k.length + v.length;
  if (a.details !== undefined) n += JSON.stringify(a.details).length;
  return 2 * n;
}

export class OutboxStore {
  readonly #db: SyncDb;
  readonly #ddb: SyncDb;
  #pending: number;
  /** Alarms enqueued by this process, so the delivery fast path need not read them back. */
  readonly #alarmCache = new Map<string, CachedAlarm>();
  #alarmCacheBytes = 0;

  readonly #insertAlarm;
  readonly #insertNotification;
  readonly #getIdem;
  readonly #putIdem;
  readonly #claim;
  readonly #loadAlarms;
  readonly #insertDelivery;
  readonly #deleteNotification;
  readonly #retry;
  readonly #dead;
  readonly #release;
  readonly #insertAttempt;

  constructor(db: SyncDb, deliveryDb: SyncDb = db) {
    this.#db = db;
    this.#ddb = deliveryDb;
    const ph = sql.placeholder;
    this.#insertAlarm = db
      .insert(alarms)
      .values({
        id: ph('id'), source: ph('source'), name: ph('name'), severity: ph('severity'), status: ph('status'),
        summary: ph('summary'), description: ph('description'), labels: ph('labels'), annotations: ph('annotations'),
        details: ph('details'), occurredAt: ph('occurredAt'), receivedAt: ph('receivedAt'), dedupKey: ph('dedupKey'),
        routedTo: ph('routedTo'),
      })
      .prepare();
    this.#insertNotification = db
      .insert(notifications)
      .values({
        id: ph('id'), alarmId: ph('alarmId'), method: ph('method'), state: 'pending', attempts: 0,
        createdAt: ph('createdAt'), nextAttemptAt: ph('createdAt'),
      })
      .prepare();
    this.#getIdem = db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.key, ph('key')), sql`${idempotencyKeys.createdAt} >= ${ph('since')}`))
      .prepare();
    this.#putIdem = db
      .insert(idempotencyKeys)
      .values({ key: ph('key'), alarmIds: ph('alarmIds'), notificationIds: ph('notificationIds'), createdAt: ph('createdAt') })
      .onConflictDoUpdate({
        target: idempotencyKeys.key,
        set: { alarmIds: sql`excluded.alarm_ids`, notificationIds: sql`excluded.notification_ids`, createdAt: sql`excluded.created_at` },
      })
      .prepare();
    // The literal state = 'pending' lets SQLite use the partial index notifications_due.
    this.#claim = deliveryDb
      .update(notifications)
      .set({ state: 'inflight', leaseUntil: sql`${ph('leaseUntil')}`, attempts: sql`${notifications.attempts} + 1` })
      .where(
        sql`${notifications.id} IN (SELECT id FROM notifications WHERE state = 'pending' AND method = ${ph('method')}
            AND next_attempt_at <= ${ph('now')} ORDER BY next_attempt_at LIMIT ${ph('limit')})`,
      )
      .returning({ id: notifications.id, alarmId: notifications.alarmId, attempts: notifications.attempts, createdAt: notifications.createdAt })
      .prepare();
    this.#loadAlarms = deliveryDb
      .select()
      .from(alarms)
      .where(sql`${alarms.id} IN (SELECT value FROM json_each(${ph('ids')}))`)
      .prepare();
    this.#insertDelivery = deliveryDb
      .insert(deliveries)
      .values({
        notificationId: ph('id'), alarmId: ph('alarmId'), method: ph('method'), attempts: ph('attempts'),
        createdAt: ph('createdAt'), sentAt: ph('sentAt'), lastStatus: ph('status'),
      })
      .onConflictDoNothing()
      .prepare();
    this.#deleteNotification = deliveryDb.delete(notifications).where(eq(notifications.id, ph('id'))).prepare();
    this.#retry = deliveryDb
      .update(notifications)
      .set({
        state: 'pending', leaseUntil: null, nextAttemptAt: sql`${ph('nextAttemptAt')}`,
        lastStatus: sql`${ph('status')}`, lastError: sql`${ph('error')}`,
      })
      .where(eq(notifications.id, ph('id')))
      .prepare();
    this.#dead = deliveryDb
      .update(notifications)
      .set({
        state: 'dead', leaseUntil: null, deadAt: sql`${ph('at')}`, deadReason: sql`${ph('reason')}`,
        lastStatus: sql`${ph('status')}`, lastError: sql`${ph('error')}`,
      })
      .where(eq(notifications.id, ph('id')))
      .prepare();
    this.#release = deliveryDb
      .update(notifications)
      .set({ state: 'pending', leaseUntil: null, attempts: sql`max(${notifications.attempts} - 1, 0)`, nextAttemptAt: sql`${ph('at')}` })
      .where(and(eq(notifications.id, ph('id')), sql`state = 'inflight'`))
      .prepare();
    this.#insertAttempt = deliveryDb
      .insert(attempts)
      .values({
        notificationId: ph('id'), attempt: ph('attempt'), at: ph('at'), outcome: ph('outcome'),
        status: ph('status'), latencyMs: ph('latencyMs'), error: ph('error'),
      })
      .prepare();
    this.#pending = this.countUndelivered();
  }

  /** Runs fn in one transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(() => fn());
  }

  // ---- enqueue side (call inside a transaction; then notePending after it commits) ----

  insertAlarm(a: Alarm, routedTo: number): void {
    this.#insertAlarm.run(alarmToRow(a, routedTo));
  }

  insertNotification(n: NewNotification): void {
    this.#insertNotification.run({ ...n });
  }

  getIdempotency(key: string, since: number): IdempotencyRecord | undefined {
    const row = this.#getIdem.get({ key, since });
    if (!row) return undefined;
    return { alarmIds: JSON.parse(row.alarmIds) as string[], notificationIds: JSON.parse(row.notificationIds) as string[] };
  }

  putIdempotency(key: string, rec: IdempotencyRecord, at: number): void {
    this.#putIdem.run({ key, alarmIds: JSON.stringify(rec.alarmIds), notificationIds: JSON.stringify(rec.notificationIds), createdAt: at });
  }

  /** After an enqueue transaction committed: count its notifications and cache its alarms until claimed. */
  noteCommitted(committed: readonly { readonly alarm: Alarm; readonly notifications: number }[]): void {
    for (const { alarm, notifications } of committed) {
      this.#pending += notifications;
      if (notifications === 0) continue;
      const entry: CachedAlarm = { alarm, remaining: notifications, bytes: approxBytes(alarm) };
      if (entry.bytes > ALARM_CACHE_MAX_BYTES / 16) continue; // a huge alarm is read back when claimed
      while (this.#alarmCache.size >= ALARM_CACHE_MAX || this.#alarmCacheBytes + entry.bytes > ALARM_CACHE_MAX_BYTES) {
        const oldest = this.#alarmCache.keys().next().value;
        if (oldest === undefined) break;
        this.#uncache(oldest);
      }
      this.#alarmCache.set(alarm.id, entry);
      this.#alarmCacheBytes += entry.bytes;
    }
  }

  #uncache(id: string): void {
    const entry = this.#alarmCache.get(id);
    if (!entry) return;
    this.#alarmCache.delete(id);
    this.#alarmCacheBytes -= entry.bytes;
  }

  /** Alarms cached for delivery now (tests and metrics). */
  get alarmCacheSize(): number {
    return this.#alarmCache.size;
  }

  /** Undelivered (pending or in flight) notifications, maintained in memory. */
  get pendingCount(): number {
    return this.#pending;
  }

  // ---- delivery side ----

  /** Leases up to `limit` due notifications of one method. */
  claim(method: string, limit: number, now: number, leaseUntil: number): Claimed[] {
    const rows = this.#claim.all({ method, now, limit, leaseUntil });
    if (rows.length === 0) return [];
    const found = new Map<string, Alarm>();
    const missing: string[] = [];
    for (const r of rows) {
      const entry = this.#alarmCache.get(r.alarmId);
      if (entry) {
        found.set(r.alarmId, entry.alarm);
        if (--entry.remaining <= 0) this.#uncache(r.alarmId);
      } else if (!found.has(r.alarmId)) missing.push(r.alarmId);
    }
    if (missing.length > 0) {
      for (const row of this.#loadAlarms.all({ ids: JSON.stringify(missing) }) as AlarmRow[]) found.set(row.id, rowToAlarm(row));
    }
    const out: Claimed[] = [];
    for (const r of rows) {
      const alarm = found.get(r.alarmId);
      if (!alarm) {
        // Only a hand-edited database gets here: dead-letter the one row rather than stall its batch forever.
        this.#dead.run({ id: r.id, at: now, reason: `alarm ${r.alarmId} is missing from the database`, status: null, error: null });
        this.#pending--;
        continue;
      }
      out.push({ id: r.id, method, attempt: r.attempts, createdAt: r.createdAt, alarm });
    }
    return out;
  }

  /** Records the outcome of a batch of attempts in one transaction. */
  complete(batch: readonly Completion[]): void {
    let done = 0;
    this.#ddb.transaction(() => {
      for (const c of batch) {
        const outcome = c.kind === 'release' ? 'aborted' : c.kind === 'dead' ? (c.permanent ? 'permanent' : 'retry') : c.kind;
        this.#insertAttempt.run({
          id: c.n.id, attempt: c.n.attempt, at: c.at, outcome, status: c.status ?? null, latencyMs: c.latencyMs, error: c.error ?? null,
        });
        if (c.kind === 'sent') {
          this.#insertDelivery.run({
            id: c.n.id, alarmId: c.n.alarm.id, method: c.n.method, attempts: c.n.attempt, createdAt: c.n.createdAt, sentAt: c.at,
            status: c.status ?? null,
          });
          this.#deleteNotification.run({ id: c.n.id });
          done++;
        } else if (c.kind === 'retry') {
          this.#retry.run({ id: c.n.id, nextAttemptAt: c.nextAttemptAt, status: c.status ?? null, error: c.error ?? null });
        } else if (c.kind === 'dead') {
          this.#dead.run({ id: c.n.id, at: c.at, reason: c.reason, status: c.status ?? null, error: c.error ?? null });
          done++;
        } else {
          this.#release.run({ id: c.n.id, at: c.at });
        }
      }
    });
    this.#pending -= done;
  }

  /** Startup recovery: every lease left by a previous process is void. Returns how many. */
  releaseAllLeases(now: number): number {
    return this.#db
      .update(notifications)
      .set({ state: 'pending', leaseUntil: null, nextAttemptAt: now })
      .where(sql`state = 'inflight'`)
      .returning({ id: notifications.id })
      .all().length;
  }

  /** Leases that outlived their holder become claimable again. */
  releaseExpiredLeases(now: number): number {
    return this.#ddb
      .update(notifications)
      .set({ state: 'pending', leaseUntil: null })
      .where(and(sql`state = 'inflight'`, lte(notifications.leaseUntil, now)))
      .returning({ id: notifications.id })
      .all().length;
  }

  /**
   * Deletes history older than the retention: delivery log, attempts, dead letters (by when they died),
   * expired idempotency keys, and alarms with nothing left to deliver or show.
   */
  prune(now: number, retentionMs: number, idempotencyTtlMs: number): void {
    const horizon = now - retentionMs;
    this.#db.transaction((tx) => {
      tx.delete(deliveries).where(lte(deliveries.sentAt, horizon)).run();
      tx.delete(attempts).where(lte(attempts.at, horizon)).run();
      tx.run(sql`DELETE FROM notifications WHERE state = 'dead' AND dead_at <= ${horizon}`);
      tx.delete(idempotencyKeys).where(lte(idempotencyKeys.createdAt, now - idempotencyTtlMs)).run();
      tx.run(sql`DELETE FROM alarms WHERE received_at <= ${horizon}
        AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.alarm_id = alarms.id)
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.alarm_id = alarms.id)`);
    });
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

  notificationsOf(alarmId: string) {
    return this.#db.select().from(notifications).where(eq(notifications.alarmId, alarmId)).all();
  }

  deliveriesOf(alarmId: string) {
    return this.#db.select().from(deliveries).where(eq(deliveries.alarmId, alarmId)).all();
  }

  attemptsOf(notificationId: string) {
    return this.#db.select().from(attempts).where(eq(attempts.notificationId, notificationId)).orderBy(attempts.id).all();
  }

  /** Cheap write probe for /readyz. */
  probeWritable(): void {
    this.#db.run(sql`BEGIN IMMEDIATE`);
    this.#db.run(sql`ROLLBACK`);
  }
}
