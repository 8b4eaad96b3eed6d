/**
 * @module outbox/checks-store
 * The heartbeat checks' tables (issue #15): `checks`, the checks added at runtime, and `check_states`,
 * what is kept about every check (file and runtime) by name: its UUID, its state (JSON) and when it is
 * due. Every write runs inside the caller's transaction (the group committer's, on the main connection),
 * so a check's new state and the alarm it owes commit together or not at all.
 */
import type { CheckState } from '../checks/types.ts';
import type { Connection, RawStatement, SqlParam } from './db.ts';

/** A runtime check as stored: a period or a cron schedule (with its zone). */
export interface CheckRow {
  readonly name: string;
  readonly uuid: string;
  readonly periodMs?: number;
  readonly schedule?: string;
  readonly tz?: string;
  readonly graceMs: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly paused: boolean;
  readonly createdAt: number;
}

/** What is kept about one check: its UUID and its state. */
export interface StoredCheckState {
  readonly name: string;
  readonly uuid: string;
  readonly state: CheckState;
}

const CHECK_COLUMNS = 'name, uuid, period_ms, schedule, tz, grace_ms, labels, paused, created_at';

function checkFromValues(v: readonly unknown[]): CheckRow {
  return {
    name: String(v[0]),
    uuid: String(v[1]),
    ...(v[2] !== null && { periodMs: Number(v[2]) }),
    ...(v[3] !== null && { schedule: String(v[3]) }),
    ...(v[4] !== null && { tz: String(v[4]) }),
    graceMs: Number(v[5]),
    labels: JSON.parse(String(v[6])) as Record<string, string>,
    paused: Number(v[7]) === 1,
    createdAt: Number(v[8]),
  };
}

export class ChecksStore {
  readonly #q: Record<string, RawStatement>;

  constructor({ raw }: Connection) {
    this.#q = {
      all: raw.prepare(`SELECT ${CHECK_COLUMNS} FROM checks ORDER BY name`),
      insert: raw.prepare(`INSERT INTO checks (${CHECK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      setPaused: raw.prepare('UPDATE checks SET paused = ? WHERE name = ?'),
      remove: raw.prepare('DELETE FROM checks WHERE name = ?'),
      states: raw.prepare('SELECT name, uuid, state FROM check_states ORDER BY name'),
      putState: raw.prepare(
        `INSERT INTO check_states (name, uuid, state, due_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET uuid = excluded.uuid, state = excluded.state, due_at = excluded.due_at, updated_at = excluded.updated_at`,
      ),
      removeState: raw.prepare('DELETE FROM check_states WHERE name = ?'),
      nextDue: raw.prepare('SELECT min(due_at) FROM check_states WHERE due_at IS NOT NULL'),
    };
  }

  /** The runtime checks, by name. */
  allChecks(): CheckRow[] {
    return this.#q.all!.values().map(checkFromValues);
  }

  insertCheck(c: CheckRow): void {
    const params: SqlParam[] = [
      c.name, c.uuid, c.periodMs ?? null, c.schedule ?? null, c.tz ?? null, c.graceMs, JSON.stringify(c.labels), c.paused ? 1 : 0, c.createdAt,
    ];
    this.#q.insert!.run(...params);
  }

  /** True if the runtime check exists. */
  setPaused(name: string, paused: boolean): boolean {
    return Number(this.#q.setPaused!.run(paused ? 1 : 0, name).changes) > 0;
  }

  /** Removes a runtime check and what is kept about it; true if it existed. */
  removeCheck(name: string): boolean {
    this.#q.removeState!.run(name);
    return Number(this.#q.remove!.run(name).changes) > 0;
  }

  /** What is kept about every check (a stored state that no longer parses is left out: the check starts over). */
  allStates(): StoredCheckState[] {
    return this.#q.states!.values().flatMap((v) => {
      try {
        return [{ name: String(v[0]), uuid: String(v[1]), state: JSON.parse(String(v[2])) as CheckState }];
      } catch {
        return [];
      }
    });
  }

  putState(name: string, uuid: string, state: CheckState, now: number): void {
    this.#q.putState!.run(name, uuid, JSON.stringify(state), state.dueAt ?? null, now);
  }

  /** Forgets a check that is no longer configured (its UUID with it). */
  removeState(name: string): void {
    this.#q.removeState!.run(name);
  }

  /** The earliest deadline of any check (Infinity: none). */
  nextDue(): number {
    const v = this.#q.nextDue!.values()[0]?.[0];
    return v === null || v === undefined ? Infinity : Number(v);
  }
}
