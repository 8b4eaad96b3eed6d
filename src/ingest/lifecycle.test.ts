import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openTestSqlite, sqliteDriver } from '../../test/support/sqlite-under-test.ts';
import { applyPragmas, type OpenDatabase } from '../outbox/db.ts';
import { migrate } from '../outbox/migrate.ts';
import { OutboxStore } from '../outbox/store.ts';
import type { Alarm } from '../domain/alarm.ts';
import type { RouteConfig } from '../config/types.ts';
import { compileMatcher } from '../config/matcher.ts';
import type { Silence } from '../lifecycle/silence.ts';
import { Lifecycle } from './lifecycle.ts';
import { rebaseOutbox } from '../outbox/rebase.ts';

const opened: OpenDatabase[] = [];
afterEach(() => {
  for (const o of opened.splice(0)) o.close();
});

interface Rig {
  conn: OpenDatabase;
  store: OutboxStore;
  lc: Lifecycle;
  silences: Silence[];
  /** Posts an occurrence at `now`; returns the ids of the notifications enqueued at once. */
  post(a: Partial<Alarm> & { labels?: Record<string, string> }, now: number): string[];
  wake(now: number): number;
  /** Every notification in the outbox: method, status of its alarms, repeat, alarm count. */
  outbox(): string[];
}

function rig(routes: RouteConfig[], opts: { canGroup?: boolean; methodRepeatMs?: number; notifyUnknownResolved?: boolean } = {}): Rig {
  const o = openTestSqlite(':memory:');
  opened.push(o);
  applyPragmas(o.db, 'FULL');
  migrate(o.db, 0);
  const store = new OutboxStore(o);
  let seq = 0;
  const ids = { alarm: () => `a${String(++seq).padStart(4, '0')}`, notification: () => `n${String(++seq).padStart(4, '0')}` };
  const silences: Silence[] = [];
  const lc = new Lifecycle({
    states: store.states,
    enqueue: store.enqueue,
    ids,
    routes: () => routes,
    policy: { methodRepeatMs: () => opts.methodRepeatMs, canGroup: () => opts.canGroup ?? true },
    silences: () => silences,
    notifyUnknownResolved: () => opts.notifyUnknownResolved ?? false,
  });
  const tx = <T>(fn: () => T) => store.enqueue.transaction(fn);
  return {
    conn: o, store, lc, silences,
    post(a, now) {
      const alarm: Alarm = {
        id: ids.alarm(), source: 'src', name: 'DiskFull', severity: 'critical', status: 'firing', labels: {}, annotations: {},
        occurredAt: now, receivedAt: now, dedupKey: a.dedupKey ?? JSON.stringify(a.labels ?? {}), ...a,
      };
      return tx(() => {
        const policies = lc.policies(alarm);
        store.enqueue.insertAlarm(alarm, policies.length);
        return lc.occurrence(alarm, policies, false, now);
      });
    },
    wake: (now) => tx(() => lc.wake(now).notifications),
    outbox() {
      const rows = o.raw.prepare(
        `SELECT n.method, n.repeat, n.alarm_count, (SELECT group_concat(a.status || ':' || a.labels, ',') FROM alarms a
           WHERE a.id = n.alarm_id OR a.id IN (SELECT alarm_id FROM notification_alarms m WHERE m.notification_id = n.id)) AS st
         FROM notifications n ORDER BY n.rowid`,
      ).values();
      return rows.map((r) => `${r[0]} ${r[3]}${Number(r[1]) ? ` repeat=${r[1]}` : ''}${Number(r[2]) > 1 ? ` x${r[2]}` : ''}`);
    },
  };
}

const route = (extra: Partial<RouteConfig> = {}): RouteConfig => ({ match: { labels: {} }, methods: ['hook'], continue: false, ...extra });

