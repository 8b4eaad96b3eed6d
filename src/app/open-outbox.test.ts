import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/parse.ts';
import { silentLogger } from '../lib/logger.ts';
import { WriteLock } from '../outbox/write-lock.ts';
import { openNodeSqlite } from '../runtime/sqlite-node.ts';
import { openOnFullDisk } from './open-outbox.ts';
import { StorageReserve } from './storage-reserve.ts';

test('a relative data_dir that now resolves elsewhere than before refuses to start on an empty database while the old one exists', (t) => {
  const work = mkdtempSync(join(tmpdir(), 'tocsin-orphan-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const confDir = join(work, 'etc');
  mkdirSync(confDir);
  const config = parseConfig('data_dir: data\n', {}, () => '', confDir);
  assert.equal(config.dataDir, join(confDir, 'data'));
  assert.equal(config.dataDirFromCwd, join(process.cwd(), 'data'));

  const old = join(work, 'old-data');
  mkdirSync(old);
  writeFileSync(join(old, 'tocsin.db'), '');
  const deps = { openDatabase: openNodeSqlite, clock: { now: () => 0 }, logger: silentLogger };
  const open = (c: typeof config) => openOnFullDisk(c, deps, { lock: new WriteLock(1) }, new StorageReserve(c.dataDir));
  assert.throws(
    () => open({ ...config, dataDirFromCwd: old }),
    new Error(
      `data_dir resolves to ${join(confDir, 'data')} (relative paths in a config file are relative to the file's directory), which has no database, but ${old} (the same path from the working directory) has one: set data_dir to ${old} to keep its notifications, or move that directory`,
    ),
  );
  // No database at the old place: the new one is created.
  const { outbox } = open({ ...config, dataDirFromCwd: join(work, 'nothing-there') });
  outbox.close();
  // Once the new one exists, the old one no longer matters.
  const again = open({ ...config, dataDirFromCwd: old });
  again.outbox.close();
});
