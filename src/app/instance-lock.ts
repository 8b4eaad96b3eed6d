/**
 * @module app/instance-lock
 * One relay per data directory: two relays on one outbox would each deliver its notifications. The
 * first holds a lock on `<data_dir>/tocsin.lock` for as long as it runs; a second one exits naming the
 * data directory and the PID (and host) holding it.
 *
 * The lock is SQLite's own, on a small database file: a write transaction (RESERVED lock) kept open
 * without writing. Every runtime has SQLite (Node's fs has no flock); the operating system releases
 * the lock when the process dies, however it dies; other processes can still read who holds it.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { OpenDatabase } from '../outbox/db.ts';
import { storageFault } from '../outbox/storage-fault.ts';
import { describeOpenError } from './open-errors.ts';

export const LOCK_FILE = 'tocsin.lock';

export class InstanceLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstanceLockedError';
  }
}

export interface InstanceLock {
  release(): void;
}

export function acquireInstanceLock(open: (file: string) => OpenDatabase, dataDir: string, pid = process.pid, host = hostname()): InstanceLock {
  const file = join(dataDir, LOCK_FILE);
  let conn: OpenDatabase;
  try {
    conn = open(file);
  } catch (e) {
    throw describeOpenError(file, e);
  }
  const run = (sql: string, ...params: (string | number)[]) => conn.raw.prepare(sql).run(...params);
  const locked = (e: unknown) => storageFault(e) === 'locked';
  const refuse = (): never => {
    let holder = 'another tocsin';
    try {
      const row = conn.raw.prepare('SELECT pid, host FROM holder WHERE id = 1').values()[0];
      if (row) holder = `another tocsin (pid ${String(row[0])} on ${String(row[1])})`;
    } catch {
      /* it has not written who it is yet */
    }
    throw new InstanceLockedError(`data_dir ${dataDir} is in use by ${holder}; stop it first, or give this one a data_dir of its own`);
  };
  try {
    run('PRAGMA busy_timeout = 0');
    try {
      run('CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, host TEXT NOT NULL, started_at INTEGER NOT NULL)');
    } catch (e) {
      if (locked(e)) refuse();
      throw e;
    }
    // Take the lock, say who holds it, then hold it again: another relay can only slip in between the
    // two, and then this one refuses (one of them runs, never both).
    for (const hold of [false, true]) {
      try {
        run('BEGIN IMMEDIATE');
      } catch (e) {
        if (locked(e)) refuse();
        throw e;
      }
      if (hold) break;
      try {
        run('INSERT OR REPLACE INTO holder (id, pid, host, started_at) VALUES (1, ?, ?, ?)', pid, host, Date.now());
        run('COMMIT');
      } catch (e) {
        // A full disk: hold the lock without saying who holds it (a second relay then names no PID).
        if (!storageFault(e)) throw e;
        try {
          run('ROLLBACK');
        } catch {
          /* SQLite rolled it back already */
        }
      }
    }
  } catch (e) {
    conn.close();
    throw storageFault(e) === 'io' ? describeOpenError(file, e) : e;
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      try {
        run('ROLLBACK');
      } finally {
        conn.close();
      }
    },
  };
}
