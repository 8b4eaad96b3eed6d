import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestSqlite, sqliteDriver } from '../../test/support/sqlite-under-test.ts';
import { applyPragmas } from './db.ts';
import { migrate } from './migrate.ts';
import { MIGRATIONS } from './migrations.generated.ts';
import { OutboxStore } from './store.ts';

test(`upgrading to the lifecycle: alarms notified before it get their state, so their resolve is notified in order (${sqliteDriver})`, () => {
  const o = openTestSqlite(':memory:');
  try {
    applyPragmas(o.db, 'FULL');
    migrate(o.db, 0, MIGRATIONS.filter((m) => m.tag < '0004'));
    const run = (sql: string, ...p: (string | number)[]) => o.raw.prepare(sql).run(...p);
    const alarm = (id: string, key: string, status: string, at: number) =>
      run(`INSERT INTO alarms (id, source, name, severity, status, labels, annotations, occurred_at, received_at, dedup_key, routed_to)
           VALUES (?, 'src', 'Disk', 'warning', ?, '{}', '{}', ?, ?, ?, 1)`, id, status, at, at, key);
    // k1: fired twice; the first delivered to hook, the second delivered to pager and still pending for hook.
    alarm('a1', 'k1', 'firing', 1000);
    run(`INSERT INTO deliveries (notification_id, alarm_id, method, attempts, created_at, sent_at) VALUES ('n1', 'a1', 'hook', 1, 1000, 1001)`);
    alarm('a2', 'k1', 'firing', 2000);
    run(`INSERT INTO deliveries (notification_id, alarm_id, method, attempts, created_at, sent_at) VALUES ('n2p', 'a2', 'pager', 1, 2000, 2001)`);
    run(`INSERT INTO notifications (id, alarm_id, method, state, attempts, created_at, next_attempt_at) VALUES ('n2h', 'a2', 'hook', 'pending', 3, 2000, 9000)`);
    // k2: its latest occurrence resolved. k3: fired, its only notification dead.
    alarm('a3', 'k2', 'firing', 1000);
    alarm('a4', 'k2', 'resolved', 1500);
    alarm('a5', 'k3', 'firing', 1000);
    run(`INSERT INTO notifications (id, alarm_id, method, state, attempts, created_at, next_attempt_at, dead_at) VALUES ('n5', 'a5', 'hook', 'dead', 20, 1000, 1000, 5000)`);
    migrate(o.db, 0);
    const store = new OutboxStore(o);
    const k1 = store.states.getState('src', 'k1')!;
    assert.deepEqual([k1.status, k1.alarmId], ['firing', 'a2']);
    assert.deepEqual(k1.methods, {
      hook: { st: 'firing', at: 2000, rat: 2000, n: 0, id: 'n2h' },
      pager: { st: 'firing', at: 2000, rat: 2000, n: 0 },
    });
    const k2 = store.states.getState('src', 'k2')!;
    assert.deepEqual([k2.status, k2.alarmId, k2.methods], ['resolved', 'a4', {}]);
    assert.deepEqual(store.states.getState('src', 'k3')!.methods, {}, 'a dead notification told nobody');
  } finally {
    o.close();
  }
});
