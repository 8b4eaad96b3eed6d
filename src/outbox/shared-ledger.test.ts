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

/** An in-memory outbox with one pending notification `n-<id>` (method m) per id. */
function outboxWith(ids: string[]) {
  const o = openTestSqlite(':memory:');
  applyPragmas(o.db, 'NORMAL');
  migrate(o.db, 0);
  const store = new OutboxStore(o);
  for (const id of ids) {
    store.enqueue.transaction(() => {
      store.enqueue.insertAlarm({ id, source: 's', name: 'N', severity: 'info', status: 'firing', labels: {}, annotations: {}, occurredAt: 1, receivedAt: 1, dedupKey: id }, 1);
      store.enqueue.insertNotification({ id: `n-${id}`, alarmIds: [id], method: 'm', createdAt: 1 });
    });
  }
  return { o, store };
}

test('while another thread holds the write lock, claims find nothing and outcomes wait; both go ahead once it is released', async () => {
  const { o, store } = outboxWith(['a', 'b']);
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

test('outcomes that meet a locked or full database wait in memory and are written once it accepts them; claims find nothing meanwhile', async () => {
  const { o, store } = outboxWith(['a', 'b']);
  const inner = new DeliveryLedger(o, new AlarmCache(), { add() {} });
  // What the drivers throw when another process holds the lock, and on a full disk.
  const faults = [Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }), new Error('database or disk is full')];
  let failing = true;
  const flaky = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if ((prop === 'complete' || prop === 'claim') && typeof v === 'function') {
        return (...args: unknown[]) => {
          if (failing) throw faults[prop === 'complete' ? 0 : 1];
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const ledger = new SharedLedger(flaky, new WriteLock(2, new SharedArrayBuffer(4)), () => {}, silentLogger);
  failing = false;
  const [n] = ledger.claim('m', 1, 10, 1000);
  failing = true;
  assert.deepEqual(ledger.claim('m', 1, 10, 1000), [], 'a full disk: nothing claimed, no error');
  ledger.complete([{ kind: 'sent', n: n!, at: 20, latencyMs: 1, status: 200 }]);
  assert.equal(ledger.waiting, 1, 'the outcome is kept, not dropped');
  failing = false;
  for (let i = 0; i < 200 && ledger.waiting > 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(ledger.waiting, 0);
  assert.equal(store.queries.countsByState().delivered, 1, 'written by the retry');
  o.close();
});
