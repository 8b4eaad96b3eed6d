/**
 * @module outbox/db
 * The database handle the outbox works on: a synchronous drizzle database over a SQLite driver,
 * opened by src/runtime (better-sqlite3 on Node; the outbox itself knows no driver).
 */
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import { sql } from 'drizzle-orm';
import type { schema } from './schema.ts';
import type { Synchronous } from '../config/types.ts';

export type SyncDb = BaseSQLiteDatabase<'sync', unknown, typeof schema>;

export type SqlParam = null | number | bigint | string | Uint8Array;

/** A statement prepared on the driver itself, for the hot paths (drizzle's per-call overhead measured more than the SQL). */
export interface RawStatement {
  run(...params: SqlParam[]): { readonly changes: number | bigint };
  /** Rows as arrays, in the statement's column order. */
  values(...params: SqlParam[]): unknown[][];
}

/** The driver under the drizzle db: the same connection and the same transactions. */
export interface RawDb {
  prepare(sql: string): RawStatement;
  /** Runs fn in a transaction (a savepoint when nested, also inside the drizzle db's transactions). */
  transaction<T>(fn: () => T): T;
}

/** One connection, through drizzle (`db`) and directly (`raw`, for the hot statements). */
export interface Connection {
  readonly db: SyncDb;
  readonly raw: RawDb;
}

/** What a runtime hands the outbox: the connection and a way to close it. */
export interface OpenDatabase extends Connection {
  close(): void;
}

/** WAL, the configured synchronous level, a busy timeout, and sane caches. */
export function applyPragmas(db: SyncDb, synchronous: Synchronous): void {
  const mode = db.get<{ journal_mode: string }>(sql`PRAGMA journal_mode = WAL`);
  if (mode?.journal_mode !== 'wal' && mode?.journal_mode !== 'memory') {
    throw new Error(`could not switch the database to WAL (journal_mode=${mode?.journal_mode})`);
  }
  db.run(sql.raw(`PRAGMA synchronous = ${synchronous}`));
  db.run(sql`PRAGMA busy_timeout = 5000`);
  db.run(sql`PRAGMA foreign_keys = ON`);
  db.run(sql`PRAGMA temp_store = MEMORY`);
  db.run(sql`PRAGMA cache_size = -16000`);
  // Checkpoint less often than the default 1000 pages: fewer fsyncs of the main file under load.
  db.run(sql`PRAGMA wal_autocheckpoint = 4000`);
}
