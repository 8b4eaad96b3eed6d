/**
 * @module outbox/delivery
 * The delivery side of the outbox: claim due notifications with a lease, record outcomes (sent / retry /
 * dead / release) in batches, leases, and the remote references channels keep per (method, dedup key).
 *
 * It may use a second connection at synchronous=NORMAL: losing such a commit in a power cut can only
 * make a notification be sent again, never lost, and it saves an fsync per delivery batch.
 */
import { and, eq, lte, sql } from 'drizzle-orm';
import type { Alarm } from '../domain/alarm.ts';
import type { RemoteRefUpdates } from '../domain/notification.ts';
import type { AlarmCache } from './alarm-cache.ts';
import type { SyncDb } from './db.ts';
import type { PendingCount } from './pending.ts';
import { alarms, attempts, deliveries, notificationAlarms, notifications, remoteRefs } from './schema.ts';
import { rowToAlarm, type AlarmRow } from './rows.ts';

export interface Claimed {
  readonly id: string;
  readonly method: string;
  /** Attempts including this one. */
  readonly attempt: number;
  readonly createdAt: number;
  /** The alarms the notification carries (one today). */
  readonly alarms: readonly Alarm[];
}

export interface AttemptRecord {
  readonly at: number;
  readonly status?: number;
  readonly latencyMs: number;
  readonly error?: string;
}

export type Completion =
  | ({ readonly kind: 'sent'; readonly n: Claimed; readonly remoteRefs?: RemoteRefUpdates } & AttemptRecord)
  | ({ readonly kind: 'retry'; readonly n: Claimed; readonly nextAttemptAt: number } & AttemptRecord)
  | ({ readonly kind: 'dead'; readonly n: Claimed; readonly reason: string; readonly permanent: boolean } & AttemptRecord)
  /** Attempt aborted by shutdown: back to pending, the attempt not counted. */
  | ({ readonly kind: 'release'; readonly n: Claimed } & AttemptRecord);

/** Rows a statement changed (every driver reports `changes`, a bigint on some). */
function changed(result: unknown): number {
  return Number((result as { changes: number | bigint }).changes);
}

