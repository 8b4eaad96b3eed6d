/**
 * @module runtime/sqlite-bun
 * Opens the outbox database on Bun with bun:sqlite (better-sqlite3 is a Node addon that Bun cannot load),
 * adapted to the better-sqlite3 shape drizzle drives (see sqlite-adapter).
 */
import { Database } from 'bun:sqlite';
import type { OpenDatabase } from '../outbox/db.ts';
import { openAdapted, type DriverConnection } from './sqlite-adapter.ts';

export function connectBun(file: string): DriverConnection {
  const db = new Database(file, { create: true });
  return {
    prepare(sql) {
      const s = db.prepare(sql);
      return {
        run: (p) => s.run(...p),
        all: (p) => s.all(...p),
        // bun:sqlite answers null for "no row"; better-sqlite3 (and drizzle) expect undefined.
        get: (p) => s.get(...p) ?? undefined,
        rawAll: (p) => s.values(...p),
        rawGet: (p) => s.values(...p)[0],
      };
    },
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
  };
}

export function openBunSqlite(file: string): OpenDatabase {
  return openAdapted(file, connectBun);
}
