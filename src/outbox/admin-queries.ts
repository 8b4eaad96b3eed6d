/**
 * @module outbox/admin-queries
 * The admin API's reads (src/http/alarm-admin-routes.ts, src/http/notification-routes.ts): alarm states
 * newest first with their filters and a keyset position, one notification wherever it is (undelivered,
 * dead or delivered) with its alarms and its attempt history split into series by the replay markers
 * (outbox/dead-letters). SELECTs only.
 */
import type { Alarm, AlarmStatus } from '../domain/alarm.ts';
import type { AlarmState } from '../lifecycle/state.ts';
import type { Connection, RawStatement, SqlParam } from './db.ts';
import { ALARM_COLUMNS, rowFromValues, rowToAlarm } from './rows.ts';

/** The position after the last state of a page: its last_seen, source and dedup key. */
export type StatePosition = readonly [number, string, string];

export interface AdminStateFilter {
  readonly status?: AlarmStatus;
  readonly source?: string;
  /** The latest occurrence's name. */
  readonly name?: string;
  /** label name → exact value, of the latest occurrence. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Bounds of last_seen (epoch ms, inclusive). */
  readonly since?: number;
  readonly until?: number;
  readonly after?: StatePosition;
  readonly limit: number;
}

/** An alarm state as the admin list shows it, with its latest occurrence. */
export interface StateRow extends Pick<AlarmState, 'source' | 'dedupKey' | 'status' | 'since' | 'lastSeen' | 'count' | 'alarmId'> {
  readonly silencedBy: string | null;
  readonly alarm: Alarm;
}

/** A notification wherever it is: undelivered or dead (`notifications`), or sent (`deliveries`). */
export interface NotificationRow {
  readonly id: string;
  readonly alarmId: string;
  readonly alarmIds: readonly string[];
  readonly method: string;
  readonly state: 'pending' | 'inflight' | 'dead' | 'sent';
  readonly attempts: number;
  readonly createdAt: number;
  readonly nextAttemptAt: number | null;
  readonly sentAt: number | null;
  readonly deadAt: number | null;
  readonly deadReason: string | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
}

/** One row of the attempts table; `outcome` 'replayed' is the marker a replay writes (attempt 0). */
export interface AttemptRow {
  readonly attempt: number;
  readonly at: number;
  readonly outcome: string;
  readonly status: number | null;
  readonly latencyMs: number;
  readonly error: string | null;
}

/** The `error` text of a replay marker: `replayed by <who>` (or `replayed` when nobody was named). */
export const REPLAY_MARK = 'replayed';

/** Who a replay marker names, or null. */
export function replayedBy(error: string | null): string | null {
  const prefix = `${REPLAY_MARK} by `;
  return error !== null && error.startsWith(prefix) ? error.slice(prefix.length) : null;
}