function prepare(db: SyncDb) {
  const ph = sql.placeholder;
  return {
    // The literal state = 'pending' lets SQLite use the partial index notifications_due.
    claim: db
      .update(notifications)
      .set({ state: 'inflight', leaseUntil: sql`${ph('leaseUntil')}`, attempts: sql`${notifications.attempts} + 1` })
      .where(
        sql`${notifications.id} IN (SELECT id FROM notifications WHERE state = 'pending' AND method = ${ph('method')}
            AND next_attempt_at <= ${ph('now')} ORDER BY next_attempt_at LIMIT ${ph('limit')})`,
      )
      .returning({
        id: notifications.id, alarmId: notifications.alarmId, alarmCount: notifications.alarmCount,
        attempts: notifications.attempts, createdAt: notifications.createdAt,
      })
      .prepare(),
    loadMembers: db
      .select()
      .from(notificationAlarms)
      .where(sql`${notificationAlarms.notificationId} IN (SELECT value FROM json_each(${ph('ids')}))`)
      .orderBy(notificationAlarms.notificationId, notificationAlarms.position)
      .prepare(),
    loadAlarms: db
      .select()
      .from(alarms)
      .where(sql`${alarms.id} IN (SELECT value FROM json_each(${ph('ids')}))`)
      .prepare(),
    insertDelivery: db
      .insert(deliveries)
      .values({
        notificationId: ph('id'), alarmId: ph('alarmId'), alarmCount: ph('alarmCount'), method: ph('method'),
        attempts: ph('attempts'), createdAt: ph('createdAt'), sentAt: ph('sentAt'), lastStatus: ph('status'),
      })
      .onConflictDoNothing()
      .prepare(),
    deleteNotification: db.delete(notifications).where(eq(notifications.id, ph('id'))).prepare(),
    retry: db
      .update(notifications)
      .set({
        state: 'pending', leaseUntil: null, nextAttemptAt: sql`${ph('nextAttemptAt')}`,
        lastStatus: sql`${ph('status')}`, lastError: sql`${ph('error')}`,
      })
      .where(eq(notifications.id, ph('id')))
      .prepare(),
    dead: db
      .update(notifications)
      .set({
        state: 'dead', leaseUntil: null, deadAt: sql`${ph('at')}`, deadReason: sql`${ph('reason')}`,
        lastStatus: sql`${ph('status')}`, lastError: sql`${ph('error')}`,
      })
      .where(and(eq(notifications.id, ph('id')), sql`state != 'dead'`))
      .prepare(),
    release: db
      .update(notifications)
      .set({ state: 'pending', leaseUntil: null, attempts: sql`max(${notifications.attempts} - 1, 0)`, nextAttemptAt: sql`${ph('at')}` })
      .where(and(eq(notifications.id, ph('id')), sql`state = 'inflight'`))
      .prepare(),
    insertAttempt: db
      .insert(attempts)
      .values({
        notificationId: ph('id'), attempt: ph('attempt'), at: ph('at'), outcome: ph('outcome'),
        status: ph('status'), latencyMs: ph('latencyMs'), error: ph('error'),
      })
      .prepare(),
    getRefs: db
      .select({ dedupKey: remoteRefs.dedupKey, ref: remoteRefs.ref })
      .from(remoteRefs)
      .where(sql`${remoteRefs.method} = ${ph('method')} AND ${remoteRefs.dedupKey} IN (SELECT value FROM json_each(${ph('keys')}))`)
      .prepare(),
    putRef: db
      .insert(remoteRefs)
      .values({ method: ph('method'), dedupKey: ph('dedupKey'), ref: ph('ref'), updatedAt: ph('at') })
      .onConflictDoUpdate({ target: [remoteRefs.method, remoteRefs.dedupKey], set: { ref: sql`excluded.ref`, updatedAt: sql`excluded.updated_at` } })
      .prepare(),
    deleteRef: db
      .delete(remoteRefs)
      .where(and(eq(remoteRefs.method, ph('method')), eq(remoteRefs.dedupKey, ph('dedupKey'))))
      .prepare(),
  };
}

export class DeliveryLedger {
  readonly #db: SyncDb;
  readonly #q: ReturnType<typeof prepare>;
  readonly #cache: AlarmCache;
  readonly #pending: PendingCount;

  constructor(db: SyncDb, cache: AlarmCache, pending: PendingCount) {
    this.#db = db;
    this.#q = prepare(db);
    this.#cache = cache;
    this.#pending = pending;
  }

  /** Alarms cached for delivery now (tests and metrics). */
  get alarmCacheSize(): number {
    return this.#cache.size;
  }

  /**
   * Leases up to `limit` due notifications of one method, with their alarms, in one transaction. A row
   * whose alarms cannot be read (only a hand-edited database gets there) is dead-lettered with the
   * reason rather than left leased: its batch mates still go out.
   */
  claim(method: string, limit: number, now: number, leaseUntil: number): Claimed[] {
    return this.#db.transaction(() => this.#claim(method, limit, now, leaseUntil));
  }

