/**
 * @module outbox/canary-runs
 * The heartbeat canaries' runs (issue #10) in `canary_runs`, and what became of the notifications of a
 * run's alarms: pending (or in flight), sent (in `deliveries`) or dead. Writes take the write lock when
 * there is one (another thread writes to the database), as the rest of the outbox does.
 */
import { and, asc, desc, eq, lt, ne, sql } from 'drizzle-orm';
import type { SyncDb } from './db.ts';
import { changed } from './delivery.ts';
import { canaryRuns } from './schema.ts';
import { withLock, type WriteLock } from './write-lock.ts';

export type CanaryRunOutcome = 'open' | 'succeeded' | 'failed';

/** One row of `canary_runs`, column by column. Times are epoch milliseconds. */
export interface CanaryRunRow {
  readonly rid: string;
  readonly canary: string;
  readonly startedAt: number;
  /** The canary service's own name for the step the run is at. */
  readonly stage: string;
  readonly firingAlarmId: string | null;
  readonly resolvedAlarmId: string | null;
  readonly outcome: CanaryRunOutcome;
  /** Why a run failed. */
  readonly reason: string | null;
  readonly finishedAt: number | null;
  /** Succeeded runs: injection → the last notification sent. */
  readonly latencyMs: number | null;
  /** Free text, such as the latency per method. */
  readonly detail: string | null;
}

// CanaryRunRow is exactly the table's row (a column added to one and not the other fails to compile).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const rowMatchesTable: Same<CanaryRunRow, Readonly<typeof canaryRuns.$inferSelect>> = true;
void rowMatchesTable;

/** A notification of a canary alarm, as far as it got. */
export interface CanaryNotification {
  readonly id: string;
  readonly method: string;
  /** The alarm (one of those asked about) the notification carries. */
  readonly alarmId: string;
  /** pending: pending or in flight; sent: delivered; dead: given up. */
  readonly state: 'pending' | 'sent' | 'dead';
  /** The error of the last failed attempt (pending or dead), if any. */
  readonly lastError: string | null;
  /** Why it is dead. */
  readonly deadReason: string | null;
  /** When it was sent (epoch milliseconds, as the outbox stores it). */
  readonly sentAt: number | null;
}

export class CanaryRuns {
  readonly #db: SyncDb;
  readonly #lock: WriteLock | undefined;

  constructor(db: SyncDb, lock?: WriteLock) {
    this.#db = db;
    this.#lock = lock;
  }

  /** Inserts the run, or replaces every column of the run with the same rid. */
  save(run: CanaryRunRow): void {
    const { rid: _, ...rest } = run;
    withLock(this.#lock, () => this.#db.insert(canaryRuns).values(run).onConflictDoUpdate({ target: canaryRuns.rid, set: rest }).run());
  }

  /** The open runs (of one canary, or of all), oldest first. */
  open(canary?: string): CanaryRunRow[] {
    // The literal (not a bound parameter) lets SQLite use the partial index canary_runs_open.
    const isOpen = sql`${canaryRuns.outcome} = 'open'`;
    return this.#db
      .select()
      .from(canaryRuns)
      .where(canary === undefined ? isOpen : and(isOpen, eq(canaryRuns.canary, canary)))
      .orderBy(asc(canaryRuns.startedAt), asc(canaryRuns.rid))
      .all();
  }

  /**
   * Runs a process left unfinished: open ones, and decided ones whose final ping was not confirmed
   * (stage `reporting`), oldest first.
   */
  unfinished(): CanaryRunRow[] {
    return this.#db
      .select()
      .from(canaryRuns)
      .where(sql`${canaryRuns.outcome} = 'open' OR ${canaryRuns.stage} = 'reporting'`)
      .orderBy(asc(canaryRuns.startedAt), asc(canaryRuns.rid))
      .all();
  }

  /** When a run of the canary last succeeded (its finish, epoch ms), or undefined if none has (in the retention). */
  lastSucceededAt(canary: string): number | undefined {
    const row = this.#db.get<{ t: number | null }>(sql`SELECT max(finished_at) AS t FROM canary_runs WHERE canary = ${canary} AND outcome = 'succeeded'`);
    return row?.t ?? undefined;
  }

  /** The latest `limit` runs of a canary, newest first. */
  recent(canary: string, limit: number): CanaryRunRow[] {
    return this.#db
      .select()
      .from(canaryRuns)
      .where(eq(canaryRuns.canary, canary))
      .orderBy(desc(canaryRuns.startedAt), desc(canaryRuns.rid))
      .limit(Math.max(0, Math.floor(limit)))
      .all();
  }

  /**
   * Deletes the finished runs (succeeded or failed) that started before `olderThan` (epoch milliseconds);
   * open runs stay until the canary service closes them. Returns how many were deleted.
   */
  prune(olderThan: number): number {
    return withLock(this.#lock, () =>
      changed(this.#db.delete(canaryRuns).where(and(lt(canaryRuns.startedAt, olderThan), ne(canaryRuns.outcome, 'open'))).run()),
    );
  }

  /**
   * Every notification of these alarms, with its state: one entry per notification and asked-for alarm it
   * carries (a notification carries one alarm, unless grouped), in the order of `alarmIds`, then oldest
   * first. A notification in `deliveries` is sent; in `notifications`, pending (or in flight) or dead.
   */
  notificationsOf(alarmIds: readonly string[]): CanaryNotification[] {
    if (alarmIds.length === 0) return [];
    const ids = JSON.stringify(alarmIds);
    return this.#db.all<CanaryNotification>(sql`
      WITH wanted(pos, alarm_id) AS (SELECT key, value FROM json_each(${ids})),
      pairs(nid, aid) AS (
        SELECT id, alarm_id FROM notifications WHERE alarm_id IN (SELECT alarm_id FROM wanted)
        UNION SELECT notification_id, alarm_id FROM deliveries WHERE alarm_id IN (SELECT alarm_id FROM wanted)
        UNION SELECT notification_id, alarm_id FROM notification_alarms WHERE alarm_id IN (SELECT alarm_id FROM wanted)
      )
      SELECT p.nid AS id,
        coalesce(d.method, n.method) AS method,
        p.aid AS alarmId,
        CASE WHEN d.notification_id IS NOT NULL THEN 'sent' WHEN n.state = 'dead' THEN 'dead' ELSE 'pending' END AS state,
        CASE WHEN d.notification_id IS NULL THEN n.last_error END AS lastError,
        CASE WHEN d.notification_id IS NULL AND n.state = 'dead' THEN n.dead_reason END AS deadReason,
        d.sent_at AS sentAt
      FROM pairs p
      LEFT JOIN notifications n ON n.id = p.nid
      LEFT JOIN deliveries d ON d.notification_id = p.nid
      WHERE n.id IS NOT NULL OR d.notification_id IS NOT NULL
      ORDER BY (SELECT min(w.pos) FROM wanted w WHERE w.alarm_id = p.aid), coalesce(d.created_at, n.created_at), p.nid`);
  }
}
