import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openTestSqlite, sqliteDriver } from '../../test/support/sqlite-under-test.ts';
import { applyPragmas, type OpenDatabase } from './db.ts';
import { migrate } from './migrate.ts';
import { OutboxStore, type Claimed } from './store.ts';
import type { Alarm } from '../domain/alarm.ts';

const alarm = (id: string, key: string, status: Alarm['status']): Alarm => ({
  id, source: 'test', name: 'DiskFull', severity: 'critical', status, labels: {}, annotations: {}, occurredAt: 1000, receivedAt: 1000, dedupKey: key,
});

const opened: OpenDatabase[] = [];
afterEach(() => {
  for (const o of opened.splice(0)) o.close();
});

function store(): OutboxStore {
  const o = openTestSqlite(':memory:');
  opened.push(o);
  applyPragmas(o.db, 'FULL');
  migrate(o.db, 0);
  return new OutboxStore(o);
}

/** The last notification added per (store, method, key): the next one of the key comes after it (as the lifecycle chains them). */
const last = new WeakMap<OutboxStore, Map<string, string>>();

/** Notification `id` of a new alarm of `key`, delivered after the previous one of (method, key). */
function add(s: OutboxStore, id: string, key: string, status: Alarm['status'], method = 'hook'): void {
  const chain = last.get(s) ?? new Map<string, string>();
  last.set(s, chain);
  const afterId = chain.get(`${method} ${key}`);
  chain.set(`${method} ${key}`, id);
  s.enqueue.transaction(() => {
    s.enqueue.insertAlarm(alarm(`a-${id}`, key, status), 1);
    s.enqueue.insertNotification({ id, alarmIds: [`a-${id}`], method, createdAt: 1000, ...(afterId !== undefined && { afterId }) });
  });
  s.noteCommitted([{ alarm: alarm(`a-${id}`, key, status), notifications: 1 }]);
}

const ids = (c: readonly Claimed[]) => c.map((n) => n.id).sort();
const at = { at: 2000, latencyMs: 1 };

describe(`delivery order: a notification after the previous one of its method and alarm (${sqliteDriver})`, () => {
  test('a later notification of a key waits while an earlier one is pending or in flight; other keys go on', () => {
    const s = store();
    add(s, 'n1-firing', 'k1', 'firing');
    add(s, 'n2-resolved', 'k1', 'resolved');
    add(s, 'n3-firing', 'k2', 'firing');
    const first = s.delivery.claim('hook', 10, 2000, 9000);
    assert.deepEqual(ids(first), ['n1-firing', 'n3-firing'], 'one per key: the resolved waits for its firing');
    assert.deepEqual(s.delivery.claim('hook', 10, 2000, 9000), [], 'still in flight: the resolved keeps waiting');
    // The firing fails and goes back to pending, due later: the resolved still waits.
    const f = first.find((n) => n.id === 'n1-firing')!;
    s.delivery.complete([{ kind: 'retry', n: f, nextAttemptAt: 5000, ...at }]);
    assert.deepEqual(s.delivery.claim('hook', 10, 3000, 9000), [], 'a firing waiting for its retry holds the resolved back');
    const again = s.delivery.claim('hook', 10, 5000, 9000);
    assert.deepEqual(ids(again), ['n1-firing']);
    s.delivery.complete([{ kind: 'sent', n: again[0]!, ...at }]);
    assert.deepEqual(ids(s.delivery.claim('hook', 10, 5000, 9000)), ['n2-resolved'], 'sent: the resolved goes');
  });

  test('a dead notification no longer holds its key back', () => {
    const s = store();
    add(s, 'n1', 'k1', 'firing');
    add(s, 'n2', 'k1', 'resolved');
    const [n1] = s.delivery.claim('hook', 10, 2000, 9000);
    s.delivery.complete([{ kind: 'dead', n: n1!, reason: 'gave up', permanent: true, ...at }]);
    assert.deepEqual(ids(s.delivery.claim('hook', 10, 2000, 9000)), ['n2']);
  });

  test('the order is per method: another method of the same key is not held back', () => {
    const s = store();
    add(s, 'h1', 'k1', 'firing', 'hook');
    add(s, 'h2', 'k1', 'resolved', 'hook');
    add(s, 'p1', 'k1', 'resolved', 'pager');
    assert.deepEqual(ids(s.delivery.claim('pager', 10, 2000, 9000)), ['p1']);
    assert.deepEqual(ids(s.delivery.claim('hook', 10, 2000, 9000)), ['h1']);
  });

  test('a key stuck in retries does not hold back other keys, even far more of them than one claim takes', () => {
    const s = store();
    add(s, 'stuck-1', 'stuck', 'firing');
    for (let i = 2; i <= 30; i++) add(s, `stuck-${i}`, 'stuck', i % 2 ? 'firing' : 'resolved');
    const [stuck] = s.delivery.claim('hook', 1, 2000, 9000);
    assert.equal(stuck!.id, 'stuck-1');
    s.delivery.complete([{ kind: 'retry', n: stuck!, nextAttemptAt: 1e12, ...at }]);
    for (let i = 0; i < 5; i++) add(s, `other-${i}`, `k${i}`, 'firing');
    assert.deepEqual(ids(s.delivery.claim('hook', 3, 2000, 9000)), ['other-0', 'other-1', 'other-2']);
    assert.deepEqual(ids(s.delivery.claim('hook', 3, 2000, 9000)), ['other-3', 'other-4']);
  });

  test('notifications that follow nothing are claimed as before', () => {
    const s = store();
    s.enqueue.transaction(() => {
      s.enqueue.insertAlarm(alarm('a', 'k', 'firing'), 2);
      s.enqueue.insertNotification({ id: 'u1', alarmIds: ['a'], method: 'hook', createdAt: 1000 });
      s.enqueue.insertNotification({ id: 'u2', alarmIds: ['a'], method: 'hook', createdAt: 1000 });
    });
    assert.deepEqual(ids(s.delivery.claim('hook', 10, 2000, 9000)), ['u1', 'u2']);
  });

  test('the repeat number comes back with the claim', () => {
    const s = store();
    s.enqueue.transaction(() => {
      s.enqueue.insertAlarm(alarm('a', 'k', 'firing'), 1);
      s.enqueue.insertNotification({ id: 'r', alarmIds: ['a'], method: 'hook', createdAt: 1000, repeat: 3 });
    });
    assert.equal(s.delivery.claim('hook', 10, 2000, 9000)[0]!.repeat, 3);
  });
});
