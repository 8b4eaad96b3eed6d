/**
 * @module outbox/read-only
 * A look into the database of a relay that may be running (`tocsin canary status`, `tocsin check-config`):
 * the runtime's opener has no read-only mode, so the connection is switched to `query_only`, waits
 * a little for a lock (a WAL reader rarely meets one), and never waits for the running relay's WAL
 * checkpoint when it closes.
 */
import { sql } from 'drizzle-orm';
import { coerceError } from '../lib/errors.ts';
import { setBusyTimeout, type OpenDatabase } from './db.ts';

/** How long a read waits for a lock (while the relay resets the WAL). */
const READ_BUSY_TIMEOUT_MS = 2000;

/** Opens `file` with `open`, runs `read` on a connection that refuses writes, closes it. */
export function readDatabase<T>(open: (file: string) => OpenDatabase, file: string, read: (conn: OpenDatabase) => T): T {
  let conn: OpenDatabase;
  try {
    conn = open(file);
  } catch (e) {
    throw new Error(`cannot open ${file}: ${coerceError(e).message}`);
  }
  try {
    // Refuses any write on this connection, whatever a bug might send.
    conn.db.run(sql`PRAGMA query_only = ON`);
    setBusyTimeout(conn.db, READ_BUSY_TIMEOUT_MS);
    return read(conn);
  } finally {
    try {
      // The opener's close checkpoints the WAL: never wait for the running relay to do it.
      setBusyTimeout(conn.db, 0);
    } catch {
      // closing anyway
    }
    conn.close();
  }
}

/** Whether the database has this table (an older schema may not). */
export function hasTable(conn: OpenDatabase, name: string): boolean {
  return conn.db.get(sql`SELECT 1 AS one FROM sqlite_master WHERE type = 'table' AND name = ${name}`) !== undefined;
}
