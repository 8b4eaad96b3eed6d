import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openTestSqlite, sqliteDriver } from '../../test/support/sqlite-under-test.ts';
import { applyPragmas, type OpenDatabase } from './db.ts';
import { migrate } from './migrate.ts';
import { OutboxStore } from './store.ts';
import { Handoff, type HandoffRecord } from './handoff.ts';
import type { Alarm } from '../domain/alarm.ts';

const alarm = (id: string): Alarm => ({
  id, source: 'app', name: 'DiskFull', severity: 'error', status: 'firing', summary: 's', labels: { host: 'h1' }, annotations: {},
  occurredAt: 1000, receivedAt: 1001, dedupKey: `k-${id}`, details: { big: '9007199254740993' },
});

const opened: OpenDatabase[] = [];
afterEach(() => {
  for (const o of opened.splice(0)) o.close();
});

function setup() {
  const o = openTestSqlite(':memory:');
  opened.push(o);
  applyPragmas(o.db, 'FULL');
  migrate(o.db, 0);
  const store = new OutboxStore(o);
  const handoff = new Handoff(o);
  const tx = <T>(fn: () => T) => store.enqueue.transaction(fn);
  const state = (id: string) => (o.raw.prepare('SELECT state, attempts, lease_until FROM notifications WHERE id = ?').values(id)[0] ?? []).map((x) => (typeof x === 'bigint' ? Number(x) : x));
  return { o, store, handoff, tx, state };
}

/** A notification of alarm `a` that failed `attempts` times. */
function failed(s: ReturnType<typeof setup>, id: string, a: string, attempts: number): void {
  s.tx(() => {
    s.store.enqueue.insertAlarm(alarm(a), 1);
    s.store.enqueue.insertNotification({ id, alarmIds: [a], method: 'hook', createdAt: 500 });
  });
  s.o.raw.prepare('UPDATE notifications SET attempts = ?, next_attempt_at = 2000, last_status = 503, last_error = ? WHERE id = ?').run(attempts, 'HTTP 503', id);
}

describe(`outbox hand-off (${sqliteDriver})`, () => {
  test('candidates: pending, failed at least once, filtered; lease reads them whole and keeps delivery off them', () => {
    const s = setup();
    failed(s, 'n1', 'a1', 1);
    failed(s, 'n2', 'a2', 3);
    failed(s, 'n0', 'a0', 0);
    const c = s.tx(() => s.handoff.candidates(10, (x) => x.id !== 'n2'));
    assert.deepEqual(c, [{ id: 'n1', attempts: 1 }]);
    const [r] = s.tx(() => s.handoff.lease(['n1'], 9999));
    assert.deepEqual(r, { id: 'n1', method: 'hook', attempts: 1, createdAt: 500, nextAttemptAt: 2000, lastStatus: 503, lastError: 'HTTP 503', alarms: [alarm('a1')] } satisfies HandoffRecord);
    assert.deepEqual(s.state('n1'), ['inflight', 1, 9999]);
    assert.deepEqual(s.store.delivery.claim('hook', 10, 5000, 6000).map((x) => x.id).sort(), ['n0', 'n2'], 'delivery cannot claim a notification being handed off');
  });

  test('remove takes only those still under the lease; unlease gives the others back as they were', () => {
    const s = setup();
    failed(s, 'n1', 'a1', 2);
    failed(s, 'n2', 'a2', 2);
    s.tx(() => s.handoff.lease(['n1', 'n2'], 9999));
    s.o.raw.prepare('UPDATE notifications SET lease_until = 1 WHERE id = ?').run('n2'); // no longer ours
    assert.deepEqual(s.tx(() => s.handoff.remove(['n1', 'n2'], 9999)), ['n1']);
    assert.deepEqual(s.state('n1'), []);
    s.tx(() => s.handoff.unlease(['n2'], 1));
    assert.deepEqual(s.state('n2'), ['pending', 2, null]);
  });

  test('arrive inserts with its id, attempts and alarms (once); a record of a notification already here is known', () => {
    const s = setup();
    const rec: HandoffRecord = { id: 'n9', method: 'hook', attempts: 4, createdAt: 500, nextAttemptAt: 3000, lastStatus: 503, lastError: 'e', alarms: [alarm('a9')] };
    assert.equal(s.tx(() => s.handoff.arrive(rec)), 'inserted');
    assert.deepEqual(s.state('n9'), ['pending', 4, null]);
    assert.equal(s.tx(() => s.handoff.arrive(rec)), 'known');
    assert.deepEqual(s.store.queries.getAlarm('a9'), alarm('a9'));
    // Sent here already: known, not delivered again.
    s.o.raw.prepare("INSERT INTO deliveries (notification_id, alarm_id, alarm_count, method, attempts, created_at, sent_at, last_status) VALUES ('n8', 'a9', 1, 'hook', 1, 1, 2, 200)").run();
    assert.equal(s.tx(() => s.handoff.arrive({ ...rec, id: 'n8' })), 'known');
    assert.deepEqual(s.handoff.unsettled(['n9', 'n8', 'nx']), new Set(['n9']));
  });

  test('a record that comes back while its notification is being handed off takes the row over: it stays here', () => {
    const s = setup();
    failed(s, 'n1', 'a1', 2);
    const [r] = s.tx(() => s.handoff.lease(['n1'], 9999));
    assert.equal(s.tx(() => s.handoff.arrive({ ...r!, attempts: 2, nextAttemptAt: 4000 }, 9999)), 'taken');
    assert.deepEqual(s.state('n1'), ['pending', 2, null]);
    assert.deepEqual(s.tx(() => s.handoff.remove(['n1'], 9999)), [], 'the hand-off does not remove it');
    assert.deepEqual(s.handoff.unsettled(['n1']), new Set(['n1']));
  });
});
