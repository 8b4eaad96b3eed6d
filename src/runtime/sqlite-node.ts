/**
 * @module runtime/sqlite-node
 * Opens the outbox database on Node with better-sqlite3.
 */
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { schema } from '../outbox/schema.ts';
import type { OpenDatabase, SyncDb } from '../outbox/db.ts';

export function openNodeSqlite(file: string): OpenDatabase {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const client = new Database(file);
  const db = drizzle({ client, schema }) as unknown as SyncDb;
  return {
    db,
    close: () => {
      if (!client.open) return;
      try {
        client.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        client.close();
      }
    },
  };
}