const STATE_COLUMNS = 's.source, s.dedup_key, s.status, s.since, s.last_seen, s.count, s.alarm_id, s.silenced_by';
const NOTIFICATION_COLUMNS =
  'id, alarm_id, alarm_count, method, state, attempts, created_at, next_attempt_at, dead_at, dead_reason, last_status, last_error';

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export class AdminQueries {
  readonly #raw: Connection['raw'];
  readonly #q: Record<'notification' | 'delivery' | 'members' | 'attempts' | 'ofAlarm' | 'deliveredOfAlarm', RawStatement>;

  constructor({ raw }: Connection) {
    this.#raw = raw;
    this.#q = {
      notification: raw.prepare(`SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE id = ?`),
      delivery: raw.prepare('SELECT notification_id, alarm_id, alarm_count, method, attempts, created_at, sent_at, last_status FROM deliveries WHERE notification_id = ?'),
      members: raw.prepare('SELECT alarm_id FROM notification_alarms WHERE notification_id = ? ORDER BY position'),
      attempts: raw.prepare('SELECT attempt, at, outcome, status, latency_ms, error FROM attempts WHERE notification_id = ? ORDER BY id'),
      ofAlarm: raw.prepare(
        `SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE alarm_id = ?
           OR id IN (SELECT notification_id FROM notification_alarms WHERE alarm_id = ?) ORDER BY created_at, id`,
      ),
      deliveredOfAlarm: raw.prepare(
        `SELECT notification_id FROM deliveries WHERE alarm_id = ?
           OR notification_id IN (SELECT notification_id FROM notification_alarms WHERE alarm_id = ?) ORDER BY created_at, notification_id`,
      ),
    };
  }

  /** Alarm states, newest last_seen first (then by source and dedup key), with their latest occurrence. */
  states(f: AdminStateFilter): StateRow[] {
    const where: string[] = [];
    const params: SqlParam[] = [];
    const add = (clause: string, ...p: SqlParam[]) => {
      where.push(clause);
      params.push(...p);
    };
    if (f.status !== undefined) add('s.status = ?', f.status);
    if (f.source !== undefined) add('s.source = ?', f.source);
    if (f.name !== undefined) add('a.name = ?', f.name);
    for (const [k, v] of Object.entries(f.labels ?? {})) add('json_extract(a.labels, ?) = ?', `$.${JSON.stringify(k)}`, v);
    if (f.since !== undefined) add('s.last_seen >= ?', f.since);
    if (f.until !== undefined) add('s.last_seen <= ?', f.until);
    if (f.after) add('(s.last_seen < ? OR (s.last_seen = ? AND (s.source, s.dedup_key) > (?, ?)))', f.after[0], f.after[0], f.after[1], f.after[2]);
    const a = ALARM_COLUMNS.split(', ').map((c) => `a.${c}`).join(', ');
    const rows = this.#raw
      .prepare(
        `SELECT ${STATE_COLUMNS}, ${a} FROM alarm_states s JOIN alarms a ON a.id = s.alarm_id
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY s.last_seen DESC, s.source, s.dedup_key LIMIT ?`,
      )
      .values(...params, f.limit);
    return rows.map((v) => ({
      source: String(v[0]), dedupKey: String(v[1]), status: v[2] as AlarmStatus, since: Number(v[3]), lastSeen: Number(v[4]),
      count: Number(v[5]), alarmId: String(v[6]), silencedBy: str(v[7]), alarm: rowToAlarm(rowFromValues(v.slice(8))),
    }));
  }

  /** The state of (source, dedup key) with its latest occurrence, if there is one. */
  state(source: string, dedupKey: string): StateRow | undefined {
    const a = ALARM_COLUMNS.split(', ').map((c) => `a.${c}`).join(', ');
    const v = this.#raw
      .prepare(`SELECT ${STATE_COLUMNS}, ${a} FROM alarm_states s JOIN alarms a ON a.id = s.alarm_id WHERE s.source = ? AND s.dedup_key = ?`)
      .values(source, dedupKey)[0];
    if (!v) return undefined;
    return {
      source: String(v[0]), dedupKey: String(v[1]), status: v[2] as AlarmStatus, since: Number(v[3]), lastSeen: Number(v[4]),
      count: Number(v[5]), alarmId: String(v[6]), silencedBy: str(v[7]), alarm: rowToAlarm(rowFromValues(v.slice(8))),
    };
  }

  /** One notification, undelivered, dead or sent. */
  notification(id: string): NotificationRow | undefined {
    const v = this.#q.notification.values(id)[0];
    if (v) return this.#fromNotification(v);
    const d = this.#q.delivery.values(id)[0];
    if (!d) return undefined;
    return {
      id: String(d[0]), alarmId: String(d[1]), alarmIds: this.#alarmIds(String(d[0]), String(d[1]), Number(d[2])), method: String(d[3]),
      state: 'sent', attempts: Number(d[4]), createdAt: Number(d[5]), nextAttemptAt: null, sentAt: Number(d[6]), deadAt: null,
      deadReason: null, lastStatus: num(d[7]), lastError: null,
    };
  }

  /** Every notification carrying the alarm (as its first alarm or in a group): undelivered, dead and sent, oldest first. */
  notificationsOf(alarmId: string): NotificationRow[] {
    const open = this.#q.ofAlarm.values(alarmId, alarmId).map((v) => this.#fromNotification(v));
    const sent = this.#q.deliveredOfAlarm.values(alarmId, alarmId).map((v) => this.notification(String(v[0]))!).filter(Boolean);
    return [...sent, ...open].sort((x, y) => x.createdAt - y.createdAt || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  }

  /** The attempts table's rows of a notification, in the order written (replay markers included). */
  attempts(notificationId: string): AttemptRow[] {
    return this.#q.attempts.values(notificationId).map((v) => ({
      attempt: Number(v[0]), at: Number(v[1]), outcome: String(v[2]), status: num(v[3]), latencyMs: Number(v[4]), error: str(v[5]),
    }));
  }

  #fromNotification(v: unknown[]): NotificationRow {
    const id = String(v[0]);
    const alarmId = String(v[1]);
    return {
      id, alarmId, alarmIds: this.#alarmIds(id, alarmId, Number(v[2])), method: String(v[3]), state: v[4] as 'pending' | 'inflight' | 'dead',
      attempts: Number(v[5]), createdAt: Number(v[6]), nextAttemptAt: num(v[7]), sentAt: null, deadAt: num(v[8]), deadReason: str(v[9]),
      lastStatus: num(v[10]), lastError: str(v[11]),
    };
  }

  #alarmIds(id: string, first: string, count: number): string[] {
    if (count <= 1) return [first];
    const members = this.#q.members.values(id).map((m) => String(m[0]));
    return members.length > 0 ? members : [first];
  }
}

/** A canary's last run, as GET /api/v1/canaries shows it. */
export interface CanaryRunSummary {
  readonly rid: string;
  readonly startedAt: number;
  readonly outcome: string;
  readonly stage: string;
  readonly reason: string | null;
  readonly finishedAt: number | null;
  readonly latencyMs: number | null;
}

/** The canaries' runs as the admin API shows them (`canary_runs`, see outbox/canary-runs). */
export class CanaryRunQueries {
  readonly #lastSuccess: RawStatement;
  readonly #lastRun: RawStatement;

  constructor({ raw }: Connection) {
    this.#lastSuccess = raw.prepare("SELECT max(finished_at) FROM canary_runs WHERE canary = ? AND outcome = 'succeeded'");
    this.#lastRun = raw.prepare(
      'SELECT rid, started_at, outcome, stage, reason, finished_at, latency_ms FROM canary_runs WHERE canary = ? ORDER BY started_at DESC, rid DESC LIMIT 1',
    );
  }

  /** When a run of the canary last succeeded (epoch ms), or null. */
  lastSuccess(canary: string): number | null {
    return num(this.#lastSuccess.values(canary)[0]?.[0]);
  }

  /** The canary's newest run, or undefined. */
  lastRun(canary: string): CanaryRunSummary | undefined {
    const v = this.#lastRun.values(canary)[0];
    if (!v) return undefined;
    return {
      rid: String(v[0]), startedAt: Number(v[1]), outcome: String(v[2]), stage: String(v[3]), reason: str(v[4]), finishedAt: num(v[5]),
      latencyMs: num(v[6]),
    };
  }
}
