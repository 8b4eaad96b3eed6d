/**
 * @module outbox/dead-letters
 * Dead letters (notifications in state `dead`): the list newest first with its filters (method, reason,
 * the time they died) and a keyset position; replay and discard, of ids or of a filter, each in one
 * transaction; and `deadLetterService`, which runs those in the group committer's transaction and keeps
 * the in-memory count of undelivered notifications right once they committed.
 *
 * A replay puts the notification back to `pending`, attempts 0, due now, its lease and dead columns
 * cleared (`last_status` and `last_error` stay, the last outcome seen until the new series writes its
 * own), and writes a marker row in `attempts` (outcome `replayed`, attempt 0, error `replayed by <who>`):
 * the admin API derives the attempt series and the replays from these markers. The claim counts attempts
 * from 1 again. A replayed notification is delivered after the one it comes after (`after_id`) as any
 * other; the ones that went on while it was dead are not held back. A dead letter of a method that is no
 * longer configured is not replayed (skipped, with the reason).
 *
 * A discard deletes dead letters (with their attempts and group members). With a filter naming a method
 * that is no longer configured, and nothing else but that method, it also deletes that method's pending
 * notifications, which nothing would ever deliver.
 */
import type { Logger } from '../lib/logger.ts';
import type { GroupCommitter } from './group-commit.ts';
import type { Connection, RawDb, SqlParam } from './db.ts';
import { REPLAY_MARK } from './admin-queries.ts';

export interface DeadLetterFilter {
  readonly method?: string;
  /** A substring of the reason, case-insensitive. */
  readonly reason?: string;
  /** Bounds of dead_at (epoch ms, inclusive). */
  readonly since?: number;
  readonly until?: number;
}

/** What a replay or discard acts on: these ids, or every dead letter matching the filter (an empty one: all). */
export type DeadLetterSelection = { readonly ids: readonly string[] } | { readonly filter: DeadLetterFilter };

/** The position after the last dead letter of a page: its dead_at and id. */
export type DeadLetterPosition = readonly [number, string];

export interface DeadLetterRow {
  readonly id: string;
  readonly alarmId: string;
  readonly alarmName: string | null;
  readonly method: string;
  readonly deadAt: number;
  readonly deadReason: string | null;
  readonly attempts: number;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly createdAt: number;
}

export interface ReplayOutcome {
  readonly replayed: number;
  readonly ids: string[];
  readonly notFound: string[];
  readonly skipped: { id: string; reason: string }[];
  /** Still matching the filter (replayable ones) after this call; 0 for ids. */
  readonly remaining: number;
}

export interface DiscardOutcome {
  readonly discarded: number;
  readonly ids: string[];
  readonly notFound: string[];
  readonly remaining: number;
  /** Of `discarded`: pending notifications of a removed method (they were counted as undelivered). */
  readonly pendingCleared: number;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** The SQL conditions of a filter on notifications `n`. */
function conditions(f: DeadLetterFilter): { where: string[]; params: SqlParam[] } {
  const where: string[] = [];
  const params: SqlParam[] = [];
  if (f.method !== undefined) where.push('n.method = ?') && params.push(f.method);
  if (f.reason !== undefined) where.push("instr(lower(coalesce(n.dead_reason, '')), lower(?)) > 0") && params.push(f.reason);
  if (f.since !== undefined) where.push('n.dead_at >= ?') && params.push(f.since);
  if (f.until !== undefined) where.push('n.dead_at <= ?') && params.push(f.until);
  return { where, params };
}

const notConfigured = (method: string) => `method "${method}" is no longer configured; add it back to replay, or discard`;

export class DeadLetters {
  readonly #raw: RawDb;

  constructor({ raw }: Connection) {
    this.#raw = raw;
  }

  /** Dead letters newest first (dead_at, then id, descending). */
  list(f: DeadLetterFilter, after: DeadLetterPosition | undefined, limit: number): DeadLetterRow[] {
    const { where, params } = conditions(f);
    if (after) where.push('(n.dead_at < ? OR (n.dead_at = ? AND n.id < ?))') && params.push(after[0], after[0], after[1]);
    const rows = this.#raw
      .prepare(
        `SELECT n.id, n.alarm_id, a.name, n.method, n.dead_at, n.dead_reason, n.attempts, n.last_status, n.last_error, n.created_at
         FROM notifications n LEFT JOIN alarms a ON a.id = n.alarm_id
         WHERE n.state = 'dead' ${where.map((w) => `AND ${w}`).join(' ')} ORDER BY n.dead_at DESC, n.id DESC LIMIT ?`,
      )
      .values(...params, limit);
    return rows.map((v) => ({
      id: String(v[0]), alarmId: String(v[1]), alarmName: str(v[2]), method: String(v[3]), deadAt: Number(v[4]), deadReason: str(v[5]),
      attempts: Number(v[6]), lastStatus: num(v[7]), lastError: str(v[8]), createdAt: Number(v[9]),
    }));
  }

