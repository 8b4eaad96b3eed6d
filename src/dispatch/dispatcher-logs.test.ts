import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openNodeSqlite } from '../runtime/sqlite-node.ts';
import { applyPragmas } from '../outbox/db.ts';
import { migrate } from '../outbox/migrate.ts';
import { OutboxStore } from '../outbox/store.ts';
import { createDispatcher, FailureMemory } from './dispatcher.ts';
import type { Logger } from '../lib/logger.ts';
import type { Channel } from '../channels/types.ts';
import type { DeliverySettings } from '../config/types.ts';
import type { Alarm } from '../domain/alarm.ts';
import type { SendResult } from '../domain/notification.ts';
import { FakeClock } from '../../test/support/fake-clock.ts';

const T0 = 1_000_000;
const SETTINGS: DeliverySettings = {
  concurrency: 4, timeoutMs: 10_000, maxAttempts: 5, maxAgeMs: 86_400_000, backoffBaseMs: 1000, backoffCapMs: 1000, retryAfterCapMs: 1000,
};
const alarm = (id: string): Alarm => ({
  id, source: 'test', name: 'DiskFull', severity: 'critical', status: 'firing', summary: 's',
  labels: {}, annotations: {}, occurredAt: T0, receivedAt: T0, dedupKey: 'k-' + id,
});

interface Line {
  level: keyof Logger;
  fields: Record<string, unknown>;
  msg: string;
}

const cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A dispatcher over an in-memory outbox whose channel answers each notification from its own script. */
function setup(scripts: Record<string, SendResult[]>) {
  const o = openNodeSqlite(':memory:');
  applyPragmas(o.db, 'NORMAL');
  migrate(o.db, 0);
  const store = new OutboxStore(o);
  const clock = new FakeClock(T0);
  const lines: Line[] = [];
  const at = (level: keyof Logger) => (fields: Record<string, unknown>, msg: string) => void lines.push({ level, fields, msg });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const channel: Channel = {
    method: 'hook',
    send: (d) => Promise.resolve(scripts[d.notificationId]!.shift() ?? { outcome: 'sent', status: 200 }),
  };
  const dispatcher = createDispatcher({
    ledger: store.delivery,
    channels: () => new Map([['hook', channel]]),
    settings: () => SETTINGS,
    batchSize: 100,
    pollIntervalMs: 3_600_000,
    clock,
    scheduler: clock,
    random: () => 0.99,
    logger,
  });
  cleanup.push(async () => {
    const stopped = dispatcher.stop(0);
    clock.advance(0);
    await stopped;
    o.close();
  });
  for (const id of Object.keys(scripts)) {
    store.enqueue.transaction(() => {
      store.enqueue.insertAlarm(alarm(id), 1);
      store.enqueue.insertNotification({ id, alarmIds: [id], method: 'hook', createdAt: clock.t });
    });
    store.noteCommitted([{ alarm: alarm(id), notifications: 1 }]);
  }
  /** One round of due deliveries, then the clock past every backoff. */
  const round = async () => {
    dispatcher.tick();
    await dispatcher.idle();
    clock.t += 2000;
  };
  return { lines, round };
}

const retry = (status: number, body = ''): SendResult => ({ outcome: 'retry', status, error: `HTTP ${status}${body}` });

test('a failing retry is logged (warn) again only when its error changes; a repeat is debug', async () => {
  const env = setup({
    n1: [retry(503), retry(503), retry(500, ': oops'), retry(500, ': oops')],
    n2: [retry(503)],
  });
  for (let i = 0; i < 5; i++) await env.round();
  const failures = (id: string) => env.lines.filter((l) => l.fields.notification_id === id).map((l) => [l.level, l.fields.attempt, l.fields.error]);
  assert.deepEqual(failures('n1'), [
    ['warn', 1, 'HTTP 503'],
    ['debug', 2, 'HTTP 503'],
    ['warn', 3, 'HTTP 500: oops'],
    ['debug', 4, 'HTTP 500: oops'],
  ]);
  // Per method: the same error of another notification of the method is a repeat too (a dead receiver with a
  // thousand notifications queued logs once); n2 failed in the same round as n1's first attempt.
  assert.deepEqual(failures('n2').map(([, attempt, error]) => [attempt, error]), [[1, 'HTTP 503']]);
  const warned503 = env.lines.filter((l) => l.level === 'warn' && l.fields.error === 'HTTP 503');
  assert.equal(warned503.length, 1, 'one warn line for HTTP 503 across both notifications of the method');
});

test('every delivery log line carries alarm_id, notification_id, method and attempt', async () => {
  const env = setup({
    d1: [retry(503), { outcome: 'permanent', status: 404, error: 'HTTP 404: no such hook' }],
  });
  for (let i = 0; i < 3; i++) await env.round();
  assert.deepEqual(env.lines.map((l) => [l.level, l.msg, l.fields]), [
    ['warn', 'delivery attempt failed; will retry', { alarm_id: 'd1', notification_id: 'd1', method: 'hook', attempt: 1, status: 503, error: 'HTTP 503' }],
    ['error', 'notification dead-lettered', { alarm_id: 'd1', notification_id: 'd1', method: 'hook', attempt: 2, status: 404, reason: 'permanent failure: HTTP 404: no such hook' }],
  ]);
});

test('FailureMemory: bounded, the least recently failed forgotten first', () => {
  const m = new FailureMemory(3);
  assert.equal(m.changed('a', 'x'), true);
  assert.equal(m.changed('a', 'x'), false);
  m.changed('b', 'x');
  m.changed('c', 'x');
  m.changed('a', 'x'); // a is now the most recent
  m.changed('d', 'x'); // b goes
  assert.equal(m.size, 3);
  assert.equal(m.changed('a', 'x'), false);
  assert.equal(m.changed('b', 'x'), true, 'forgotten: logged again');
  m.forget('b');
  assert.equal(m.changed('b', 'x'), true);
});
