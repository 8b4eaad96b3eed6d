import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openTestSqlite, sqliteDriver } from '../../test/support/sqlite-under-test.ts';
import { applyPragmas, type OpenDatabase } from './db.ts';
import { migrate } from './migrate.ts';
import { OutboxStore } from './store.ts';
import { CanaryRuns, type CanaryRunRow } from './canary-runs.ts';
import { WriteLock } from './write-lock.ts';
import type { Alarm } from '../domain/alarm.ts';

const alarm = (id: string): Alarm => ({
  id, source: 'tocsin', name: 'TocsinCanary', severity: 'info', status: 'firing', summary: 'canary',
  labels: { canary: 'path' }, annotations: {}, occurredAt: 1000, receivedAt: 1000, dedupKey: 'k-' + id,
});

const opened: OpenDatabase[] = [];
afterEach(() => {
  for (const o of opened.splice(0)) o.close();
});

function openDb(): OpenDatabase {
  const o = openTestSqlite(':memory:');
  opened.push(o);
  applyPragmas(o.db, 'FULL');
  migrate(o.db, 0);
  return o;
}

const run = (rid: string, over: Partial<CanaryRunRow> = {}): CanaryRunRow => ({
  rid, canary: 'path', startedAt: 1000, stage: 'injected', firingAlarmId: null, resolvedAlarmId: null,
  outcome: 'open', reason: null, finishedAt: null, latencyMs: null, detail: null, ...over,
});

