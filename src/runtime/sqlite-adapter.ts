/**
 * @module runtime/sqlite-adapter
 * One drizzle driver for every runtime: drizzle's better-sqlite3 driver over a client of the better-sqlite3
 * shape (prepare() → run/all/get/raw(), transaction(fn) with deferred/immediate/exclusive variants),
 * adapted here from bun:sqlite and node:sqlite. Query results are then the same on Node, Bun and Deno.
 */
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { schema } from '../outbox/schema.ts';
import type { OpenDatabase, RawDb, SyncDb } from '../outbox/db.ts';

export type Param = null | number | bigint | string | Uint8Array;
export type RunResult = { changes: number | bigint; lastInsertRowid: number | bigint };

/** What a driver supplies per prepared statement. `get`/`rawGet` answer undefined when there is no row. */
export interface DriverStatement {
  run(params: Param[]): RunResult;
  all(params: Param[]): unknown[];
  get(params: Param[]): unknown;
  /** Rows as arrays in column order. */
  rawAll(params: Param[]): unknown[][];
  rawGet(params: Param[]): unknown[] | undefined;
}

export interface DriverConnection {
  prepare(sql: string): DriverStatement;
  exec(sql: string): void;
  close(): void;
}

class Statement {
  readonly #raw: { all(...p: Param[]): unknown[][]; get(...p: Param[]): unknown[] | undefined };
  constructor(private readonly s: DriverStatement) {
    this.#raw = { all: (...p) => s.rawAll(p), get: (...p) => s.rawGet(p) };
  }
  run(...params: Param[]): RunResult {
    return this.s.run(params);
  }
  all(...params: Param[]): unknown[] {
    return this.s.all(params);
  }
  get(...params: Param[]): unknown {
    return this.s.get(params);
  }
  raw(): { all(...p: Param[]): unknown[][]; get(...p: Param[]): unknown[] | undefined } {
    return this.#raw;
  }
}

type Behavior = 'deferred' | 'immediate' | 'exclusive';
type TxFn<A extends unknown[], R> = ((...args: A) => R) & Record<Behavior, (...args: A) => R>;

/** The better-sqlite3-shaped client over a driver connection (what drizzle's better-sqlite3 driver drives). */
export class BetterSqliteShape {
  #depth = 0;
  /** BEGIN, COMMIT, SAVEPOINT … prepared once each (exec would compile them for every transaction). */
  readonly #controls = new Map<string, DriverStatement>();
  constructor(private readonly conn: DriverConnection) {}
  #control(sql: string): void {
    let s = this.#controls.get(sql);
    if (!s) this.#controls.set(sql, (s = this.conn.prepare(sql)));
    s.run([]);
  }
  prepare(sql: string): Statement {
    return new Statement(this.conn.prepare(sql));
  }
  exec(sql: string): void {
    this.conn.exec(sql);
  }
  /** Runs fn in a deferred transaction, or a savepoint when nested (what `transaction(fn)()` does, without building it). */
  run<R>(fn: () => R): R {
    return this.#run('deferred', fn);
  }
  transaction<A extends unknown[], R>(fn: (...args: A) => R): TxFn<A, R> {
    const run =
      (behavior: Behavior) =>
      (...args: A): R =>
        this.#run(behavior, () => fn(...args));
    return Object.assign(run('deferred'), { deferred: run('deferred'), immediate: run('immediate'), exclusive: run('exclusive') });
  }
  #run<R>(behavior: Behavior, fn: () => R): R {
    // Nested calls become savepoints, as in better-sqlite3.
    const nested = this.#depth > 0;
    const sp = `tocsin_sp${this.#depth}`;
    this.#control(nested ? `SAVEPOINT ${sp}` : `BEGIN ${behavior.toUpperCase()}`);
    this.#depth++;
    try {
      const result = fn();
      // As better-sqlite3: the work would run after COMMIT, outside the transaction.
      if (result !== null && typeof (result as { then?: unknown } | undefined)?.then === 'function') {
        throw new TypeError('Transaction function cannot return a promise');
      }
      this.#control(nested ? `RELEASE ${sp}` : 'COMMIT');
      return result;
    } catch (e) {
      try {
        if (nested) {
          this.#control(`ROLLBACK TO ${sp}`);
          this.#control(`RELEASE ${sp}`);
        } else {
          this.#control('ROLLBACK');
        }
      } catch {
        /* SQLite already rolled the transaction back (e.g. after SQLITE_FULL); keep the first error */
      }
      throw e;
    } finally {
      this.#depth--;
    }
  }
}

/** Creates the directory of `file` (unless in-memory), connects, and wraps the connection for drizzle. */
export function openAdapted(file: string, connect: (file: string) => DriverConnection): OpenDatabase {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const conn = connect(file);
  const shape = new BetterSqliteShape(conn);
  const db = drizzle({ client: shape as never, schema }) as unknown as SyncDb;
  const raw: RawDb = {
    prepare(sql) {
      const s = conn.prepare(sql);
      return { run: (...p) => s.run(p), values: (...p) => s.rawAll(p) };
    },
    transaction: (fn) => shape.run(fn),
  };
  let open = true;
  return {
    db,
    raw,
    close: () => {
      if (!open) return;
      open = false;
      try {
        conn.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      } catch {
        // Nothing lost (a full disk, a lock held elsewhere): the WAL is durable, the next open applies it.
      }
      conn.close();
    },
  };
}
