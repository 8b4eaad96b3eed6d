/**
 * @module app/storage-reserve
 * Space kept back for a full disk: `<data_dir>/tocsin.reserve`, a file of RESERVE_BYTES written at start.
 * When the disk fills up, the relay deletes it: the space it frees lets the notifications already
 * accepted be delivered and their outcomes recorded, while ingest answers 503. Once the reserve can be
 * written again (someone freed space), ingest resumes.
 */
import { randomFillSync } from 'node:crypto';
import { closeSync, fsyncSync, openSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const RESERVE_FILE = 'tocsin.reserve';
export const RESERVE_BYTES = 8 * 1024 * 1024;
/** Random, not zeros: a compressing file system (ZFS, btrfs) would store zeros as nothing, reserving nothing. */
const CHUNK = randomFillSync(new Uint8Array(1024 * 1024));

export class StorageReserve {
  readonly file: string;
  readonly #bytes: number;

  constructor(dataDir: string, bytes = RESERVE_BYTES) {
    this.file = join(dataDir, RESERVE_FILE);
    this.#bytes = bytes;
  }

  /** Is the space kept back now? */
  get held(): boolean {
    try {
      // The blocks it takes on the disk, not its length.
      return statSync(this.file).blocks * 512 >= this.#bytes;
    } catch {
      return false;
    }
  }

  /**
   * Writes the reserve if it is not there; false (and nothing left behind) if the space is not there
   * either. It is only written when the file system has room for it twice over: taking it back must not
   * fill the disk again (and fail the writes of delivery meanwhile).
   */
  ensure(): boolean {
    if (this.held) return true;
    const free = freeBytes(this.file);
    if (free !== undefined && free < 2 * this.#bytes) return false;
    let fd: number | undefined;
    try {
      fd = openSync(this.file, 'w');
      for (let done = 0; done < this.#bytes; ) done += writeSync(fd, CHUNK, 0, Math.min(CHUNK.length, this.#bytes - done));
      fsyncSync(fd);
      return true;
    } catch (e) {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      rmSync(this.file, { force: true });
      if ((e as { code?: unknown }).code === 'ENOSPC' || (e as { code?: unknown }).code === 'EDQUOT') return false;
      throw e;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** Frees the space; true if there was a reserve to free. */
  release(): boolean {
    const had = this.held;
    try {
      rmSync(this.file, { force: true });
    } catch {
      return false; // not ours to remove (a read-only directory): nothing freed
    }
    return had;
  }
}

/** Bytes free to this user on the file system of `file`'s directory (undefined if the runtime cannot tell). */
function freeBytes(file: string): number | undefined {
  try {
    const s = statfsSync(dirname(file));
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}