describe(`canary runs (${sqliteDriver})`, () => {
  test('save inserts, and replaces every column of the same rid; open lists open runs oldest first', () => {
    const runs = new CanaryRuns(openDb().db);
    runs.save(run('r2', { startedAt: 2000 }));
    runs.save(run('r1', { startedAt: 1000, firingAlarmId: 'a1', detail: 'x' }));
    runs.save(run('r3', { startedAt: 1500, canary: 'other' }));
    assert.deepEqual(runs.open().map((r) => r.rid), ['r1', 'r3', 'r2']);
    assert.deepEqual(runs.open('path').map((r) => r.rid), ['r1', 'r2']);
    assert.deepEqual(runs.open('nope'), []);
    assert.deepEqual(runs.open('path')[0], run('r1', { startedAt: 1000, firingAlarmId: 'a1', detail: 'x' }));

    const done = run('r1', {
      startedAt: 1000, stage: 'resolved', firingAlarmId: 'a1', resolvedAlarmId: 'a2', outcome: 'succeeded',
      finishedAt: 1400, latencyMs: 380, detail: 'ops-hook 120ms, log 2ms',
    });
    runs.save(done);
    assert.deepEqual(runs.open('path').map((r) => r.rid), ['r2']);
    assert.deepEqual(runs.recent('path', 10), [run('r2', { startedAt: 2000 }), done]);
    const failed = run('r2', { startedAt: 2000, stage: 'delivering', outcome: 'failed', reason: 'ops-hook: dead: HTTP 404', finishedAt: 3000 });
    runs.save(failed);
    assert.deepEqual(runs.recent('path', 10), [failed, done]);
  });

  test('unfinished: open runs and decided ones whose final ping is not confirmed (reporting), oldest first', () => {
    const runs = new CanaryRuns(openDb().db);
    runs.save(run('open', { startedAt: 3000 }));
    runs.save(run('reporting', { startedAt: 1000, stage: 'reporting', outcome: 'failed', reason: 'x' }));
    runs.save(run('done', { startedAt: 2000, stage: 'done', outcome: 'succeeded' }));
    assert.deepEqual(runs.unfinished().map((r) => r.rid), ['reporting', 'open']);
  });

  test('recent: newest first, at most limit, one canary only', () => {
    const runs = new CanaryRuns(openDb().db);
    for (let i = 1; i <= 5; i++) runs.save(run(`r${i}`, { startedAt: i * 1000, outcome: i % 2 ? 'succeeded' : 'failed' }));
    runs.save(run('x', { canary: 'other', startedAt: 9000 }));
    assert.deepEqual(runs.recent('path', 3).map((r) => r.rid), ['r5', 'r4', 'r3']);
    assert.deepEqual(runs.recent('path', 0), []);
    assert.deepEqual(runs.recent('other', 3).map((r) => r.rid), ['x']);
    assert.deepEqual(runs.recent('none', 3), []);
  });

  test('prune deletes finished runs started before the cutoff; open runs stay', () => {
    const lock = new WriteLock(1);
    const runs = new CanaryRuns(openDb().db, lock);
    runs.save(run('old-ok', { startedAt: 1000, outcome: 'succeeded' }));
    runs.save(run('old-failed', { startedAt: 1999, outcome: 'failed' }));
    runs.save(run('old-open', { startedAt: 1000 }));
    runs.save(run('at-cutoff', { startedAt: 2000, outcome: 'succeeded' }));
    runs.save(run('new', { startedAt: 3000, outcome: 'failed' }));
    assert.equal(runs.prune(2000), 2);
    assert.equal(lock.holder, 0, 'the lock is released');
    assert.deepEqual(runs.recent('path', 10).map((r) => r.rid), ['new', 'at-cutoff', 'old-open']);
    assert.equal(runs.prune(2000), 0);
  });

  test('notificationsOf: pending and in flight are pending, delivered are sent, dead letters are dead', () => {
    const o = openDb();
    const store = new OutboxStore(o);
    const runs = new CanaryRuns(o.db);
    store.enqueue.transaction(() => {
      store.enqueue.insertAlarm(alarm('fire'), 4);
      store.enqueue.insertAlarm(alarm('res'), 1);
      store.enqueue.insertAlarm(alarm('unrelated'), 1);
      store.enqueue.insertNotification({ id: 'n-hook', alarmIds: ['fire'], method: 'hook', createdAt: 1000 });
      store.enqueue.insertNotification({ id: 'n-log', alarmIds: ['fire'], method: 'log', createdAt: 1001 });
      store.enqueue.insertNotification({ id: 'n-pager', alarmIds: ['fire'], method: 'pager', createdAt: 1002 });
      store.enqueue.insertNotification({ id: 'n-slow', alarmIds: ['fire'], method: 'slow', createdAt: 1003 });
      store.enqueue.insertNotification({ id: 'n-res', alarmIds: ['res'], method: 'hook', createdAt: 900 });
      store.enqueue.insertNotification({ id: 'n-other', alarmIds: ['unrelated'], method: 'hook', createdAt: 1000 });
    });
    const [hook] = store.delivery.claim('hook', 1, 2000, 99_000);
    const [log] = store.delivery.claim('log', 1, 2000, 99_000);
    const [pager] = store.delivery.claim('pager', 1, 2000, 99_000);
    store.delivery.claim('slow', 1, 2000, 99_000); // in flight
    assert.equal(hook!.id, 'n-res', 'the oldest due hook notification');
    const [hookFire] = store.delivery.claim('hook', 1, 2000, 99_000);
    store.delivery.complete([
      { kind: 'sent', n: hookFire!, at: 2100, status: 200, latencyMs: 5 },
      { kind: 'retry', n: hook!, at: 2100, status: 503, latencyMs: 5, error: 'HTTP 503', nextAttemptAt: 4000 },
      { kind: 'sent', n: log!, at: 2050, latencyMs: 1 },
      { kind: 'dead', n: pager!, at: 2200, status: 404, latencyMs: 5, error: 'HTTP 404: nope', reason: 'permanent failure', permanent: true },
    ]);

    assert.deepEqual(runs.notificationsOf(['fire', 'res']), [
      { id: 'n-hook', method: 'hook', alarmId: 'fire', state: 'sent', lastError: null, deadReason: null, sentAt: 2100 },
      { id: 'n-log', method: 'log', alarmId: 'fire', state: 'sent', lastError: null, deadReason: null, sentAt: 2050 },
      { id: 'n-pager', method: 'pager', alarmId: 'fire', state: 'dead', lastError: 'HTTP 404: nope', deadReason: 'permanent failure', sentAt: null },
      { id: 'n-slow', method: 'slow', alarmId: 'fire', state: 'pending', lastError: null, deadReason: null, sentAt: null },
      { id: 'n-res', method: 'hook', alarmId: 'res', state: 'pending', lastError: 'HTTP 503', deadReason: null, sentAt: null },
    ]);
    assert.deepEqual(runs.notificationsOf(['res', 'fire']).map((n) => n.id), ['n-res', 'n-hook', 'n-log', 'n-pager', 'n-slow'], 'in the order asked');
    assert.deepEqual(runs.notificationsOf([]), []);
    assert.deepEqual(runs.notificationsOf(['nothing']), []);
  });

  test('notificationsOf finds an alarm carried by a grouped notification, pending and sent', () => {
    const o = openDb();
    const store = new OutboxStore(o);
    const runs = new CanaryRuns(o.db);
    store.enqueue.transaction(() => {
      for (const id of ['g1', 'fire', 'g2']) store.enqueue.insertAlarm(alarm(id), 1);
      store.enqueue.insertNotification({ id: 'n-group', alarmIds: ['g1', 'fire'], method: 'hook', createdAt: 1000 });
      store.enqueue.insertNotification({ id: 'n-group2', alarmIds: ['g2', 'fire'], method: 'log', createdAt: 1001 });
    });
    const [n] = store.delivery.claim('log', 1, 2000, 99_000);
    store.delivery.complete([{ kind: 'sent', n: n!, at: 2100, latencyMs: 1 }]);
    assert.deepEqual(runs.notificationsOf(['fire']), [
      { id: 'n-group', method: 'hook', alarmId: 'fire', state: 'pending', lastError: null, deadReason: null, sentAt: null },
      { id: 'n-group2', method: 'log', alarmId: 'fire', state: 'sent', lastError: null, deadReason: null, sentAt: 2100 },
    ]);
  });
});