  /** Dead letters matching the filter; `methods`: only those of these methods. */
  count(f: DeadLetterFilter, methods?: readonly string[]): number {
    const { where, params } = conditions(f);
    if (methods) where.push('n.method IN (SELECT value FROM json_each(?))') && params.push(JSON.stringify(methods));
    const v = this.#raw.prepare(`SELECT count(*) FROM notifications n WHERE n.state = 'dead' ${where.map((w) => `AND ${w}`).join(' ')}`).values(...params)[0];
    return Number(v?.[0] ?? 0);
  }

  /**
   * Replays the selection (call inside a transaction): at most `limit` of a filter, oldest first. `methods`:
   * the methods configured now.
   */
  replay(sel: DeadLetterSelection, opts: { limit: number; by: string | undefined; now: number; methods: readonly string[] }): ReplayOutcome {
    const configured = new Set(opts.methods);
    const notFound: string[] = [];
    const skipped: { id: string; reason: string }[] = [];
    let candidates: string[];
    if ('ids' in sel) {
      candidates = [];
      const get = this.#raw.prepare("SELECT method FROM notifications WHERE id = ? AND state = 'dead'");
      for (const id of new Set(sel.ids)) {
        const row = get.values(id)[0];
        if (!row) notFound.push(id);
        else if (!configured.has(String(row[0]))) skipped.push({ id, reason: notConfigured(String(row[0])) });
        else candidates.push(id);
      }
    } else {
      const { where, params } = conditions(sel.filter);
      const and = where.map((w) => `AND ${w}`).join(' ');
      const methods = JSON.stringify(opts.methods);
      candidates = this.#raw
        .prepare(
          `SELECT n.id FROM notifications n WHERE n.state = 'dead' ${and} AND n.method IN (SELECT value FROM json_each(?))
           ORDER BY n.created_at, n.id LIMIT ?`,
        )
        .values(...params, methods, opts.limit)
        .map((v) => String(v[0]));
      for (const v of this.#raw
        .prepare(
          `SELECT n.id, n.method FROM notifications n WHERE n.state = 'dead' ${and} AND n.method NOT IN (SELECT value FROM json_each(?))
           ORDER BY n.created_at, n.id LIMIT ?`,
        )
        .values(...params, methods, opts.limit)) {
        skipped.push({ id: String(v[0]), reason: notConfigured(String(v[1])) });
      }
    }
    // A new series: due now, its attempts from 1 and its max_age from now (created_at is the series' start;
    // the first series' attempts keep their times, and the alarm its received time).
    const revive = this.#raw.prepare(
      `UPDATE notifications SET state = 'pending', attempts = 0, created_at = ?, next_attempt_at = ?, lease_until = NULL, dead_at = NULL, dead_reason = NULL
       WHERE id = ? AND state = 'dead'`,
    );
    const mark = this.#raw.prepare("INSERT INTO attempts (notification_id, attempt, at, outcome, status, latency_ms, error) VALUES (?, 0, ?, 'replayed', NULL, 0, ?)");
    const note = opts.by === undefined || opts.by === '' ? REPLAY_MARK : `${REPLAY_MARK} by ${opts.by}`;
    const ids: string[] = [];
    for (const id of candidates) {
      if (Number(revive.run(opts.now, opts.now, id).changes) === 0) continue;
      mark.run(id, opts.now, note);
      ids.push(id);
    }
    const remaining = 'ids' in sel ? 0 : this.count(sel.filter, opts.methods);
    return { replayed: ids.length, ids, notFound, skipped, remaining };
  }

