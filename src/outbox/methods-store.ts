/**
 * @module outbox/methods-store
 * The `methods` table: notification methods created through the admin API (file methods live in the config).
 * A row keeps the method as it was given (`settings`: JSON of `type` and the config file's keys, secrets and
 * `*_file` paths included), so the config parser validates it again at every start. Every write runs inside
 * the caller's transaction (the group committer's, on the main connection).
 */
import type { Connection, RawStatement } from './db.ts';

/** A runtime method as stored. */
export interface MethodRow {
  readonly name: string;
  /** The channel type (`webhook`, ...). */
  readonly type: string;
  /** The method as given: a JSON object with `type` and the same keys as a method in the config file. */
  readonly settings: string;
  readonly createdAt: number;
  /** Who created it (free text: the CLI sends `$USER@hostname`); null: not said. */
  readonly createdBy: string | null;
  readonly updatedAt: number;
}

const COLUMNS = 'name, type, settings, created_at, created_by, updated_at';

function rowFromValues(v: readonly unknown[]): MethodRow {
  return {
    name: String(v[0]),
    type: String(v[1]),
    settings: String(v[2]),
    createdAt: Number(v[3]),
    createdBy: v[4] === null || v[4] === undefined ? null : String(v[4]),
    updatedAt: Number(v[5]),
  };
}

export class MethodsStore {
  readonly #q: Record<'all' | 'get' | 'insert' | 'remove', RawStatement>;

  constructor({ raw }: Connection) {
    this.#q = {
      all: raw.prepare(`SELECT ${COLUMNS} FROM methods ORDER BY name`),
      get: raw.prepare(`SELECT ${COLUMNS} FROM methods WHERE name = ?`),
      insert: raw.prepare(`INSERT INTO methods (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`),
      remove: raw.prepare('DELETE FROM methods WHERE name = ?'),
    };
  }

  /** Every runtime method, by name. */
  all(): MethodRow[] {
    return this.#q.all.values().map(rowFromValues);
  }

  get(name: string): MethodRow | undefined {
    const v = this.#q.get.values(name)[0];
    return v ? rowFromValues(v) : undefined;
  }

  /** Throws (a constraint error) if the name is taken. */
  insert(row: MethodRow): void {
    this.#q.insert.run(row.name, row.type, row.settings, row.createdAt, row.createdBy, row.updatedAt);
  }

  /** True if it existed. */
  remove(name: string): boolean {
    return Number(this.#q.remove.run(name).changes) > 0;
  }
}