describe(`lifecycle in the outbox (${sqliteDriver})`, () => {
  test('a state change enqueues, a repeat does not; the state is stored', () => {
    const r = rig([route()]);
    assert.equal(r.post({ labels: { host: 'a' } }, 1000).length, 1);
    assert.equal(r.post({ labels: { host: 'a' } }, 2000).length, 0);
    assert.equal(r.post({ labels: { host: 'a' }, status: 'resolved' }, 3000).length, 1);
    assert.deepEqual(r.outbox(), ['hook firing:{"host":"a"}', 'hook resolved:{"host":"a"}']);
    const st = r.store.states.getState('src', '{"host":"a"}')!;
    assert.deepEqual([st.status, st.since, st.count], ['resolved', 3000, 1]);
  });

  test('ends_at: a firing alarm not refreshed resolves by itself at the wake after it, notified as resolved', () => {
    const r = rig([route()]);
    r.post({ labels: { host: 'a' }, endsAt: 5000 }, 1000);
    r.post({ labels: { host: 'a' }, endsAt: 8000 }, 4000);
    assert.equal(r.wake(7999), 0, 'refreshed: not yet');
    assert.equal(r.wake(8000), 1);
    assert.deepEqual(r.outbox(), ['hook firing:{"host":"a"}', 'hook resolved:{"host":"a"}']);
    const st = r.store.states.getState('src', '{"host":"a"}')!;
    assert.equal(st.status, 'resolved');
    assert.equal(r.store.states.getAlarm(st.alarmId)!.occurredAt, 8000, 'the resolved occurrence is dated at ends_at');
    assert.equal(r.wake(20_000), 0, 'nothing more');
  });

  test('repeat_interval of the route (else of the method): reminders carry their number', () => {
    const r = rig([route({ repeatIntervalMs: 1000 })]);
    r.post({ labels: { host: 'a' } }, 0);
    assert.equal(r.wake(999), 0);
    assert.equal(r.wake(1000), 1);
    assert.equal(r.wake(2500), 1);
    r.post({ labels: { host: 'a' }, status: 'resolved' }, 2600);
    assert.equal(r.wake(10_000), 0);
    assert.deepEqual(r.outbox(), ['hook firing:{"host":"a"}', 'hook firing:{"host":"a"} repeat=1', 'hook firing:{"host":"a"} repeat=2', 'hook resolved:{"host":"a"}']);
    const m = rig([route()], { methodRepeatMs: 500 });
    m.post({ labels: {} }, 0);
    assert.equal(m.wake(500), 1, "the method's repeat_interval applies when the route sets none");
  });

  test('grouping: alarms of one group within group_wait become one notification; the next waits group_interval', () => {
    const r = rig([route({ group: { by: ['cluster'], waitMs: 100, intervalMs: 1000 } })]);
    assert.deepEqual(r.post({ labels: { cluster: 'c1', host: 'a' } }, 0), [], 'gathered, not enqueued');
    r.post({ labels: { cluster: 'c1', host: 'b' } }, 50);
    r.post({ labels: { cluster: 'c2', host: 'c' } }, 60);
    assert.equal(r.wake(99), 0);
    assert.equal(r.wake(100), 1, 'c1 goes at 0 + group_wait');
    assert.equal(r.wake(160), 1, 'c2 at 60 + group_wait');
    r.post({ labels: { cluster: 'c1', host: 'a' }, status: 'resolved' }, 200);
    assert.equal(r.wake(300), 0, 'within group_interval of the last c1 notification');
    assert.equal(r.wake(1100), 1);
    assert.deepEqual(r.outbox(), [
      'hook firing:{"cluster":"c1","host":"a"},firing:{"cluster":"c1","host":"b"} x2',
      'hook firing:{"cluster":"c2","host":"c"}',
      'hook resolved:{"cluster":"c1","host":"a"}',
    ]);
  });

  test('grouping applies only to methods that can carry several alarms', () => {
    const r = rig([route({ group: { by: ['cluster'], waitMs: 100, intervalMs: 1000 } })], { canGroup: false });
    assert.equal(r.post({ labels: { cluster: 'c1' } }, 0).length, 1);
  });

  test('silences: a sweep applies a new silence to firing alarms, and its end releases them', () => {
    const r = rig([route()]);
    const silence: Silence = {
      id: 's1', match: { labels: { host: compileMatcher('db-1') } }, matchText: '{}', startsAt: 0, endsAt: 5000,
      comment: '', createdBy: '', createdAt: 0, updatedAt: 0,
    };
    r.silences.push(silence);
    assert.equal(r.post({ labels: { host: 'db-1' } }, 1000).length, 0, 'silenced at once');
    assert.equal(r.post({ labels: { host: 'db-2' } }, 1000).length, 1);
    assert.equal(r.store.states.getState('src', '{"host":"db-1"}')!.silencedBy, 's1');
    r.silences.pop();
    const n = r.store.enqueue.transaction(() => r.lc.sweep(6000));
    assert.equal(n, 1, 'released: the still-firing alarm is notified');
    assert.equal(r.store.states.getState('src', '{"host":"db-1"}')!.silencedBy, undefined);
  });

  test('notify_unknown_resolved', () => {
    assert.equal(rig([route()]).post({ status: 'resolved' }, 0).length, 0);
    assert.equal(rig([route()], { notifyUnknownResolved: true }).post({ status: 'resolved' }, 0).length, 1);
  });

  test('the state list filters by status, source and label, and pages', () => {
    const r = rig([route()]);
    for (let i = 0; i < 5; i++) r.post({ labels: { host: `h${i}`, team: i % 2 ? 'odd' : 'even' } }, 1000);
    r.post({ labels: { host: 'h0', team: 'even' }, status: 'resolved' }, 2000);
    assert.equal(r.store.states.list({ status: 'firing', limit: 100 }).length, 4);
    assert.equal(r.store.states.list({ labels: { team: 'odd' }, limit: 100 }).length, 2);
    assert.equal(r.store.states.list({ source: 'other', limit: 100 }).length, 0);
    const page1 = r.store.states.list({ limit: 2 });
    const page2 = r.store.states.list({ limit: 10, after: [page1[1]!.state.source, page1[1]!.state.dedupKey] });
    assert.equal(page1.length + page2.length, 5);
  });

  test('a wall-clock step moves the lifecycle times with the schedule: a held change and a reminder keep their distance', () => {
    const T = 1_800_000_000_000;
    const r = rig([route({ minStateIntervalMs: 10_000, repeatIntervalMs: 60_000 })]);
    r.post({ labels: { host: 'a' } }, T);
    r.post({ labels: { host: 'a' }, status: 'resolved' }, T + 1000); // held until T + 10 s
    r.post({ labels: { host: 'b' } }, T); // reminder due at T + 60 s
    const step = -3_600_000; // the wall clock stepped back an hour: the relay's times move with it
    rebaseOutbox(r.conn, undefined, { move() {} }, step);
    assert.equal(r.wake(T + step + 9_000), 0, 'not before the hold ends');
    assert.equal(r.wake(T + step + 10_000), 1, 'the held resolve at its time');
    assert.equal(r.wake(T + step + 59_000), 0);
    assert.equal(r.wake(T + step + 60_000), 1, 'the reminder at its time');
  });

  test('an ends_at that passed while the relay was down is held after start: its sender gets the time to refresh it', () => {
    const r = rig([route()]);
    r.post({ labels: { host: 'a' }, endsAt: 5000 }, 1000);
    r.post({ labels: { host: 'b' }, endsAt: 5000 }, 1000);
    // Down from 2000 to 60000; started again at 60000, holding such expiries until 60000 + 300000.
    const downtime = { startedAt: 60_000, holdUntil: 360_000 };
    assert.equal(r.store.enqueue.transaction(() => r.lc.wake(60_000, downtime).notifications), 0, 'not at once');
    r.post({ labels: { host: 'a' }, endsAt: 500_000 }, 61_000); // the sender refreshed a
    assert.equal(r.store.enqueue.transaction(() => r.lc.wake(359_000, downtime).notifications), 0);
    assert.equal(r.store.enqueue.transaction(() => r.lc.wake(360_000, downtime).notifications), 1, 'b, not refreshed, resolves when the hold ends');
    assert.equal(r.store.states.getState('src', '{"host":"a"}')!.status, 'firing');
  });
});