  #claim(method: string, limit: number, now: number, leaseUntil: number): Claimed[] {
    const rows = this.#q.claim.all({ method, now, limit, leaseUntil });
    if (rows.length === 0) return [];
    // The alarm ids of each notification: alarm_id alone, or its members in order.
    const idsOf = new Map<string, string[]>(rows.map((r) => [r.id, [r.alarmId]]));
    const grouped = rows.filter((r) => r.alarmCount > 1).map((r) => r.id);
    if (grouped.length > 0) {
      for (const id of grouped) idsOf.set(id, []);
      for (const m of this.#q.loadMembers.all({ ids: JSON.stringify(grouped) })) idsOf.get(m.notificationId)!.push(m.alarmId);
    }
    const found = new Map<string, Alarm>();
    const missing = new Set<string>();
    for (const ids of idsOf.values()) {
      for (const id of ids) {
        if (found.has(id)) continue;
        const cached = this.#cache.take(id);
        if (cached) found.set(id, cached);
        else missing.add(id);
      }
    }
    const unreadable = new Map<string, string>();
    if (missing.size > 0) {
      for (const row of this.#q.loadAlarms.all({ ids: JSON.stringify([...missing]) }) as AlarmRow[]) {
        try {
          found.set(row.id, rowToAlarm(row));
        } catch (e) {
          unreadable.set(row.id, e instanceof Error ? e.message : String(e));
        }
      }
    }
    const out: Claimed[] = [];
    for (const r of rows) {
      const ids = idsOf.get(r.id)!;
      const list = ids.map((id) => found.get(id));
      if (ids.length === r.alarmCount && list.every((a) => a !== undefined)) {
        out.push({ id: r.id, method, attempt: r.attempts, createdAt: r.createdAt, alarms: list as Alarm[] });
        continue;
      }
      const lost = ids.filter((_, j) => list[j] === undefined);
      const reason =
        ids.length !== r.alarmCount
          ? `${r.alarmCount} alarms expected, ${ids.length} found in the database`
          : lost.map((id) => (unreadable.has(id) ? `alarm ${id} cannot be read: ${unreadable.get(id)}` : `alarm ${id} is missing from the database`)).join('; ');
      this.#q.dead.run({ id: r.id, at: now, reason, status: null, error: null });
      this.#pending.add(-1);
    }
    return out;
  }

  /** Stored remote references of `method` for these dedup keys. */
  remoteRefs(method: string, dedupKeys: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    if (dedupKeys.length === 0) return out;
    for (const r of this.#q.getRefs.all({ method, keys: JSON.stringify(dedupKeys) })) out[r.dedupKey] = r.ref;
    return out;
  }

  /** Records the outcome of a batch of attempts in one transaction. */
  complete(batch: readonly Completion[]): void {
    let done = 0;
    const q = this.#q;
    this.#db.transaction(() => {
      for (const c of batch) {
        const outcome = c.kind === 'release' ? 'aborted' : c.kind === 'dead' ? (c.permanent ? 'permanent' : 'retry') : c.kind;
        q.insertAttempt.run({
          id: c.n.id, attempt: c.n.attempt, at: c.at, outcome, status: c.status ?? null, latencyMs: c.latencyMs, error: c.error ?? null,
        });
        if (c.kind === 'sent') {
          q.insertDelivery.run({
            id: c.n.id, alarmId: c.n.alarms[0]!.id, alarmCount: c.n.alarms.length, method: c.n.method,
            attempts: c.n.attempt, createdAt: c.n.createdAt, sentAt: c.at, status: c.status ?? null,
          });
          // Counted only if the row was still there (a lease that expired mid-send may have let it go twice).
          done += changed(q.deleteNotification.run({ id: c.n.id }));
          for (const [dedupKey, ref] of Object.entries(c.remoteRefs ?? {})) {
            if (ref === null) q.deleteRef.run({ method: c.n.method, dedupKey });
            else q.putRef.run({ method: c.n.method, dedupKey, ref, at: c.at });
          }
        } else if (c.kind === 'retry') {
          q.retry.run({ id: c.n.id, nextAttemptAt: c.nextAttemptAt, status: c.status ?? null, error: c.error ?? null });
        } else if (c.kind === 'dead') {
          done += changed(q.dead.run({ id: c.n.id, at: c.at, reason: c.reason, status: c.status ?? null, error: c.error ?? null }));
        } else {
          q.release.run({ id: c.n.id, at: c.at });
        }
      }
    });
    this.#pending.add(-done);
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
    return this.#db
      .update(notifications)
      .set({ state: 'pending', leaseUntil: null })
      .where(and(sql`state = 'inflight'`, lte(notifications.leaseUntil, now)))
      .returning({ id: notifications.id })
      .all().length;
  }
}
