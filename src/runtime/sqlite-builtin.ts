/**
 * @module runtime/sqlite-builtin
 * Opens the outbox database with the built-in node:sqlite (Deno; Node >= 22.16), adapted to the
 * better-sqlite3 shape drizzle drives (see sqlite-adapter).
 */
import type { SqliteOpener } from './platform.ts';
import { openAdapted, type DriverConnection, type Param, type RunResult } from './sqlite-adapter.ts';

/** The part of node:sqlite's API used here. */
interface StatementSync {
  run(...params: Param[]): RunResult;
  all(...params: Param[]): unknown[];
  get(...params: Param[]): unknown;
  setReturnArrays(enabled: boolean): void;
}
interface DatabaseSync {
  prepare(sql: string): StatementSync;
  exec(sql: string): void;
  close(): void;
}
type DatabaseSyncClass = new (path: string) => DatabaseSync;

function connect(DatabaseSyncCtor: DatabaseSyncClass, file: string): DriverConnection {
  const db = new DatabaseSyncCtor(file);
  return {
    prepare(sql) {
      const rows = db.prepare(sql);
      let arrays: StatementSync | undefined;
      const asArrays = () => {
        if (!arrays) {
          arrays = db.prepare(sql);
          arrays.setReturnArrays(true);
        }
        return arrays;
      };
      return {
        run: (p) => rows.run(...p),
        // node:sqlite's row objects have a null prototype; better-sqlite3's are plain objects.
        all: (p) => rows.all(...p).map((r) => ({ ...(r as object) })),
        get: (p) => {
          const r = rows.get(...p);
          return r === undefined ? undefined : { ...(r as object) };
        },
        rawAll: (p) => asArrays().all(...p) as unknown[][],
        rawGet: (p) => asArrays().get(...p) as unknown[] | undefined,
      };
    },
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
  };
}

/** Imports node:sqlite (rejects where it does not exist, e.g. Node 20); returns a synchronous connector. */
export async function loadBuiltinConnector(): Promise<(file: string) => DriverConnection> {
  const mod = (await import('node:sqlite' as string)) as { DatabaseSync: DatabaseSyncClass };
  return (file) => connect(mod.DatabaseSync, file);
}

/** Imports node:sqlite and returns a synchronous opener. */
export async function loadBuiltinSqlite(): Promise<SqliteOpener> {
  const connector = await loadBuiltinConnector();
  return (file) => openAdapted(file, connector);
}
