/**
 * @module app/open-outbox
 * Opening the outbox for the app: the data directory's instance lock, the database (pragmas,
 * migrations, the leases a previous run left), a second connection for delivery when it runs on this
 * thread, and what to do when the disk is full or the directory cannot be written.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/types.ts';
import type { Clock } from '../lib/clock.ts';
import { coerceError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { applyPragmas, AUTO_CHECKPOINT_PAGES, BACKSTOP_CHECKPOINT_PAGES, BUSY_TIMEOUT_MS, setBusyTimeout, type OpenDatabase } from '../outbox/db.ts';
import { migrate } from '../outbox/migrate.ts';
import { OutboxStore, type CommittedAlarm } from '../outbox/store.ts';
import { storageFault } from '../outbox/storage-fault.ts';
import type { WriteLock } from '../outbox/write-lock.ts';
import { acquireInstanceLock } from './instance-lock.ts';
import { describeOpenError, realPathProbe } from './open-errors.ts';
import type { StorageReserve } from './storage-reserve.ts';

export interface OutboxDeps {
  readonly openDatabase: (file: string) => OpenDatabase;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Set when delivery may run on a thread of its own (see deliversOnThread). */
  readonly deliveryThread?: unknown;
}

export function databaseFile(config: Config): string {
  return join(config.dataDir, 'tocsin.db');
}

export interface Outbox {
  readonly main: OpenDatabase;
  readonly store: OutboxStore;
  close(): void;
}

/** Does delivery run on a thread of its own? */
export function deliversOnThread(config: Config, deps: { readonly deliveryThread?: unknown }): boolean {
  return deps.deliveryThread !== undefined && config.delivery.thread;
}

/** The delivery connection's synchronous level: NORMAL at most (see outbox/delivery). */
export function deliverySynchronous(config: Config): 'OFF' | 'NORMAL' {
  return config.database.synchronous === 'OFF' ? 'OFF' : 'NORMAL';
}

/** Shared with the delivery thread, if there is one: the write lock, and where committed alarms go. */
export interface ThreadLink {
  readonly lock: WriteLock;
  handOver?: (committed: readonly CommittedAlarm[]) => void;
}

/**
 * Opens and migrates the database; closes what it opened if that fails. Delivery bookkeeping gets a
 * connection of its own: here, or on the delivery thread (which is handed the alarms as they commit).
 */
function openOutbox(config: Config, deps: OutboxDeps, link: ThreadLink): Outbox {
  const { clock, logger } = deps;
  refuseOrphaningAnOutbox(config);
  const instance = acquireInstanceLock(deps.openDatabase, config.dataDir);
  let main: OpenDatabase;
  try {
    main = deps.openDatabase(databaseFile(config));
  } catch (e) {
    instance.release();
    throw describeOpenError(databaseFile(config), e);
  }
  let delivery: OpenDatabase | undefined;
  try {
    const threaded = deliversOnThread(config, deps);
    // A delivery thread checkpoints, outside the write lock (see outbox/db checkpoint).
    applyPragmas(main.db, config.database.synchronous, threaded ? BACKSTOP_CHECKPOINT_PAGES : AUTO_CHECKPOINT_PAGES);
    const applied = migrate(main.db, clock.now());
    if (applied.length > 0) logger.info({ applied }, 'database migrated');
    if (!threaded) {
      delivery = deps.openDatabase(databaseFile(config));
      applyPragmas(delivery.db, deliverySynchronous(config));
    }
    const store = new OutboxStore(main, delivery ?? main, threaded ? { lock: link.lock, handOver: (c) => link.handOver?.(c) } : {});
    // Bounded by the leases a previous process held (at most its delivery concurrency), not by the backlog.
    releaseLeftLeases(store, clock.now(), logger);
    // From now on a lock held by another process must not block this thread (see BUSY_TIMEOUT_MS).
    setBusyTimeout(main.db, BUSY_TIMEOUT_MS);
    if (delivery) setBusyTimeout(delivery.db, BUSY_TIMEOUT_MS);
    const d = delivery;
    return {
      main,
      store,
      close() {
        try {
          d?.close();
          main.close();
        } finally {
          instance.release();
        }
      },
    };
  } catch (e) {
    delivery?.close();
    main.close();
    instance.release();
    // SQLite opens its files at the first statement: "unable to open database file" comes from here.
    throw storageFault(e) === 'io' ? describeOpenError(databaseFile(config), e) : e;
  }
}

/** Leases a previous process left are released, so those notifications go again; on a full disk, they go when the leases expire. */
function releaseLeftLeases(store: OutboxStore, now: number, logger: Logger): void {
  try {
    const released = store.delivery.releaseAllLeases(now);
    if (released > 0) logger.warn({ released }, 'released leases left by a previous run; those notifications will be delivered again');
  } catch (e) {
    if (!storageFault(e)) throw e;
    logger.warn({ err: coerceError(e).message }, 'could not release the leases left by a previous run; those notifications will be delivered again when their leases expire');
  }
}

/**
 * Opens the outbox; if that fails for want of space (SQLite needs room for its WAL and shared-memory
 * files), frees the space kept in reserve and tries once more, so that a relay started on a full disk
 * still delivers what it had accepted.
 */
export function openOnFullDisk(config: Config, deps: OutboxDeps, link: ThreadLink, reserve: StorageReserve): { outbox: Outbox; diskFull: boolean } {
  try {
    return { outbox: openOutbox(config, deps, link), diskFull: false };
  } catch (e) {
    // Full, or SQLite's I/O error creating its WAL and shared-memory files on a disk with no space left.
    const fault = storageFault(e);
    const full = fault === 'full' || (fault === 'io' && realPathProbe.free(config.dataDir) === 0);
    if (!full || !reserve.release()) throw e;
    deps.logger.warn({ err: coerceError(e).message }, 'could not open the database, the disk is full: freed the space kept in reserve');
    return { outbox: openOutbox(config, deps, link), diskFull: true };
  }
}


/**
 * Relative paths in a config file once resolved against the working directory; they now resolve against
 * the file's directory. A relay upgraded in place would start on a new, empty database and leave the
 * undelivered notifications of the old one behind: refuse, saying which path to set.
 */
function refuseOrphaningAnOutbox(config: Config): void {
  const old = config.dataDirFromCwd;
  if (old === undefined || existsSync(databaseFile(config)) || !existsSync(join(old, 'tocsin.db'))) return;
  throw new Error(
    `data_dir resolves to ${config.dataDir} (relative paths in a config file are relative to the file's directory), which has no database, but ${old} (the same path from the working directory) has one: set data_dir to ${old} to keep its notifications, or move that directory`,
  );
}
