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

/** What a runtime hands the outbox: the drizzle db and a way to close the underlying connection. */
export interface OpenDatabase {
  readonly db: SyncDb;
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
