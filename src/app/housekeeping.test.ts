import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPragmas } from '../outbox/db.ts';
import { migrate } from '../outbox/migrate.ts';
import { OutboxStore } from '../outbox/store.ts';
import { openNodeSqlite } from '../runtime/sqlite-node.ts';
import type { Alarm } from '../domain/alarm.ts';
import { FakeClock } from '../../test/support/fake-clock.ts';
import { housekeepingService, LEASE_SWEEP_MS, PRUNE_MS } from './housekeeping.ts';

const alarm = (id: string, at: number): Alarm => ({
  id, source: 't', name: 'N', severity: 'info', status: 'firing', labels: {}, annotations: {}, occurredAt: at, receivedAt: at, dedupKey: id,
});

function setup() {
  const o = openNodeSqlite(':memory:');
  applyPragmas(o.db, 'NORMAL');
  migrate(o.db, 0);
  const clock = new FakeClock(1_000_000);
  const store = new OutboxStore(o);
  // A backlog left by a previous run: 3 for a configured method, 2 for one that is gone.
  store.enqueue.transaction(() => {
    for (const [i, method] of ['hook', 'hook', 'hook', 'gone', 'gone'].entries()) {
      store.enqueue.insertAlarm(alarm(`a${i}`, clock.t), 1);
      store.enqueue.insertNotification({ id: `n${i}`, alarmIds: [`a${i}`], method, createdAt: clock.t });
    }
  });
  const logs: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const logger = Object.fromEntries(
    (['debug', 'info', 'warn', 'error'] as const).map((level) => [level, (fields: Record<string, unknown>, msg: string) => logs.push({ level, msg, fields })]),
  ) as unknown as import('../lib/logger.ts').Logger;
  let nudges = 0;
  const service = housekeepingService({
    store, hasMethod: (m) => m === 'hook', clock, scheduler: clock, logger,
    retentionMs: () => 60_000, idempotencyTtlMs: () => 60_000, onReleased: () => nudges++,
  });
  return { o, clock, store, logs, service, nudges: () => nudges };
}

test('nothing runs at start itself; just after it the backlog is counted in one scan and orphans are reported', () => {
  const env = setup();
  assert.equal(env.service.ready?.(), undefined);
  env.service.start();
  assert.equal(env.service.ready?.(), 'counting the undelivered notifications', 'not ready until counted: max_pending needs the count');
  assert.equal(env.store.pendingCount, 0, 'not counted inside start()');
  assert.equal(env.logs.length, 0);
  env.clock.advance(0);
  assert.equal(env.store.pendingCount, 5);
  assert.equal(env.service.ready?.(), undefined);
  const orphan = env.logs.find((l) => l.level === 'error');
  assert.deepEqual(orphan?.fields, { method: 'gone', undelivered: 2 });
  assert.deepEqual(env.logs.find((l) => l.level === 'info')?.fields, { undelivered: 5 });
  env.service.stop();
  env.o.close();
});

test('expired leases are swept every LEASE_SWEEP_MS and wake the dispatcher; every PRUNE_MS the report repeats', () => {
  const env = setup();
  env.service.start();
  env.clock.advance(0);
  env.store.delivery.claim('hook', 10, env.clock.t, env.clock.t + 1000); // leases that expire in 1 s
  env.clock.advance(LEASE_SWEEP_MS - 1);
  assert.equal(env.nudges(), 0);
  env.clock.advance(1);
  assert.equal(env.nudges(), 1, 'released and nudged');
  assert.equal(env.store.queries.countsByState().inflight, 0);
  const before = env.logs.filter((l) => l.level === 'error').length;
  env.clock.advance(PRUNE_MS);
  assert.equal(env.logs.filter((l) => l.level === 'error').length, before + 1, 'the orphan report repeats');
  env.service.stop();
  assert.equal(env.clock.pending, 0, 'stop cancels every timer');
  env.o.close();
});
