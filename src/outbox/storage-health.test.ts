import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageHealth } from './storage-health.ts';
import { StorageUnavailableError } from './storage-fault.ts';
import type { Logger } from '../lib/logger.ts';

function setup(opts: { probe?: () => void; identity?: () => string | undefined; reserve?: boolean } = {}) {
  let t = 0;
  const logs: string[] = [];
  const log = (level: string) => (_f: Record<string, unknown>, msg: string) => void logs.push(`${level}: ${msg}`);
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const reserve = { held: true, ensured: 0, ensure: () => (reserve.ensured++, reserve.held), release: () => !!reserve.held && !(reserve.held = false) };
  let probes = 0;
  const health = new StorageHealth({
    file: '/data/tocsin.db',
    probe: () => {
      probes++;
      opts.probe?.();
    },
    identity: opts.identity ?? (() => '1:2'),
    now: () => t,
    logger,
    ...(opts.reserve && { reserve }),
  });
  return { health, logs, reserve, advance: (ms: number) => (t += ms), probes: () => probes };
}

const locked = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
const full = new Error('database or disk is full');

test('a failed commit sets the reason /readyz gives, logged once; the next commit clears it', () => {
  const { health, logs } = setup();
  assert.equal(health.failed(locked), 'locked');
  assert.equal(health.failed(locked), 'locked');
  assert.equal(health.reason, 'database locked by another process');
  assert.equal(health.failed(new Error('UNIQUE constraint failed')), undefined, 'not the storage');
  health.committed();
  assert.equal(health.reason, undefined);
  assert.deepEqual(logs, ['warn: cannot write the database: ingest waits, then answers 503, until it can', 'info: database writable again: ingest accepts alarms']);
});

test('check probes with a real write only when the last verdict is older than its max age', () => {
  let fail: Error | undefined;
  const s = setup({ probe: () => { if (fail) throw fail; } });
  s.health.committed();
  assert.equal(s.health.check(1000), undefined);
  assert.equal(s.probes(), 0, 'a commit just said so');
  s.advance(1000);
  fail = full;
  assert.equal(s.health.check(1000), 'disk full');
  assert.equal(s.probes(), 1);
  fail = undefined;
  s.advance(10);
  assert.equal(s.health.check(0), undefined, 'the probe says writable again');
});

test('a full disk frees the reserve and refuses ingest until the reserve can be written again', () => {
  const s = setup({ reserve: true });
  s.health.failed(full);
  assert.equal(s.reserve.held, false, 'the reserve is freed');
  assert.ok(s.logs.some((l) => l.startsWith('warn: disk full: freed the space')));
  assert.throws(() => s.health.assertUsable(), (e: unknown) => e instanceof StorageUnavailableError && e.retryAfterSec === 30 && /disk full/.test(e.message));
  s.advance(1000);
  assert.equal(s.health.check(0), 'disk full', 'no space for the reserve yet: no probe');
  assert.equal(s.probes(), 0);
  s.reserve.held = true; // space was freed: ensure() succeeds
  s.advance(1000);
  assert.equal(s.health.check(0), undefined);
  assert.equal(s.probes(), 1);
  s.health.assertUsable();
});

test('still full after the reserve was written back: the reserve is freed again for delivery', () => {
  let full_ = true;
  const s = setup({ reserve: true, probe: () => { if (full_) throw full; } });
  s.health.failed(full);
  assert.equal(s.reserve.held, false);
  s.reserve.held = true; // ensure() finds room (someone freed exactly the reserve's worth)
  s.advance(1000);
  assert.equal(s.health.check(0), 'disk full');
  assert.equal(s.reserve.held, false, 'freed again: the probe still found the disk full');
  full_ = false;
  s.reserve.held = true;
  s.advance(1000);
  assert.equal(s.health.check(0), undefined);
  assert.equal(s.reserve.held, true);
});

test('the database file deleted or replaced: unusable for good, named in the reason', () => {
  let id: string | undefined = '1:2';
  const s = setup({ identity: () => id });
  s.health.assertUsable();
  id = '1:3';
  s.advance(250);
  assert.throws(() => s.health.assertUsable(), (e: unknown) => e instanceof StorageUnavailableError && e.retryAfterSec === 60);
  assert.equal(s.health.reason, 'database file /data/tocsin.db was replaced while tocsin was running');
  s.health.committed();
  assert.equal(s.health.problem, 'gone', 'a commit into the old file does not make it right');
  let id2: string | undefined = '1:2';
  const d = setup({ identity: () => id2 });
  id2 = undefined;
  d.advance(250);
  assert.match(d.health.check() ?? '', /was deleted while tocsin was running/);
});
