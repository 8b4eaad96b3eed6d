import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { migratedDatabases } from '../../test/support/outbox-db.ts';
import { sqliteDriver } from '../../test/support/sqlite-under-test.ts';
import { latestSchemaVersion, migrate, SchemaTooNewError, schemaVersion } from './migrate.ts';
import { OutboxStore, type Claimed } from './store.ts';
import type { Alarm } from '../domain/alarm.ts';
import { sql } from 'drizzle-orm';

const alarm = (id: string): Alarm => ({
  id, source: 'test', name: 'DiskFull', severity: 'critical', status: 'firing', summary: 's',
  labels: { host: 'db-1' }, annotations: {}, occurredAt: 1000, receivedAt: 1000, dedupKey: 'k-' + id,
  details: { key: '9223372036854775807' },
});

/** A migrated database: in memory, or a WAL file in a fresh directory. */
const openDb = migratedDatabases('tocsin-store-');

/** Alarm `id` with one notification `n-<id>-<i>` per method, committed and noted. */
function enqueue(store: OutboxStore, id: string, methods: string[], at = 1000): void {
  store.enqueue.transaction(() => {
    store.enqueue.insertAlarm(alarm(id), methods.length);
    methods.forEach((m, i) => store.enqueue.insertNotification({ id: `n-${id}-${i}`, alarmIds: [id], method: m, createdAt: at }));
  });
  store.noteCommitted([{ alarm: alarm(id), notifications: methods.length }]);
}

