/**
 * @module outbox/lifecycle-store
 * The lifecycle's tables (issue #13): alarm states, silences, groups being gathered. Every write runs
 * inside the caller's transaction (the group committer's, on the main connection), so a state, the
 * notifications it made and the alarm that caused them commit together or not at all.
 */
import type { Alarm, AlarmStatus } from '../domain/alarm.ts';
import type { AlarmState, MethodMark } from '../lifecycle/state.ts';
import type { Silence } from '../lifecycle/silence.ts';
import { groupFlushAt } from '../lifecycle/group.ts';
import type { Connection, RawStatement, SqlParam } from './db.ts';
import { ALARM_COLUMNS, rowFromValues, rowToAlarm } from './rows.ts';

const STATE_COLUMNS = 'source, dedup_key, status, since, last_seen, count, alarm_id, ends_at, silenced_by, methods, wake_at, quiet';

/** A silence as stored: its match as the JSON text written. */
export type SilenceRow = Omit<Silence, 'match' | 'matchText'> & { readonly match: string };

/** A group due to go out: its alarms (with the repeat number each was gathered for), in arrival order. */
export interface DueGroup {
  readonly key: string;
  readonly method: string;
  /** The group's last notification (the next one is delivered after it). */
  readonly lastNotificationId?: string;
  readonly members: readonly { readonly alarmId: string; readonly repeat: number }[];
}

/** Filters of the state list (GET /v1/alarms). */
export interface StateFilter {
  readonly status?: AlarmStatus;
  readonly source?: string;
  /** label name → exact value. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Resume after this (source, dedup key), as returned by the previous page. */
  readonly after?: readonly [string, string];
  readonly limit: number;
}

function stateFromValues(v: readonly unknown[]): AlarmState {
  const endsAt = v[7] === null ? undefined : Number(v[7]);
  const silencedBy = v[8] === null ? undefined : String(v[8]);
  const wakeAt = v[10] === null ? undefined : Number(v[10]);
  return {
    source: String(v[0]), dedupKey: String(v[1]), status: v[2] as AlarmStatus, since: Number(v[3]), lastSeen: Number(v[4]),
    count: Number(v[5]), alarmId: String(v[6]),
    ...(endsAt !== undefined && { endsAt }),
    ...(silencedBy !== undefined && { silencedBy }),
    methods: JSON.parse(String(v[9])) as Record<string, MethodMark>,
    ...(wakeAt !== undefined && { wakeAt }),
    ...(Number(v[11]) === 1 && { quiet: true as const }),
  };
}

function stateToValues(s: AlarmState): SqlParam[] {
  return [
    s.source, s.dedupKey, s.status, s.since, s.lastSeen, s.count, s.alarmId, s.endsAt ?? null, s.silencedBy ?? null,
    JSON.stringify(s.methods), s.wakeAt ?? null, s.quiet ? 1 : 0,
  ];
}

function silenceFromValues(v: readonly unknown[]): SilenceRow {
  return {
    id: String(v[0]), match: String(v[1]), startsAt: Number(v[2]), endsAt: Number(v[3]), comment: String(v[4]),
    createdBy: String(v[5]), createdAt: Number(v[6]), updatedAt: Number(v[7]),
  };
}

export class LifecycleStore {
  readonly #q: Record<string, RawStatement>;
  readonly #raw: Connection['raw'];

