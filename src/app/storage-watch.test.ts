/**
 * The storage watch's WAL upkeep: truncated once the outbox drains (when there is a WAL to truncate) and
 * every WAL_TRUNCATE_MS whatever it holds; and the outbox's journal_size_limit, which cuts the WAL back
 * at each reset, so recovering from a full disk needs little free space.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { FakeClock } from '../../test/support/fake-clock.ts';
import { openTestSqlite } from '../../test/support/sqlite-under-test.ts';
import { silentLogger } from '../lib/logger.ts';
import { applyPragmas, JOURNAL_SIZE_LIMIT_BYTES, truncateWal } from '../outbox/db.ts';
import type { StorageHealth } from '../outbox/storage-health.ts';
import { STORAGE_WATCH_MS, storageWatchService, WAL_TRUNCATE_MS } from './storage-watch.ts';

test('the WAL is truncated when the outbox drains, and every WAL_TRUNCATE_MS while it does not', async () => {
  const clock = new FakeClock(0);
  let drained = false;
  let walBytes = 4096;
  const truncations: number[] = [];
  const health = { check() {}, problem: undefined } as unknown as StorageHealth;
  const watch = storageWatchService({
    health, scheduler: clock, logger: silentLogger, now: () => clock.now(),
    drained: () => drained, walBytes: () => walBytes, truncateWal: () => void truncations.push(clock.now()),
  });
  await watch.start();
  clock.advance(WAL_TRUNCATE_MS - STORAGE_WATCH_MS);
  assert.deepEqual(truncations, [], 'busy: not before the minute');
  clock.advance(STORAGE_WATCH_MS);
  assert.deepEqual(truncations, [WAL_TRUNCATE_MS], 'busy: once a minute whatever the WAL holds');
  drained = true;
  clock.advance(STORAGE_WATCH_MS);
  assert.deepEqual(truncations, [WAL_TRUNCATE_MS, WAL_TRUNCATE_MS + STORAGE_WATCH_MS], 'drained with a WAL: at the next look');
  walBytes = 0;
  clock.advance(10 * STORAGE_WATCH_MS);
  assert.equal(truncations.length, 2, 'drained and no WAL left: nothing to do');
  await watch.stop();
});

test('journal_size_limit: the WAL is cut back to the limit at each reset, and truncating leaves none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-wal-'));
  const file = join(dir, 'tocsin.db');
  const o = openTestSqlite(file);
  try {
    applyPragmas(o.db, 'NORMAL');
    assert.equal(Number(Object.values(o.db.get<Record<string, number>>(sql`PRAGMA journal_size_limit`)!)[0]), JOURNAL_SIZE_LIMIT_BYTES);
    o.db.run(sql`PRAGMA wal_autocheckpoint = 0`);
    o.db.run(sql`CREATE TABLE t (x BLOB)`);
    // About 12 MiB of WAL, three times the limit.
    for (let i = 0; i < 12; i++) o.db.run(sql`INSERT INTO t VALUES (zeroblob(1048576))`);
    const before = statSync(`${file}-wal`).size;
    assert.ok(before > 3 * JOURNAL_SIZE_LIMIT_BYTES, `the WAL grew to ${before} bytes`);
    // A checkpoint, then the next write starts the WAL over: it is cut back to the limit.
    o.db.run(sql`PRAGMA wal_checkpoint(RESTART)`);
    o.db.run(sql`INSERT INTO t VALUES (x'00')`);
    const reset = statSync(`${file}-wal`).size;
    assert.ok(reset <= JOURNAL_SIZE_LIMIT_BYTES, `after the reset the WAL is ${reset} bytes`);
    assert.equal(truncateWal(o.db), true);
    assert.equal(statSync(`${file}-wal`).size, 0, 'truncated');
  } finally {
    o.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
