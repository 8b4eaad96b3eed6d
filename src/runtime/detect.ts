/**
 * @module runtime/detect
 * Which runtime this is, and the matching Platform and SQLite opener. Each runtime's module is imported
 * only on that runtime: better-sqlite3 does not load on Bun or Deno, bun:sqlite exists only on Bun.
 */
import type { Platform, RuntimeName, SqliteOpener } from './platform.ts';

export function runtimeName(): RuntimeName {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return 'bun';
  if (g.Deno !== undefined) return 'deno';
  return 'node';
}

export async function loadPlatform(name: RuntimeName = runtimeName()): Promise<Platform> {
  switch (name) {
    case 'bun':
      return (await import('./bun.ts')).bunPlatform();
    case 'deno':
      return (await import('./deno.ts')).denoPlatform();
    case 'node':
      return (await import('./node.ts')).nodePlatform();
  }
}

export type SqliteDriver = 'better-sqlite3' | 'bun:sqlite' | 'node:sqlite';

/** The SQLite drivers that load on this runtime, the default first. */
export function availableSqliteDrivers(name: RuntimeName = runtimeName()): SqliteDriver[] {
  switch (name) {
    case 'bun':
      return ['bun:sqlite'];
    case 'deno':
      return ['node:sqlite'];
    case 'node': {
      const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
      // node:sqlite needs no flag from 22.13; the adapter needs StatementSync.setReturnArrays (22.16).
      return major > 22 || (major === 22 && minor >= 16) ? ['better-sqlite3', 'node:sqlite'] : ['better-sqlite3'];
    }
  }
}

export async function loadSqlite(driver: SqliteDriver): Promise<SqliteOpener> {
  switch (driver) {
    case 'better-sqlite3':
      return (await import('./sqlite-node.ts')).openNodeSqlite;
    case 'bun:sqlite':
      return (await import('./sqlite-bun.ts')).openBunSqlite;
    case 'node:sqlite':
      return (await import('./sqlite-builtin.ts')).loadBuiltinSqlite();
  }
}
