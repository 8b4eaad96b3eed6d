/**
 * A small file system to fill up (the disk-full tests): mount a tmpfs (root only), and fill it to the
 * last byte.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';

/** Mounts a tmpfs of `size` (e.g. "24m") on `dir`; undefined, or why it cannot (for `needs`). */
export function mountTmpfs(dir: string, size: string): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `cannot mount a tmpfs: ${(e as Error).message.split('\n')[0]}`;
  }
}

/** Fills the file system holding `file` to the last byte, writing `file`. */
export function fill(file: string): void {
  const fd = openSync(file, 'w');
  try {
    for (const size of [1 << 20, 4096, 1]) {
      const chunk = new Uint8Array(size);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOSPC') throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
}
