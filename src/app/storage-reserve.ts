/**
 * @module app/storage-reserve
 * Space kept back for a full disk: `<data_dir>/tocsin.reserve`, a file of RESERVE_BYTES written at start.
 * When the disk fills up, the relay deletes it: the space it frees lets the notifications already
 * accepted be delivered and their outcomes recorded, while ingest answers 503. Once the reserve can be
 * written again (someone freed space), ingest resumes.
 */
import { closeSync, fsyncSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const RESERVE_FILE = 'tocsin.reserve';
export const RESERVE_BYTES = 8 * 1024 * 1024;
const CHUNK = new Uint8Array(1024 * 1024);

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
      return statSync(this.file).size >= this.#bytes;
    } catch {
      return false;
    }
  }

  /** Writes the reserve if it is not there; false (and nothing left behind) if the space is not there either. */
  ensure(): boolean {
    if (this.held) return true;
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
    rmSync(this.file, { force: true });
    return had;
  }
}
