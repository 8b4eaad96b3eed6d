import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestSqlite } from '../../test/support/sqlite-under-test.ts';
import { silentLogger } from '../lib/logger.ts';
import { RelayClock } from '../lib/monotonic-clock.ts';
import { AlarmCache } from './alarm-cache.ts';
import { applyPragmas, type Connection } from './db.ts';
import { DeliveryLedger, onSteadyTime } from './delivery.ts';
import { migrate } from './migrate.ts';
import { rebaseOutbox } from './rebase.ts';
import { SharedLedger } from './shared-ledger.ts';
import { OutboxStore } from './store.ts';
import { WriteLock } from './write-lock.ts';

const T0 = 1_700_000_000_000;
const STEP = 25 * 3_600_000;

function open() {
  const o = openTestSqlite(':memory:');
  applyPragmas(o.db, 'NORMAL');
  migrate(o.db, 0);
  const store = new OutboxStore(o);
  const enqueue = (id: string) =>
    store.enqueue.transaction(() => {
      store.enqueue.insertAlarm({ id, source: 's', name: 'N', severity: 'info', status: 'firing', labels: {}, annotations: {}, occurredAt: T0, receivedAt: T0, dedupKey: id }, 1);
      store.enqueue.insertNotification({ id: `n-${id}`, alarmIds: [id], method: 'm', createdAt: T0 });
    });
  const row = (id: string) => store.queries.notificationsOf(id)[0]!;
  return { o, store, enqueue, row };
}

/** A relay clock on a monotonic clock the test moves, started at T0. */
function testClock() {
  const time = { mono: 0 };
  return { time, clock: new RelayClock({ wall: { now: () => T0 }, monotonic: () => time.mono }) };
}

test('moves the times of undelivered notifications and the clock by the step; sent and dead ones keep theirs', () => {
  const { o, store, enqueue, row } = open();
  for (const id of ['pending', 'inflight', 'dead', 'sent']) enqueue(id);
  const ledger = new DeliveryLedger(o, new AlarmCache(), { add() {} });
  const claimed = ledger.claim('m', 4, T0, T0 + 50_000);
  const n = (id: string) => claimed.find((c) => c.id === `n-${id}`)!;
  ledger.complete([
    { kind: 'retry', n: n('pending'), at: T0 + 5, latencyMs: 5, nextAttemptAt: T0 + 2000, status: 503, error: 'HTTP 503' },
    { kind: 'dead', n: n('dead'), at: T0 + 5, latencyMs: 5, reason: 'permanent failure: HTTP 400', permanent: true, status: 400 },
    { kind: 'sent', n: n('sent'), at: T0 + 5, latencyMs: 5, status: 200 },
  ]);
  const { clock } = testClock();

  assert.equal(rebaseOutbox(o, undefined, clock, STEP), 2);
  assert.equal(clock.shift, STEP);
  assert.deepEqual([row('pending').createdAt, row('pending').nextAttemptAt, row('pending').leaseUntil], [T0 + STEP, T0 + 2000 + STEP, null]);
  assert.deepEqual([row('inflight').createdAt, row('inflight').leaseUntil], [T0 + STEP, T0 + 50_000 + STEP]);
  assert.deepEqual([row('dead').createdAt, row('dead').deadAt], [T0, T0 + 5], 'history keeps its times');
  assert.equal(store.queries.deliveriesOf('sent')[0]!.sentAt, T0 + 5);
  o.close();
});

test('outcomes the delivery thread holds while the schedule moves under the write lock are written on the new basis', async () => {
  const { o, store, enqueue, row } = open();
  enqueue('a');
  enqueue('b');
  const { time, clock } = testClock();
  const buffer = new SharedArrayBuffer(4);
  const mainLock = new WriteLock(1, buffer);
  let woken = 0;
  // The delivery thread's ledger (its own lock handle on the same cell), on the steady clock.
  const ledger = new SharedLedger(
    onSteadyTime(new DeliveryLedger(o, new AlarmCache(), { add() {} }), () => clock.shift),
    new WriteLock(2, buffer),
    () => woken++,
    silentLogger,
  );
  const [a, b] = ledger.claim('m', 2, clock.steady.now(), clock.steady.now() + 50_000);
  time.mono += 10;
  const at = clock.steady.now();

  mainLock.run(() => {
    // The attempts end while the main thread holds the lock: their outcomes wait in memory ...
    ledger.complete([
      { kind: 'retry', n: a!, at, latencyMs: 10, nextAttemptAt: at + 2000, status: 503, error: 'HTTP 503' },
      { kind: 'sent', n: b!, at, latencyMs: 10, status: 200 },
    ]);
    assert.equal(ledger.waiting, 2);
    // ... and the schedule moves meanwhile.
    assert.equal(rebaseOutbox(o, mainLock, clock, STEP), 2);
    assert.equal(row('a').state, 'inflight');
    assert.equal(row('a').leaseUntil, T0 + 50_000 + STEP);
  });

  for (let i = 0; i < 100 && woken === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(ledger.waiting, 0, 'written once the lock was free');
  assert.deepEqual([row('a').state, row('a').nextAttemptAt, row('a').createdAt], ['pending', T0 + 10 + 2000 + STEP, T0 + STEP]);
  assert.equal(row('a').nextAttemptAt - clock.now(), 2000, 'the retry is as far away as its backoff said');
  assert.deepEqual(store.queries.attemptsOf('n-a').map((x) => x.at), [T0 + 10 + STEP]);
  const sent = store.queries.deliveriesOf('b')[0]!;
  assert.deepEqual([sent.createdAt, sent.sentAt], [T0 + STEP, T0 + 10 + STEP]);

  // Claimed after the step, it is due on the new basis, and its age is read on the steady clock again.
  time.mono += 2000;
  const [again] = ledger.claim('m', 1, clock.steady.now(), clock.steady.now() + 50_000);
  assert.equal(again?.id, 'n-a');
  assert.equal(again.createdAt, T0, 'created 2010 ms ago on the steady clock');
  o.close();
});

test('a move that fails moves nothing, the clock included', () => {
  const { clock } = testClock();
  const broken = {
    raw: {
      prepare: () => ({ run: () => ({ changes: 0 }), values: () => [] }),
      transaction: () => {
        throw new Error('disk I/O error');
      },
    },
  } as unknown as Connection;
  assert.throws(() => rebaseOutbox(broken, new WriteLock(1), clock, STEP), /disk I\/O error/);
  assert.equal(clock.shift, 0);
});
