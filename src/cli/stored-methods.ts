/**
 * @module cli/stored-methods
 * The names of the methods created through the admin API, read from a relay's database without
 * writing to it (the relay may be running). Loaded only when a config file names such a method.
 */
import { sql } from 'drizzle-orm';
import type { OpenDatabase } from '../outbox/db.ts';
import { hasTable, readDatabase } from '../outbox/read-only.ts';

/** Every stored method's name (none on a database older than the `methods` table). */
export function storedMethodNames(open: (file: string) => OpenDatabase, file: string): string[] {
  return readDatabase(open, file, (conn) =>
    hasTable(conn, 'methods') ? conn.db.all<{ name: string }>(sql`SELECT name FROM methods ORDER BY name`).map((r) => r.name) : [],
  );
}