  constructor({ raw }: Connection) {
    this.#raw = raw;
    const a = ALARM_COLUMNS.split(', ').map((c) => `a.${c}`).join(', ');
    const s = STATE_COLUMNS.split(', ').map((c) => `s.${c}`).join(', ');
    this.#q = {
      get: raw.prepare(`SELECT ${STATE_COLUMNS} FROM alarm_states WHERE source = ? AND dedup_key = ?`),
      put: raw.prepare(
        `INSERT INTO alarm_states (${STATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (source, dedup_key) DO UPDATE SET status = excluded.status, since = excluded.since, last_seen = excluded.last_seen,
           count = excluded.count, alarm_id = excluded.alarm_id, ends_at = excluded.ends_at, silenced_by = excluded.silenced_by,
           methods = excluded.methods, wake_at = excluded.wake_at, quiet = excluded.quiet`,
      ),
      due: raw.prepare(`SELECT ${STATE_COLUMNS} FROM alarm_states WHERE wake_at IS NOT NULL AND wake_at <= ? ORDER BY wake_at LIMIT ?`),
      nextWake: raw.prepare('SELECT min(wake_at) FROM alarm_states WHERE wake_at IS NOT NULL'),
      firing: raw.prepare(
        `SELECT ${s}, ${a} FROM alarm_states s JOIN alarms a ON a.id = s.alarm_id WHERE s.status = 'firing'`,
      ),
      alarm: raw.prepare(`SELECT ${ALARM_COLUMNS} FROM alarms WHERE id = ?`),
      putSilence: raw.prepare(
        `INSERT INTO silences (id, match, starts_at, ends_at, comment, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      endSilence: raw.prepare('UPDATE silences SET ends_at = ?, updated_at = ? WHERE id = ? AND ends_at > ?'),
      getSilence: raw.prepare('SELECT id, match, starts_at, ends_at, comment, created_by, created_at, updated_at FROM silences WHERE id = ?'),
      allSilences: raw.prepare(
        'SELECT id, match, starts_at, ends_at, comment, created_by, created_at, updated_at FROM silences ORDER BY created_at, id',
      ),
      silencesSince: raw.prepare(
        'SELECT id, match, starts_at, ends_at, comment, created_by, created_at, updated_at FROM silences WHERE ends_at > ? ORDER BY created_at, id',
      ),
      group: raw.prepare('SELECT flush_at, last_flush_at FROM alarm_groups WHERE key = ?'),
      putGroup: raw.prepare(
        `INSERT INTO alarm_groups (key, method, flush_at, last_flush_at, interval_ms) VALUES (?, ?, ?, NULL, ?)
         ON CONFLICT (key) DO UPDATE SET flush_at = excluded.flush_at, interval_ms = excluded.interval_ms`,
      ),
      addMember: raw.prepare('INSERT INTO alarm_group_members (group_key, alarm_id, repeat) VALUES (?, ?, ?)'),
      dueGroups: raw.prepare(
        'SELECT key, method, last_notification_id FROM alarm_groups WHERE flush_at IS NOT NULL AND flush_at <= ? ORDER BY flush_at LIMIT ?',
      ),
      nextFlush: raw.prepare('SELECT min(flush_at) FROM alarm_groups WHERE flush_at IS NOT NULL'),
      members: raw.prepare('SELECT alarm_id, repeat FROM alarm_group_members WHERE group_key = ? ORDER BY id'),
      clearMembers: raw.prepare('DELETE FROM alarm_group_members WHERE group_key = ?'),
      flushed: raw.prepare('UPDATE alarm_groups SET flush_at = NULL, last_flush_at = ?, last_notification_id = ? WHERE key = ?'),
    };
  }

  getState(source: string, dedupKey: string): AlarmState | undefined {
    const row = this.#q.get!.values(source, dedupKey)[0];
    return row ? stateFromValues(row) : undefined;
  }

  putState(s: AlarmState): void {
    this.#q.put!.run(...stateToValues(s));
  }

  /** States with timer work due by `now`, earliest first. */
  dueStates(now: number, limit: number): AlarmState[] {
    return this.#q.due!.values(now, limit).map(stateFromValues);
  }

  /** The earliest timer work of any state or group (Infinity: none). */
  nextWake(): number {
    const s = this.#q.nextWake!.values()[0]?.[0];
    const g = this.#q.nextFlush!.values()[0]?.[0];
    return Math.min(s === null || s === undefined ? Infinity : Number(s), g === null || g === undefined ? Infinity : Number(g));
  }

  /** Every firing alarm with its latest occurrence (the silence sweep). */
  firing(): { state: AlarmState; alarm: Alarm }[] {
    const n = STATE_COLUMNS.split(', ').length;
    return this.#q.firing!.values().map((v) => ({ state: stateFromValues(v.slice(0, n)), alarm: rowToAlarm(rowFromValues(v.slice(n))) }));
  }

  getAlarm(id: string): Alarm | undefined {
    const row = this.#q.alarm!.values(id)[0];
    return row ? rowToAlarm(rowFromValues(row)) : undefined;
  }

  /** Current states with their latest occurrence, in (source, dedup key) order. */
  list(f: StateFilter): { state: AlarmState; alarm: Alarm }[] {
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (f.status) where.push('s.status = ?') && params.push(f.status);
    if (f.source !== undefined) where.push('s.source = ?') && params.push(f.source);
    for (const [k, v] of Object.entries(f.labels ?? {})) {
      where.push('json_extract(a.labels, ?) = ?');
      params.push(`$.${JSON.stringify(k)}`, v);
    }
    if (f.after) where.push('(s.source, s.dedup_key) > (?, ?)') && params.push(f.after[0], f.after[1]);
    const n = STATE_COLUMNS.split(', ').length;
    const s = STATE_COLUMNS.split(', ').map((c) => `s.${c}`).join(', ');
    const a = ALARM_COLUMNS.split(', ').map((c) => `a.${c}`).join(', ');
    const stmt = this.#raw.prepare(
      `SELECT ${s}, ${a} FROM alarm_states s JOIN alarms a ON a.id = s.alarm_id
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY s.source, s.dedup_key LIMIT ?`,
    );
    return stmt.values(...params, f.limit).map((v) => ({ state: stateFromValues(v.slice(0, n)), alarm: rowToAlarm(rowFromValues(v.slice(n))) }));
  }

  // ---- silences ------------------------------------------------------------------------------

  insertSilence(s: SilenceRow): void {
    this.#q.putSilence!.run(s.id, s.match, s.startsAt, s.endsAt, s.comment, s.createdBy, s.createdAt, s.updatedAt);
  }

  /** Ends a silence now (if it has not ended); true if it changed. */
  expireSilence(id: string, now: number): boolean {
    return Number(this.#q.endSilence!.run(now, now, id, now).changes) > 0;
  }

  getSilence(id: string): SilenceRow | undefined {
    const row = this.#q.getSilence!.values(id)[0];
    return row ? silenceFromValues(row) : undefined;
  }

  /** Every stored silence (ended ones until the retention prunes them), oldest first. */
  allSilences(): SilenceRow[] {
    return this.#q.allSilences!.values().map(silenceFromValues);
  }

  /** Silences that end after `t` (active or to come, when t is now), oldest first. */
  silencesEndingAfter(t: number): SilenceRow[] {
    return this.#q.silencesSince!.values(t).map(silenceFromValues);
  }

  // ---- groups --------------------------------------------------------------------------------

  /**
   * Gathers an alarm into its group. An empty group goes out `waitMs` after its first alarm, but not
   * sooner than `intervalMs` after the group last went.
   */
  gather(key: string, method: string, alarmId: string, repeat: number, now: number, waitMs: number, intervalMs: number): void {
    const row = this.#q.group!.values(key)[0];
    const flushAt = row?.[0];
    if (flushAt === null || flushAt === undefined) {
      const last = row?.[1];
      const at = groupFlushAt(now, waitMs, intervalMs, last === null || last === undefined ? undefined : Number(last));
      this.#q.putGroup!.run(key, method, at, intervalMs);
    }
    this.#q.addMember!.run(key, alarmId, repeat);
  }

  /** Groups due by `now`, with their alarms. */
  dueGroups(now: number, limit: number): DueGroup[] {
    return this.#q.dueGroups!.values(now, limit).map((g) => ({
      key: String(g[0]),
      method: String(g[1]),
      ...(g[2] !== null && g[2] !== undefined && { lastNotificationId: String(g[2]) }),
      members: this.#q.members!.values(String(g[0])).map((m) => ({ alarmId: String(m[0]), repeat: Number(m[1]) })),
    }));
  }

  /** The group went out at `now` as notification `id`: empty until its next alarm. */
  flushed(key: string, now: number, id: string | undefined): void {
    this.#q.clearMembers!.run(key);
    this.#q.flushed!.run(now, id ?? null, key);
  }
}