// Every store test runs against an in-memory database and a WAL file database.
for (const kind of ['memory', 'file'] as const) {
  const open = () => openDb(kind);

  describe(`outbox store (${sqliteDriver}, ${kind})`, () => {
    test('migrate is idempotent and refuses a newer schema', () => {
      const { db } = open();
      assert.deepEqual(migrate(db, 0), []);
      assert.equal(schemaVersion(db), latestSchemaVersion());
      assert.throws(() => migrate(db, 0, []), SchemaTooNewError);
    });

    test('claim leases due rows of one method, oldest first, and counts the attempt', () => {
      const store = new OutboxStore(open());
      enqueue(store, 'a1', ['hook', 'log'], 1000);
      enqueue(store, 'a2', ['hook'], 900);
      enqueue(store, 'a3', ['hook'], 5000);
      assert.equal(store.pendingCount, 4);
      const got = store.delivery.claim('hook', 10, 2000, 99_000);
      // RETURNING order is unspecified; the set and the attempt numbers are what matter.
      assert.deepEqual(got.map((c) => [c.id, c.attempt]).sort(), [['n-a1-0', 1], ['n-a2-0', 1]]);
      assert.deepEqual(got.find((c) => c.id === 'n-a1-0')!.alarms, [alarm('a1')]);
      assert.deepEqual(store.delivery.claim('hook', 1, 6000, 99_000).map((c) => c.id), ['n-a3-0'], 'LIMIT picks the oldest due');
      assert.deepEqual(store.delivery.claim('hook', 10, 2000, 99_000), [], 'leased rows are not claimed twice');
      assert.deepEqual(store.queries.countsByState(), { pending: 1, inflight: 3, dead: 0, delivered: 0 });
    });

    test('claim reads alarms back from the database when they are not cached', () => {
      const o = open();
      enqueue(new OutboxStore(o), 'a1', ['hook']);
      const fresh = new OutboxStore(o);
      assert.equal(fresh.pendingCount, 0, 'not counted yet');
      assert.equal(fresh.countPending(), 1);
      assert.deepEqual(fresh.delivery.claim('hook', 10, 2000, 9000)[0]!.alarms, [alarm('a1')]);
    });

    test('the alarm cache lets go of an alarm once all its notifications are claimed; huge alarms are not cached', () => {
      const store = new OutboxStore(open());
      enqueue(store, 'a1', ['hook', 'log']);
      assert.equal(store.delivery.alarmCacheSize, 1);
      store.delivery.claim('hook', 10, 2000, 9000);
      assert.equal(store.delivery.alarmCacheSize, 1, 'the log notification still needs it');
      store.delivery.claim('log', 10, 2000, 9000);
      assert.equal(store.delivery.alarmCacheSize, 0);

      const big: Alarm = { ...alarm('big'), labels: { blob: 'x'.repeat(4 * 1024 * 1024) } };
      store.enqueue.transaction(() => {
        store.enqueue.insertAlarm(big, 1);
        store.enqueue.insertNotification({ id: 'n-big', alarmIds: ['big'], method: 'hook', createdAt: 1000 });
      });
      store.noteCommitted([{ alarm: big, notifications: 1 }]);
      assert.equal(store.delivery.alarmCacheSize, 0, 'not cached');
      assert.deepEqual(store.delivery.claim('hook', 10, 2000, 9000)[0]!.alarms, [big], 'read back from the database');
    });

    test('a notification whose alarm row is missing is dead-lettered, and its batch mates still go out', () => {
      const o = open();
      const store = new OutboxStore(o);
      enqueue(store, 'gone', ['hook']);
      enqueue(store, 'fine', ['hook']);
      o.db.run(sql`DELETE FROM alarms WHERE id = 'gone'`);
      const fresh = new OutboxStore(o); // no cache: reads alarms back
      fresh.countPending();
      assert.deepEqual(fresh.delivery.claim('hook', 10, 2000, 9000).map((c) => c.alarms[0]!.id), ['fine']);
      const [dead] = fresh.queries.notificationsOf('gone');
      assert.equal(dead!.state, 'dead');
      assert.equal(dead!.deadReason, 'alarm gone is missing from the database');
      assert.equal(fresh.pendingCount, 1);
    });

    test('complete: sent moves to the delivery log, retry reschedules, dead stays as a dead letter, release uncounts', () => {
      const store = new OutboxStore(open());
      for (const id of ['s', 'r', 'd', 'x']) enqueue(store, id, ['hook']);
      const c = Object.fromEntries(store.delivery.claim('hook', 10, 2000, 9000).map((n) => [n.alarms[0]!.id, n])) as Record<string, Claimed>;
      store.delivery.complete([
        { kind: 'sent', n: c.s!, at: 2100, status: 200, latencyMs: 5 },
        { kind: 'retry', n: c.r!, at: 2100, status: 503, latencyMs: 5, error: 'HTTP 503', nextAttemptAt: 4000 },
        { kind: 'dead', n: c.d!, at: 2100, status: 404, latencyMs: 5, error: 'HTTP 404: nope', reason: 'permanent failure', permanent: true },
        { kind: 'release', n: c.x!, at: 2100, latencyMs: 5, error: 'shutting down' },
      ]);
      assert.equal(store.pendingCount, 2);
      assert.deepEqual(store.queries.countsByState(), { pending: 2, inflight: 0, dead: 1, delivered: 1 });
      assert.equal(store.queries.deliveriesOf('s')[0]!.lastStatus, 200);
      const [r] = store.queries.notificationsOf('r');
      assert.equal(r!.nextAttemptAt, 4000);
      assert.equal(r!.lastError, 'HTTP 503');
      assert.equal(r!.attempts, 1);
      const [d] = store.queries.notificationsOf('d');
      assert.equal(d!.state, 'dead');
      assert.equal(d!.deadReason, 'permanent failure');
      assert.equal(store.queries.notificationsOf('x')[0]!.attempts, 0);
      assert.deepEqual(store.queries.attemptsOf('n-d-0').map((a) => [a.outcome, a.status, a.error]), [['permanent', 404, 'HTTP 404: nope']]);
      assert.equal(store.delivery.claim('hook', 10, 3000, 9000).length, 1, 'released row due again, retry not yet');
      assert.equal(store.delivery.claim('hook', 10, 4000, 9000).length, 1);
    });

    test('leases: startup releases all, expired ones become claimable', () => {
      const store = new OutboxStore(open());
      enqueue(store, 'a', ['hook']);
      enqueue(store, 'b', ['hook']);
      store.delivery.claim('hook', 1, 2000, 5000);
      assert.equal(store.delivery.releaseExpiredLeases(4999), 0);
      assert.equal(store.delivery.releaseExpiredLeases(5000), 1);
      store.delivery.claim('hook', 2, 6000, 50_000);
      assert.equal(store.delivery.releaseAllLeases(7000), 2);
      assert.equal(store.delivery.claim('hook', 5, 7000, 50_000).length, 2);
    });

    test('idempotency keys expire after the TTL; prune drops old history only', () => {
      const store = new OutboxStore(open());
      store.enqueue.putIdempotency('k', { alarmIds: ['a'], notificationIds: ['n'] }, 1000);
      assert.deepEqual(store.enqueue.getIdempotency('k', 500), { alarmIds: ['a'], notificationIds: ['n'] });
      assert.equal(store.enqueue.getIdempotency('k', 1001), undefined);
      enqueue(store, 'old', ['hook'], 1000);
      const [n] = store.delivery.claim('hook', 1, 1000, 2000);
      store.delivery.complete([{ kind: 'sent', n: n!, at: 1000, latencyMs: 1 }]);
      enqueue(store, 'kept', ['hook'], 1000);
      enqueue(store, 'deadOld', ['hook'], 1000);
      enqueue(store, 'deadNew', ['hook'], 1000);
      const dying = store.delivery.claim('hook', 5, 1000, 2000).filter((c) => c.alarms[0]!.id.startsWith('dead'));
      store.delivery.complete(dying.map((c) => ({
        kind: 'dead' as const, n: c, at: c.alarms[0]!.id === 'deadOld' ? 1000 : 9000, latencyMs: 1, reason: 'gave up', permanent: true,
      })));
      store.upkeep.prune(1000 + 10_000, 5_000, 5_000);
      assert.equal(store.queries.notificationsOf('deadOld').length, 0, 'dead letters older than the retention are pruned');
      assert.equal(store.queries.getAlarm('deadOld'), undefined);
      assert.equal(store.queries.notificationsOf('deadNew')[0]?.state, 'dead', 'recent dead letters are kept');
      assert.equal(store.queries.getAlarm('old'), undefined);
      assert.equal(store.queries.deliveriesOf('old').length, 0);
      assert.ok(store.queries.getAlarm('kept'), 'an alarm with undelivered notifications is kept');
      assert.equal(store.enqueue.getIdempotency('k', 0), undefined);
    });
  });
}

