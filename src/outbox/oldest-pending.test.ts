import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { migratedDatabases } from '../../test/support/outbox-db.ts';
import { sqliteDriver } from '../../test/support/sqlite-under-test.ts';
import { OutboxStore } from './store.ts';
import type { Alarm } from '../domain/alarm.ts';
import { deadLettersByMethod, oldestPendingCreatedAt, undeliveredByMethod } from './oldest-pending.ts';

const alarm = (id: string): Alarm => ({
  id, source: 'test', name: 'DiskFull', severity: 'critical', status: 'firing', summary: 's',
  labels: {}, annotations: {}, occurredAt: 1000, receivedAt: 1000, dedupKey: 'k-' + id,
});

const openDb = migratedDatabases('tocsin-oldest-');

function enqueue(store: OutboxStore, id: string, method: string, at: number): void {
  store.enqueue.transaction(() => {
    store.enqueue.insertAlarm(alarm(id), 1);
    store.enqueue.insertNotification({ id: `n-${id}`, alarmIds: [id], method, createdAt: at });
  });
  store.noteCommitted([{ alarm: alarm(id), notifications: 1 }]);
}

for (const kind of ['memory', 'file'] as const) {
  describe(`outbox/oldest-pending (${sqliteDriver}, ${kind})`, () => {
    test('the oldest pending or in-flight notification; sent and dead ones do not count', () => {
      const o = openDb(kind);
      const store = new OutboxStore(o);
      assert.equal(oldestPendingCreatedAt(o.db), undefined);
      assert.deepEqual(deadLettersByMethod(o.db), new Map());
      enqueue(store, 'a1', 'hook', 1000);
      enqueue(store, 'a2', 'hook', 2000);
      enqueue(store, 'a3', 'chat', 3000);
      assert.equal(oldestPendingCreatedAt(o.db), 1000);
      // a1 in flight: still undelivered.
      const [a1] = store.delivery.claim('hook', 1, 5000, 99_000);
      assert.equal(a1!.id, 'n-a1');
      assert.equal(oldestPendingCreatedAt(o.db), 1000);
      // a1 dead, a2 sent: a3 is the oldest left.
      const [a2] = store.delivery.claim('hook', 1, 5000, 99_000);
      store.delivery.complete([
        { kind: 'dead', n: a1!, at: 6000, latencyMs: 1, error: 'HTTP 404', reason: 'permanent failure', permanent: true },
        { kind: 'sent', n: a2!, at: 6000, latencyMs: 1 },
      ]);
      assert.equal(oldestPendingCreatedAt(o.db), 3000);
      assert.deepEqual(deadLettersByMethod(o.db), new Map([['hook', 1]]));
    });

    test('undelivered by method: pending and in flight, not sent nor dead', () => {
      const o = openDb(kind);
      const store = new OutboxStore(o);
      assert.deepEqual(undeliveredByMethod(o.db), new Map());
      for (const [i, m] of ['hook', 'hook', 'hook', 'chat'].entries()) enqueue(store, `b${i}`, m, 1000 + i);
      const [first, second] = store.delivery.claim('hook', 2, 5000, 99_000);
      store.delivery.complete([{ kind: 'sent', n: second!, at: 6000, latencyMs: 1 }]);
      assert.equal(first!.id, 'n-b0');
      assert.deepEqual(undeliveredByMethod(o.db), new Map([['hook', 2], ['chat', 1]]), 'b0 in flight, b2 pending; b1 sent');
    });

    test('the oldest is exact whatever the ids: a notification whose created_at is older than its id says (a replay resets it) is found', () => {
      const o = openDb(kind);
      const store = new OutboxStore(o);
      // 300 notifications whose ids come first but were created (replayed) later, then an older one.
      for (let i = 10; i < 310; i++) enqueue(store, `c${String(i).padStart(3, '0')}`, 'hook', 9000 + i);
      enqueue(store, 'z999', 'hook', 5000);
      assert.equal(oldestPendingCreatedAt(o.db), 5000);
      const plan = o.db.all<{ detail: string }>(sql`EXPLAIN QUERY PLAN SELECT min(created_at) AS t FROM notifications WHERE state <> 'dead'`);
      assert.ok(plan.some((p) => p.detail.includes('notifications_undelivered_created')), JSON.stringify(plan));
    });
  });
}