  /** Discards the selection (call inside a transaction): at most `limit` of a filter, oldest first. */
  discard(sel: DeadLetterSelection, opts: { limit: number; methods: readonly string[] }): DiscardOutcome {
    const notFound: string[] = [];
    let chosen: { id: string; pending: boolean }[];
    let remainingOf: () => number;
    if ('ids' in sel) {
      const get = this.#raw.prepare("SELECT 1 FROM notifications WHERE id = ? AND state = 'dead'");
      chosen = [];
      for (const id of new Set(sel.ids)) {
        if (get.values(id).length === 0) notFound.push(id);
        else chosen.push({ id, pending: false });
      }
      remainingOf = () => 0;
    } else {
      const f = sel.filter;
      const { where, params } = conditions(f);
      const onlyMethod = f.method !== undefined && f.reason === undefined && f.since === undefined && f.until === undefined;
      // A removed method's pending notifications go too: nothing would ever deliver them.
      const clearPending = onlyMethod && !opts.methods.includes(f.method!);
      const match = `(n.state = 'dead' ${where.map((w) => `AND ${w}`).join(' ')})${clearPending ? " OR (n.state = 'pending' AND n.method = ?)" : ''}`;
      const matchParams: SqlParam[] = clearPending ? [...params, f.method!] : params;
      chosen = this.#raw
        .prepare(`SELECT n.id, n.state FROM notifications n WHERE ${match} ORDER BY n.created_at, n.id LIMIT ?`)
        .values(...matchParams, opts.limit)
        .map((v) => ({ id: String(v[0]), pending: v[1] === 'pending' }));
      remainingOf = () => Number(this.#raw.prepare(`SELECT count(*) FROM notifications n WHERE ${match}`).values(...matchParams)[0]?.[0] ?? 0);
    }
    const ids = chosen.map((c) => c.id);
    if (ids.length > 0) {
      const list = JSON.stringify(ids);
      this.#raw.prepare("DELETE FROM notifications WHERE id IN (SELECT value FROM json_each(?)) AND state IN ('dead', 'pending')").run(list);
      this.#raw.prepare('DELETE FROM attempts WHERE notification_id IN (SELECT value FROM json_each(?))').run(list);
      this.#raw.prepare('DELETE FROM notification_alarms WHERE notification_id IN (SELECT value FROM json_each(?))').run(list);
    }
    const pendingCleared = chosen.filter((c) => c.pending).length;
    return { discarded: ids.length, ids, notFound, remaining: remainingOf(), pendingCleared };
  }
}

export interface DeadLetterServiceDeps {
  readonly letters: DeadLetters;
  /** The group committer's submit: the change runs in its transaction (the write lock, storage faults). */
  readonly submit: GroupCommitter['submit'];
  readonly now: () => number;
  /** The methods configured now. */
  readonly methods: () => readonly string[];
  /** Notifications became undelivered again (replayed): count them and wake delivery. */
  readonly arrived: (n: number) => void;
  /** Undelivered notifications were deleted (a removed method's pending ones). */
  readonly settled: (n: number) => void;
  /** Each replay and discard that changed something is logged (with who replayed). */
  readonly logger?: Pick<Logger, 'info'>;
}

/** Dead letters as the admin API changes them. */
export interface DeadLetterService {
  list(f: DeadLetterFilter, after: DeadLetterPosition | undefined, limit: number): DeadLetterRow[];
  replay(sel: DeadLetterSelection, limit: number, by: string | undefined): Promise<ReplayOutcome>;
  discard(sel: DeadLetterSelection, limit: number, by?: string): Promise<DiscardOutcome>;
}

export function deadLetterService(deps: DeadLetterServiceDeps): DeadLetterService {
  const { letters } = deps;
  return {
    list: (f, after, limit) => letters.list(f, after, limit),
    replay: (sel, limit, by) =>
      deps.submit(
        () => letters.replay(sel, { limit, by, now: deps.now(), methods: deps.methods() }),
        (r) => {
          if (r.replayed === 0) return;
          deps.arrived(r.replayed);
          deps.logger?.info({ replayed: r.replayed, by: by ?? null, remaining: r.remaining }, 'dead letters replayed');
        },
      ),
    discard: (sel, limit, by) =>
      deps.submit(
        () => letters.discard(sel, { limit, methods: deps.methods() }),
        (r) => {
          if (r.discarded === 0) return;
          if (r.pendingCleared > 0) deps.settled(r.pendingCleared);
          deps.logger?.info({ discarded: r.discarded, pending_cleared: r.pendingCleared, by: by ?? null, remaining: r.remaining }, 'dead letters discarded');
        },
      ),
  };
}
