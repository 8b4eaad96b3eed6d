/**
 * @module outbox/migrate
 * Applies the embedded drizzle-kit migrations, forward-only, each in its own transaction.
 * Refuses a database whose schema is newer than this code.
 */
import { sql } from 'drizzle-orm';
import type { SyncDb } from './db.ts';
import { MIGRATIONS, type EmbeddedMigration } from './migrations.generated.ts';

export class SchemaTooNewError extends Error {}

const BREAKPOINT = '--> statement-breakpoint';

export function schemaVersion(db: SyncDb): number {
  db.run(sql`CREATE TABLE IF NOT EXISTS tocsin_migrations (id INTEGER PRIMARY KEY, tag TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const row = db.get<{ v: number | null }>(sql`SELECT max(id) AS v FROM tocsin_migrations`);
  return row?.v ?? 0;
}

/** Returns the ids applied now. */
export function migrate(db: SyncDb, now: number, migrations: readonly EmbeddedMigration[] = MIGRATIONS): number[] {
  const current = schemaVersion(db);
  const latest = migrations.at(-1)?.id ?? 0;
  if (current > latest) {
    throw new SchemaTooNewError(
      `database schema version ${current} is newer than this tocsin (it knows up to ${latest}); run a newer tocsin or point data_dir elsewhere`,
    );
  }
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.id <= current) continue;
    db.transaction((tx) => {
      for (const stmt of m.sql.split(BREAKPOINT)) {
        if (stmt.trim()) tx.run(sql.raw(stmt));
      }
      tx.run(sql`INSERT INTO tocsin_migrations (id, tag, applied_at) VALUES (${m.id}, ${m.tag}, ${now})`);
    });
    applied.push(m.id);
  }
  return applied;
}

export function latestSchemaVersion(): number {
  return MIGRATIONS.at(-1)?.id ?? 0;
}
