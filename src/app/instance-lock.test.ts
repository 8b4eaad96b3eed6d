import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openNodeSqlite } from '../runtime/sqlite-node.ts';
import { acquireInstanceLock, InstanceLockedError } from './instance-lock.ts';

test('a second holder of a data dir is refused, naming the dir and the holder; released, the dir is free again', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = acquireInstanceLock(openNodeSqlite, dir, 4242, 'edge-1');
  assert.throws(
    () => acquireInstanceLock(openNodeSqlite, dir, 5353, 'edge-1'),
    (e: unknown) => e instanceof InstanceLockedError && e.message === `data_dir ${dir} is in use by another tocsin (pid 4242 on edge-1); stop it first, or give this one a data_dir of its own`,
  );
  first.release();
  const second = acquireInstanceLock(openNodeSqlite, dir, 5353, 'edge-1');
  assert.throws(() => acquireInstanceLock(openNodeSqlite, dir, 6464, 'edge-1'), /pid 5353 on edge-1/);
  second.release();
  second.release(); // idempotent
});
