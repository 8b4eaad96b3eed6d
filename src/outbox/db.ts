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

/** Pages of WAL after which a commit checkpoints by itself (SQLite's default is 1000). */
export const AUTO_CHECKPOINT_PAGES = 4000;
/** With a delivery thread that checkpoints (see checkpoint), the other connection's safety net only. */
export const BACKSTOP_CHECKPOINT_PAGES = 40_000;

/**
 * How long a statement waits for another process's lock while the relay runs: short, because it blocks
 * the thread (the HTTP server's, or delivery's). The two threads of the relay never wait here (they take
 * turns with the write lock, see write-lock); writes that find the database locked are retried without
 * blocking (see group-commit). Opening and migrating wait longer (STARTUP_BUSY_TIMEOUT_MS).
 */
export const BUSY_TIMEOUT_MS = 10;
export const STARTUP_BUSY_TIMEOUT_MS = 5000;
/** After a checkpoint resets it, the WAL file is cut back to this size (SQLite keeps it otherwise). */
export const JOURNAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024;

/**
 * WAL, the configured synchronous level, the startup busy timeout (see setBusyTimeout), and sane caches. `autoCheckpointPages`: after
 * how many pages of WAL a commit checkpoints by itself (0: never; someone calls checkpoint()).
 */
export function applyPragmas(db: SyncDb, synchronous: Synchronous, autoCheckpointPages = AUTO_CHECKPOINT_PAGES): void {
  const mode = db.get<{ journal_mode: string }>(sql`PRAGMA journal_mode = WAL`);
  if (mode?.journal_mode !== 'wal' && mode?.journal_mode !== 'memory') {
    throw new Error(`could not switch the database to WAL (journal_mode=${mode?.journal_mode})`);
  }
  db.run(sql.raw(`PRAGMA synchronous = ${synchronous}`));
  setBusyTimeout(db, STARTUP_BUSY_TIMEOUT_MS);
  db.run(sql.raw(`PRAGMA journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`));
  db.run(sql`PRAGMA foreign_keys = ON`);
  db.run(sql`PRAGMA temp_store = MEMORY`);
  db.run(sql`PRAGMA cache_size = -16000`);
  // Checkpoint less often than the default 1000 pages: fewer fsyncs of the main file under load.
  db.run(sql.raw(`PRAGMA wal_autocheckpoint = ${Math.max(0, Math.floor(autoCheckpointPages))}`));
}

export function setBusyTimeout(db: SyncDb, ms: number): void {
  db.run(sql.raw(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(ms))}`));
}

/**
 * Copies what the WAL holds into the database file as far as it can without waiting for anyone (PASSIVE).
 * Run outside the write lock: a commit that checkpoints by itself does it while holding the lock, and the
 * other thread waits for the whole copy and its fsync.
 */
export function checkpoint(db: SyncDb): void {
  db.run(sql`PRAGMA wal_checkpoint(PASSIVE)`);
}

/**
 * Copies the whole WAL into the database file and truncates it to nothing, if no reader or writer is in
 * the way (then it does nothing, and says so): a drained outbox leaves no WAL behind on the disk.
 */
export function truncateWal(db: SyncDb): boolean {
  const r = db.get<{ busy: number }>(sql`PRAGMA wal_checkpoint(TRUNCATE)`);
  return r?.busy === 0;
}
