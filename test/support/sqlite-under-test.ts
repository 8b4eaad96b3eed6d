/**
 * The SQLite driver the outbox tests run on: this runtime's default (better-sqlite3 on Node, bun:sqlite on
 * Bun, node:sqlite on Deno), or TOCSIN_TEST_SQLITE=<driver> where the runtime has more than one.
 * scripts/run-tests.mjs runs the outbox suites once per runtime, so every driver is covered.
 */
import { availableSqliteDrivers, loadSqlite, runtimeName, type SqliteDriver } from '../../src/runtime/detect.ts';

const available = availableSqliteDrivers();
const wanted = process.env.TOCSIN_TEST_SQLITE as SqliteDriver | undefined;
if (wanted !== undefined && !available.includes(wanted)) {
  throw new Error(`TOCSIN_TEST_SQLITE=${wanted} does not load on ${runtimeName()}; available: ${available.join(', ')}`);
}

export const sqliteDriver: SqliteDriver = wanted ?? available[0]!;
export const openTestSqlite = await loadSqlite(sqliteDriver);