for (const kind of ['memory', 'file'] as const) {
  describe(`outbox store: grouped notifications and remote references (${sqliteDriver}, ${kind})`, () => {
    const open = () => openDb(kind);

    test('a notification of several alarms is claimed with all of them, in order, cached or read back', () => {
      const o = open();
      const store = new OutboxStore(o);
      store.enqueue.transaction(() => {
        for (const id of ['g1', 'g2', 'g3']) store.enqueue.insertAlarm(alarm(id), 1);
        store.enqueue.insertNotification({ id: 'n-group', alarmIds: ['g2', 'g1', 'g3'], method: 'hook', createdAt: 1000 });
      });
      store.noteCommitted([{ alarm: alarm('g2'), notifications: 1 }]); // only g2 cached: the others are read back
      const [n] = store.delivery.claim('hook', 10, 2000, 9000);
      assert.deepEqual(n!.alarms.map((a) => a.id), ['g2', 'g1', 'g3']);
      assert.deepEqual(n!.alarms[1], alarm('g1'));
      store.delivery.complete([{ kind: 'sent', n: n!, at: 2100, latencyMs: 1 }]);
      const [d] = store.queries.deliveriesOf('g2');
      assert.equal(d!.alarmCount, 3);
      assert.throws(() => store.enqueue.insertNotification({ id: 'n-none', alarmIds: [], method: 'hook', createdAt: 1 }), /carries no alarm/);
    });

    test('the alarms of a grouped notification are kept while it waits, and pruned with it', () => {
      const store = new OutboxStore(open());
      store.enqueue.transaction(() => {
        for (const id of ['m1', 'm2']) store.enqueue.insertAlarm(alarm(id), 1);
        store.enqueue.insertNotification({ id: 'n-pair', alarmIds: ['m1', 'm2'], method: 'hook', createdAt: 1000 });
      });
      store.upkeep.prune(1000 + 10_000, 5_000, 5_000);
      assert.ok(store.queries.getAlarm('m2'), 'a member alarm stays while its notification is pending');
      const [n] = store.delivery.claim('hook', 1, 20_000, 30_000);
      store.delivery.complete([{ kind: 'sent', n: n!, at: 20_000, latencyMs: 1 }]);
      store.upkeep.prune(20_000 + 1000, 5_000, 5_000);
      assert.ok(store.queries.getAlarm('m2'), 'and while its delivery is in the log');
      store.upkeep.prune(20_000 + 10_000, 5_000, 5_000);
      assert.equal(store.queries.getAlarm('m1'), undefined);
      assert.equal(store.queries.getAlarm('m2'), undefined, 'pruned with the delivery log');
    });

    test('claim dead-letters a notification whose alarm cannot be read, in the same transaction as its batch mates', () => {
      const o = open();
      enqueue(new OutboxStore(o), 'bad', ['hook']);
      enqueue(new OutboxStore(o), 'good', ['hook']);
      o.db.run(sql`UPDATE alarms SET labels = 'not json' WHERE id = 'bad'`);
      const fresh = new OutboxStore(o); // nothing cached: alarms are read back
      fresh.countPending();
      assert.deepEqual(fresh.delivery.claim('hook', 10, 2000, 9000).map((c) => c.id), ['n-good-0']);
      const [dead] = fresh.queries.notificationsOf('bad');
      assert.equal(dead!.state, 'dead');
      assert.match(dead!.deadReason ?? '', /^alarm bad cannot be read: /);
      assert.equal(fresh.pendingCount, 1);
    });

    test('complete counts a notification once, even if its outcome is recorded twice', () => {
      const store = new OutboxStore(open());
      enqueue(store, 'twice', ['hook']);
      enqueue(store, 'other', ['hook']);
      store.countPending();
      const [n] = store.delivery.claim('hook', 1, 2000, 9000);
      store.delivery.complete([{ kind: 'sent', n: n!, at: 2100, latencyMs: 1 }]);
      store.delivery.complete([{ kind: 'sent', n: n!, at: 2200, latencyMs: 1 }]);
      assert.equal(store.pendingCount, 1);
      const [m] = store.delivery.claim('hook', 1, 3000, 9000);
      store.delivery.complete([{ kind: 'dead', n: m!, at: 3100, latencyMs: 1, reason: 'x', permanent: true }]);
      store.delivery.complete([{ kind: 'dead', n: m!, at: 3200, latencyMs: 1, reason: 'y', permanent: true }]);
      assert.equal(store.pendingCount, 0);
      assert.equal(store.queries.notificationsOf('other')[0]!.deadReason, 'x', 'the first verdict stands');
    });

    test('remote references: written by a sent completion per (method, dedup key), read back, removed by null, never pruned by age', () => {
      const store = new OutboxStore(open());
      enqueue(store, 'r1', ['pager', 'chat']);
      const [p] = store.delivery.claim('pager', 10, 2000, 9000);
      const [c] = store.delivery.claim('chat', 10, 2000, 9000);
      assert.deepEqual(store.delivery.remoteRefs('pager', ['k-r1']), {});
      store.delivery.complete([
        { kind: 'sent', n: p!, at: 2100, latencyMs: 1, remoteRefs: { 'k-r1': 'PD-123' } },
        { kind: 'sent', n: c!, at: 2100, latencyMs: 1, remoteRefs: { 'k-r1': '1700000000.000100' } },
      ]);
      assert.deepEqual(store.delivery.remoteRefs('pager', ['k-r1', 'k-other']), { 'k-r1': 'PD-123' });
      assert.deepEqual(store.delivery.remoteRefs('chat', ['k-r1']), { 'k-r1': '1700000000.000100' }, 'per method');
      enqueue(store, 'r2', ['pager']);
      const [p2] = store.delivery.claim('pager', 10, 3000, 9000);
      store.delivery.complete([{ kind: 'sent', n: p2!, at: 3100, latencyMs: 1, remoteRefs: { 'k-r1': null } }]);
      assert.deepEqual(store.delivery.remoteRefs('pager', ['k-r1']), {}, 'null removes it');
      store.upkeep.prune(2100 + 10_000_000, 5_000, 5_000);
      assert.deepEqual(store.delivery.remoteRefs('chat', ['k-r1']), { 'k-r1': '1700000000.000100' }, 'an incident may stay open past any retention');
    });
  });
}
