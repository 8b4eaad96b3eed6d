/**
 * @module runtime/sqlite-node
 * Opens the outbox database on Node with better-sqlite3.
 */
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { schema } from '../outbox/schema.ts';
import type { OpenDatabase, RawDb, SyncDb } from '../outbox/db.ts';
import type { DriverConnection } from './sqlite-adapter.ts';

export function openNodeSqlite(file: string): OpenDatabase {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const client = new Database(file);
  const db = drizzle({ client, schema }) as unknown as SyncDb;
  // better-sqlite3 nests transactions as savepoints by itself; one wrapper serves every call.
  const tx = client.transaction((fn: () => unknown) => fn());
  const raw: RawDb = {
    prepare(sql) {
      const s = client.prepare(sql);
      let arrays: Database.Statement | undefined;
      return {
        run: (...p) => s.run(...p),
        values: (...p) => (arrays ??= client.prepare(sql).raw(true)).all(...p) as unknown[][],
      };
    },
    transaction: <T>(fn: () => T) => tx(fn) as T,
  };
  return {
    db,
    raw,
    close: () => {
      if (!client.open) return;
      try {
        client.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // Nothing lost (a full disk, a lock held elsewhere): the WAL is durable, the next open applies it.
      }
      client.close();
    },
  };
}

/**
 * better-sqlite3 behind the driver interface the Bun and Deno drivers implement (the relay drives
 * better-sqlite3 directly; this lets the adapter's own tests run on Node too).
 */
export function connectBetterSqlite3(file: string): DriverConnection {
  const db = new Database(file);
  return {
    prepare(sql) {
      const s = db.prepare(sql);
      return {
        run: (p) => s.run(...p),
        all: (p) => s.all(...p),
        get: (p) => s.get(...p),
        rawAll: (p) => s.raw().all(...p) as unknown[][],
        rawGet: (p) => s.raw().get(...p) as unknown[] | undefined,
      };
    },
    exec: (sql) => void db.exec(sql),
    close: () => void db.close(),
  };
}
