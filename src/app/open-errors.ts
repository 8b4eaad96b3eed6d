/**
 * @module app/open-errors
 * Why the database cannot be opened, in words an operator can act on: SQLite only says "unable to open
 * database file" (or the runtime "EACCES"), never which path or why.
 */
import { accessSync, constants, statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { coerceError } from '../lib/errors.ts';

/** What is checked, injectable for tests. */
export interface PathProbe {
  /** undefined if missing; else whether it is a directory. */
  kind(path: string): 'dir' | 'file' | undefined;
  writable(path: string): boolean;
  uid(): number | undefined;
  /** Bytes free to this user on the file system holding `path` (undefined if the runtime cannot tell). */
  free(path: string): number | undefined;
}

export const realPathProbe: PathProbe = {
  kind(path) {
    try {
      return statSync(path).isDirectory() ? 'dir' : 'file';
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw e;
    }
  },
  writable(path) {
    try {
      accessSync(path, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
  uid: () => process.getuid?.(),
  free(path) {
    try {
      const s = statfsSync(path);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      return undefined;
    }
  },
};

/** The nearest existing ancestor of `path` (itself if it exists). */
function nearestExisting(path: string, probe: PathProbe): string {
  let p = path;
  while (probe.kind(p) === undefined && dirname(p) !== p) p = dirname(p);
  return p;
}

/**
 * `cannot open <file>: <cause>` for an error met opening `file` in `dataDir`; the cause from the file
 * system when it tells one, else the driver's message.
 */
export function describeOpenError(file: string, e: unknown, probe: PathProbe = realPathProbe): Error {
  const err = coerceError(e);
  const uid = probe.uid();
  const by = uid === undefined ? '' : ` by uid ${uid}`;
  const dir = dirname(file);
  let cause: string | undefined;
  try {
    const dirKind = probe.kind(dir);
    const fileKind = probe.kind(file);
    if (dirKind === undefined) {
      const base = nearestExisting(dir, probe);
      cause =
        probe.kind(base) === 'file'
          ? `${base} is a file, not a directory`
          : !probe.writable(base)
            ? `directory ${dir} does not exist and ${base} is not writable${by}`
            : undefined;
    } else if (dirKind === 'file') cause = `${dir} is a file, not a directory`;
    else if (fileKind === 'dir') cause = 'it is a directory';
    else if (fileKind === 'file' && !probe.writable(file)) cause = `the file is not writable${by}`;
    else if (!probe.writable(dir)) cause = `directory ${dir} is not writable${by}`;
    else if (probe.free(dir) === 0) cause = `the disk is full (no space left on the file system of ${dir})`;
  } catch {
    /* cannot tell more than the driver did */
  }
  const out = new Error(`cannot open ${file}: ${cause ?? err.message}`);
  out.name = 'DatabaseOpenError';
  return out;
}
