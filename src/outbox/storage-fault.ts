/**
 * @module outbox/storage-fault
 * What a SQLite error says about the storage, the same on every driver: better-sqlite3 and bun:sqlite set
 * `code` ("SQLITE_BUSY", "SQLITE_FULL", …); node:sqlite (Deno) only has SQLite's message.
 */

/** `locked`: another process holds the database's write lock; `full`: no space; `io`: the file cannot be written. */
export type StorageFault = 'locked' | 'full' | 'io';

const BY_MESSAGE: readonly [RegExp, StorageFault][] = [
  [/database is locked|database table is locked/i, 'locked'],
  [/database or disk is full|no space left/i, 'full'],
  [/disk I\/O error|readonly database|unable to open database file|file is not a database/i, 'io'],
];

/** The storage fault behind an error, if it is one (undefined: a bug or bad data, not the storage). */
export function storageFault(e: unknown): StorageFault | undefined {
  const err = e as { code?: unknown; message?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : '';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'locked';
  if (code.startsWith('SQLITE_FULL')) return 'full';
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN')) return 'io';
  if (code === 'ENOSPC') return 'full';
  const message = typeof err?.message === 'string' ? err.message : '';
  return BY_MESSAGE.find(([re]) => re.test(message))?.[1];
}

/** Thrown to ingest when nothing can be committed now: answer 503 with Retry-After, nothing was accepted. */
export class StorageUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterSec: number,
  ) {
    super(message);
    this.name = 'StorageUnavailableError';
  }
}
