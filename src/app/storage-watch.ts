/**
 * @module app/storage-watch
 * Keeps the storage health current without traffic: every second it looks at the database file's
 * identity (deleted, or replaced by another file), and while something is wrong it probes with a real
 * write, so /readyz and the log say when the database is writable again. It also truncates the WAL
 * when the outbox drains and every minute, so a quiet relay keeps no WAL on the disk (SQLite keeps the
 * file at its largest otherwise; journal_size_limit cuts it back at each reset).
 */
import { statSync } from 'node:fs';
import { every, type Scheduler, type Timer } from '../lib/clock.ts';
import { coerceError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Service } from '../lib/service.ts';
import type { StorageHealth } from '../outbox/storage-health.ts';
import { storageFault } from '../outbox/storage-fault.ts';

export const STORAGE_WATCH_MS = 1000;
export const IDLE_PROBE_MS = 30_000;

/** The size of a file, 0 if there is none. */
export function fileBytes(file: string): number {
  return statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

/** The file's device and inode ("dev:ino"), or undefined if there is no such file. */
export function fileIdentity(file: string): string | undefined {
  try {
    const s = statSync(file);
    return `${s.dev}:${s.ino}`;
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The WAL is truncated when the outbox drains, and this often whatever it holds. */
export const WAL_TRUNCATE_MS = 60_000;

export interface StorageWatchDeps {
  readonly health: StorageHealth;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  /** Is the outbox empty (nothing pending or in flight)? */
  readonly drained: () => boolean;
  /** Checkpoints and truncates the WAL if nothing is in the way (see outbox/db truncateWal). */
  readonly truncateWal: () => void;
  /** The WAL file's size now. */
  readonly walBytes: () => number;
  /** Monotonic milliseconds. */
  readonly now: () => number;
}

export function storageWatchService(deps: StorageWatchDeps): Service {
  const { health, scheduler, logger } = deps;
  let timer: Timer | undefined;
  let truncatedAt = deps.now();
  const truncate = () => {
    const t = deps.now();
    if ((deps.drained() && deps.walBytes() > 0) || t - truncatedAt >= WAL_TRUNCATE_MS) {
      truncatedAt = t;
      deps.truncateWal();
    }
  };
  return {
    name: 'storage',
    start() {
      timer = every(
        scheduler,
        STORAGE_WATCH_MS,
        () => {
          try {
            // A fresh verdict every second while something is wrong; otherwise when no commit has said
            // anything for a while (an idle relay notices a full disk before the next alarm does).
            health.check(health.problem ? 0 : IDLE_PROBE_MS);
          } catch (e) {
            logger.warn({ err: coerceError(e).message }, 'storage probe failed');
          }
          try {
            truncate();
          } catch (e) {
            if (!storageFault(e)) logger.warn({ err: coerceError(e).message }, 'WAL checkpoint failed; will try again');
          }
        },
        { background: true },
      );
    },
    stop() {
      timer?.cancel();
    },
  };
}
