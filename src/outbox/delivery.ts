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
import type { Connection, RawDb, SyncDb } from './db.ts';
import type { PendingCount } from './pending.ts';
import { withLock, type WriteLock } from './write-lock.ts';
import { notificationAlarms, notifications, remoteRefs } from './schema.ts';
import { ALARM_COLUMNS, rowFromValues, rowToAlarm } from './rows.ts';

export interface Claimed {
  readonly id: string;
  readonly method: string;
  /** Attempts including this one. */
  readonly attempt: number;
  readonly createdAt: number;
  /** The alarms the notification carries, in order. */
  readonly alarms: readonly Alarm[];
  /** The n-th reminder; 0: a state change. */
  readonly repeat: number;
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

/** The part of the ledger the dispatcher uses. */
export type DispatchLedger = Pick<DeliveryLedger, 'claim' | 'complete' | 'remoteRefs'>;

/**
 * The ledger of a dispatcher that keeps time on a steady clock (lib/monotonic-clock): its times become
 * the outbox's as they are written, with the shift of that moment, and the outbox's become its own as
 * they are read. So an outcome decided before the schedule was re-based (outbox/rebase) and written
 * after it lands where it should, and a notification claimed before a re-base keeps its true age. Each
 * call reads the shift while it writes: the re-base moves it under the write lock that the delivery
 * thread's writes take (outbox/shared-ledger), and on the main thread nothing runs in between.
 */
export function onSteadyTime(ledger: DispatchLedger, shift: () => number): DispatchLedger {
  return {
    claim(method, limit, now, leaseUntil) {
      const s = shift();
      const claimed = ledger.claim(method, limit, now + s, leaseUntil + s);
      return s === 0 ? claimed : claimed.map((n) => ({ ...n, createdAt: n.createdAt - s }));
    },
    complete(batch) {
      const s = shift();
      ledger.complete(s === 0 ? batch : batch.map((c) => shifted(c, s)));
    },
    remoteRefs: (method, dedupKeys) => ledger.remoteRefs(method, dedupKeys),
  };
}

/** A completion with its times moved by s. */
function shifted(c: Completion, s: number): Completion {
  const n = { ...c.n, createdAt: c.n.createdAt + s };
  return c.kind === 'retry' ? { ...c, n, at: c.at + s, nextAttemptAt: c.nextAttemptAt + s } : { ...c, n, at: c.at + s };
}

/** Rows a statement changed (every driver reports `changes`, a bigint on some). */
export function changed(result: unknown): number {
  return Number((result as { changes: number | bigint }).changes);
}

/** The statements run per notification go to the driver directly; the rest through drizzle. */
function prepare({ db, raw }: Connection) {
  const ph = sql.placeholder;
  return {
    // The literal state = 'pending' lets SQLite use the partial index notifications_due. A notification
    // waits while the one it comes after (after_id: the previous one of its method and alarm) is pending
    // or in flight, a primary-key lookup (a resolved never overtakes its firing); the others go on. The
    // subquery runs before the update: of a chain only the first undelivered one is taken.
    claim: raw.prepare(
      `UPDATE notifications SET state = 'inflight', lease_until = ?, attempts = attempts + 1
       WHERE id IN (SELECT n.id FROM notifications n WHERE n.state = 'pending' AND n.method = ? AND n.next_attempt_at <= ?
                      AND (n.after_id IS NULL OR NOT EXISTS (SELECT 1 FROM notifications p WHERE p.id = n.after_id AND p.state != 'dead'))
                    ORDER BY n.next_attempt_at LIMIT ?)
       RETURNING id, alarm_id, alarm_count, attempts, created_at, repeat`,
    ),
    loadMembers: db
      .select()
      .from(notificationAlarms)
      .where(sql`${notificationAlarms.notificationId} IN (SELECT value FROM json_each(${ph('ids')}))`)
      .orderBy(notificationAlarms.notificationId, notificationAlarms.position)
      .prepare(),
    loadAlarms: raw.prepare(`SELECT ${ALARM_COLUMNS} FROM alarms WHERE id IN (SELECT value FROM json_each(?))`),
    insertDelivery: raw.prepare(
      `INSERT INTO deliveries (notification_id, alarm_id, alarm_count, method, attempts, created_at, sent_at, last_status)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    deleteNotification: raw.prepare('DELETE FROM notifications WHERE id = ?'),
    retry: raw.prepare(
      `UPDATE notifications SET state = 'pending', lease_until = NULL, next_attempt_at = ?, last_status = ?, last_error = ?
       WHERE id = ?`,
    ),
    dead: raw.prepare(
      `UPDATE notifications SET state = 'dead', lease_until = NULL, dead_at = ?, dead_reason = ?, last_status = ?, last_error = ?
       WHERE id = ? AND state != 'dead'`,
    ),
    release: raw.prepare(
      `UPDATE notifications SET state = 'pending', lease_until = NULL, attempts = max(attempts - 1, 0), next_attempt_at = ?
       WHERE id = ? AND state = 'inflight'`,
    ),
    insertAttempt: raw.prepare(
      'INSERT INTO attempts (notification_id, attempt, at, outcome, status, latency_ms, error) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
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
  readonly #raw: RawDb;
  readonly #q: ReturnType<typeof prepare>;
  readonly #cache: AlarmCache;
  readonly #pending: Pick<PendingCount, 'add'>;
  readonly #lock: WriteLock | undefined;

  /**
   * `pending` is told of every notification that leaves the outbox (sent or dead); `lock`, when another
   * thread writes to the same database, is taken around each write transaction.
   */
  constructor(conn: Connection, cache: AlarmCache, pending: Pick<PendingCount, 'add'>, lock?: WriteLock) {
    this.#db = conn.db;
    this.#raw = conn.raw;
    this.#lock = lock;
    this.#q = prepare(conn);
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
    return withLock(this.#lock, () => this.#raw.transaction(() => this.#claim(method, limit, now, leaseUntil)));
  }

  #claim(method: string, limit: number, now: number, leaseUntil: number): Claimed[] {
    const rows = this.#q.claim.values(leaseUntil, method, now, limit).map((v) => ({
      id: v[0] as string, alarmId: v[1] as string, alarmCount: Number(v[2]), attempts: Number(v[3]), createdAt: Number(v[4]), repeat: Number(v[5] ?? 0),
    }));
    if (rows.length === 0) return [];
    // RETURNING gives no order: keep the claim's (oldest due first).
    if (rows.length > 1) rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
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
      for (const v of this.#q.loadAlarms.values(JSON.stringify([...missing]))) {
        const row = rowFromValues(v);
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
        out.push({ id: r.id, method, attempt: r.attempts, createdAt: r.createdAt, alarms: list as Alarm[], repeat: r.repeat });
        continue;
      }
      const lost = ids.filter((_, j) => list[j] === undefined);
      const reason =
        ids.length !== r.alarmCount
          ? `${r.alarmCount} alarms expected, ${ids.length} found in the database`
          : lost.map((id) => (unreadable.has(id) ? `alarm ${id} cannot be read: ${unreadable.get(id)}` : `alarm ${id} is missing from the database`)).join('; ');
      this.#q.dead.run(now, reason, null, null, r.id);
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
    withLock(this.#lock, () => this.#raw.transaction(() => {
      for (const c of batch) {
        const outcome = c.kind === 'release' ? 'aborted' : c.kind === 'dead' ? (c.permanent ? 'permanent' : 'retry') : c.kind;
        const status = c.status ?? null;
        q.insertAttempt.run(c.n.id, c.n.attempt, c.at, outcome, status, c.latencyMs, c.error ?? null);
        if (c.kind === 'sent') {
          q.insertDelivery.run(c.n.id, c.n.alarms[0]!.id, c.n.alarms.length, c.n.method, c.n.attempt, c.n.createdAt, c.at, status);
          // Counted only if the row was still there (a lease that expired mid-send may have let it go twice).
          done += changed(q.deleteNotification.run(c.n.id));
          for (const [dedupKey, ref] of Object.entries(c.remoteRefs ?? {})) {
            if (ref === null) q.deleteRef.run({ method: c.n.method, dedupKey });
            else q.putRef.run({ method: c.n.method, dedupKey, ref, at: c.at });
          }
        } else if (c.kind === 'retry') {
          q.retry.run(c.nextAttemptAt, status, c.error ?? null, c.n.id);
        } else if (c.kind === 'dead') {
          done += changed(q.dead.run(c.at, c.reason, status, c.error ?? null, c.n.id));
        } else {
          q.release.run(c.at, c.n.id);
        }
      }
    }));
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
