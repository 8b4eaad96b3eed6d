import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestSqlite } from '../../test/support/sqlite-under-test.ts';
import { silentLogger } from '../lib/logger.ts';
import { AlarmCache } from './alarm-cache.ts';
import { applyPragmas } from './db.ts';
import { DeliveryLedger } from './delivery.ts';
import { migrate } from './migrate.ts';
import { SharedLedger } from './shared-ledger.ts';
import { OutboxStore } from './store.ts';
import { WriteLock } from './write-lock.ts';

test('while another thread holds the write lock, claims find nothing and outcomes wait; both go ahead once it is released', async () => {
  const o = openTestSqlite(':memory:');
  applyPragmas(o.db, 'NORMAL');
  migrate(o.db, 0);
  const store = new OutboxStore(o);
  for (const id of ['a', 'b']) {
    store.enqueue.transaction(() => {
      store.enqueue.insertAlarm({ id, source: 's', name: 'N', severity: 'info', status: 'firing', labels: {}, annotations: {}, occurredAt: 1, receivedAt: 1, dedupKey: id }, 1);
      store.enqueue.insertNotification({ id: `n-${id}`, alarmIds: [id], method: 'm', createdAt: 1 });
    });
  }
  const buffer = new SharedArrayBuffer(4);
  const other = new Int32Array(buffer);
  let woken = 0;
  const ledger = new SharedLedger(new DeliveryLedger(o, new AlarmCache(), { add() {} }), new WriteLock(2, buffer), () => woken++, silentLogger);

  const [first] = ledger.claim('m', 1, 10, 1000);
  assert.equal(first?.id, 'n-a');
  Atomics.store(other, 0, 1); // the main thread commits
  assert.deepEqual(ledger.claim('m', 1, 10, 1000), [], 'nothing claimed while the lock is taken');
  ledger.complete([{ kind: 'sent', n: first!, at: 20, latencyMs: 1, status: 200 }]);
  assert.equal(ledger.waiting, 1, 'the outcome waits in memory');
  assert.equal(store.queries.countsByState().delivered, 0);

  Atomics.store(other, 0, 0); // released
  Atomics.notify(other, 0);
  for (let i = 0; i < 100 && woken === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(woken > 0, 'the dispatcher is woken once the lock is free');
  assert.equal(ledger.waiting, 0);
  assert.equal(store.queries.countsByState().delivered, 1, 'written as soon as the lock was free');
  assert.equal(ledger.claim('m', 1, 10, 1000)[0]?.id, 'n-b');
  o.close();
});

test('drain writes what waits, waiting for the lock if it must', () => {
  const o = openTestSqlite(':memory:');
  applyPragmas(o.db, 'NORMAL');
  migrate(o.db, 0);
  const store = new OutboxStore(o);
  store.enqueue.transaction(() => {
    store.enqueue.insertAlarm({ id: 'a', source: 's', name: 'N', severity: 'info', status: 'firing', labels: {}, annotations: {}, occurredAt: 1, receivedAt: 1, dedupKey: 'a' }, 1);
    store.enqueue.insertNotification({ id: 'n-a', alarmIds: ['a'], method: 'm', createdAt: 1 });
  });
  const buffer = new SharedArrayBuffer(4);
  const ledger = new SharedLedger(new DeliveryLedger(o, new AlarmCache(), { add() {} }), new WriteLock(2, buffer), () => {}, silentLogger);
  const [n] = ledger.claim('m', 1, 10, 1000);
  Atomics.store(new Int32Array(buffer), 0, 1);
  ledger.complete([{ kind: 'sent', n: n!, at: 20, latencyMs: 1, status: 200 }]);
  Atomics.store(new Int32Array(buffer), 0, 0);
  ledger.drain();
  assert.equal(ledger.waiting, 0);
  assert.equal(store.queries.countsByState().delivered, 1);
  o.close();
});
