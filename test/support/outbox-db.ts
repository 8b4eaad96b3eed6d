/**
 * @module test/support/outbox-db
 * Migrated databases for the outbox tests, which run every case on both backends: in memory, and a WAL
 * file in a fresh temp directory. Each database is closed, and its directory removed, after every test.
 */
import { afterEach } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPragmas, type OpenDatabase } from '../../src/outbox/db.ts';
import { migrate } from '../../src/outbox/migrate.ts';
import { openTestSqlite } from './sqlite-under-test.ts';

export type DbKind = 'memory' | 'file';

/** An opener of migrated databases (a file one in a temp directory named `prefix...`), closed after each test. */
export function migratedDatabases(prefix: string): (kind: DbKind) => OpenDatabase {
  const opened: { o: OpenDatabase; dir?: string }[] = [];
  afterEach(() => {
    for (const { o, dir } of opened.splice(0)) {
      o.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });
  return (kind) => {
    const dir = kind === 'file' ? mkdtempSync(join(tmpdir(), prefix)) : undefined;
    const o = openTestSqlite(dir ? join(dir, 'tocsin.db') : ':memory:');
    opened.push({ o, dir });
    applyPragmas(o.db, 'FULL');
    migrate(o.db, 0);
    return o;
  };
}
