/**
 * The dead-letter SQL on every SQLite driver (run on Node, Bun and Deno): list with filters and pages,
 * replay (a new series: pending, attempts 0, due and created now, a marker row naming who), discard
 * (dead letters and their attempts; a removed method's pending notifications only when asked).
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openTestSqlite, sqliteDriver } from '../../test/support/sqlite-under-test.ts';
import { applyPragmas, type OpenDatabase } from './db.ts';
import { migrate } from './migrate.ts';
import { DeadLetters } from './dead-letters.ts';

const opened: OpenDatabase[] = [];
afterEach(() => {
  for (const o of opened.splice(0)) o.close();
});

/** A migrated in-memory database with alarm `a1` and these notifications of it. */
function withNotifications(rows: readonly { id: string; method: string; state: 'dead' | 'pending'; deadAt?: number; reason?: string }[]): OpenDatabase {
  const o = openTestSqlite(':memory:');
  opened.push(o);
  applyPragmas(o.db, 'FULL');
  migrate(o.db, 0);
  o.raw
    .prepare(
      `INSERT INTO alarms (id, source, name, severity, status, labels, annotations, occurred_at, received_at, dedup_key, routed_to)
       VALUES ('a1', 'test', 'DiskFull', 'critical', 'firing', '{}', '{}', 1, 1, 'k', 1)`,
    )
    .run();
  const insert = o.raw.prepare(
    `INSERT INTO notifications (id, alarm_id, method, state, attempts, created_at, next_attempt_at, last_status, last_error, dead_reason, dead_at)
     VALUES (?, 'a1', ?, ?, 3, 100, 100, 400, 'HTTP 400', ?, ?)`,
  );
  const attempt = o.raw.prepare(`INSERT INTO attempts (notification_id, attempt, at, outcome, status, latency_ms, error) VALUES (?, 1, 100, 'permanent', 400, 5, 'HTTP 400')`);
  for (const r of rows) {
    insert.run(r.id, r.method, r.state, r.state === 'dead' ? (r.reason ?? 'permanent failure: HTTP 400') : null, r.state === 'dead' ? (r.deadAt ?? 200) : null);
    attempt.run(r.id);
  }
  return o;
}

const state = (o: OpenDatabase, id: string) => {
  const v = o.raw.prepare('SELECT state, attempts, created_at, next_attempt_at, dead_at, dead_reason FROM notifications WHERE id = ?').values(id)[0];
  return v && { state: v[0], attempts: Number(v[1]), createdAt: Number(v[2]), next: Number(v[3]), deadAt: v[4], deadReason: v[5] };
};

test(`dead letters (${sqliteDriver}): list newest first with filters, paged by (dead_at, id)`, () => {
  const o = withNotifications([
    { id: 'n1', method: 'hook', state: 'dead', deadAt: 300, reason: 'permanent failure: HTTP 404' },
    { id: 'n2', method: 'hook', state: 'dead', deadAt: 200, reason: 'gave up after max_age 1d: timeout' },
    { id: 'n3', method: 'pager', state: 'dead', deadAt: 200 },
    { id: 'n4', method: 'hook', state: 'pending' },
  ]);
  const d = new DeadLetters(o);
  assert.deepEqual(d.list({}, undefined, 10).map((r) => r.id), ['n1', 'n3', 'n2']);
  assert.deepEqual(d.list({ method: 'hook' }, undefined, 10).map((r) => r.id), ['n1', 'n2']);
  assert.deepEqual(d.list({ reason: 'MAX_AGE' }, undefined, 10).map((r) => r.id), ['n2']);
  assert.deepEqual(d.list({ since: 250 }, undefined, 10).map((r) => r.id), ['n1']);
  assert.deepEqual(d.list({ until: 200 }, undefined, 10).map((r) => r.id), ['n3', 'n2']);
  const first = d.list({}, undefined, 2);
  assert.deepEqual(first.map((r) => r.id), ['n1', 'n3']);
  const last = first.at(-1)!;
  assert.deepEqual(d.list({}, [last.deadAt, last.id], 2).map((r) => r.id), ['n2']);
  assert.equal(first[0]!.alarmName, 'DiskFull');
  assert.equal(d.count({}), 3);
  assert.equal(d.count({}, ['pager']), 1);
});

test(`dead letters (${sqliteDriver}): replay starts a new series and records who; a removed method's are skipped`, () => {
  const o = withNotifications([
    { id: 'n1', method: 'hook', state: 'dead' },
    { id: 'n2', method: 'gone', state: 'dead' },
    { id: 'n3', method: 'hook', state: 'dead' },
  ]);
  const d = new DeadLetters(o);
  const byId = d.replay({ ids: ['n1', 'nope'] }, { limit: 1000, by: 'ana', now: 5000, methods: ['hook'] });
  assert.deepEqual([byId.replayed, byId.ids, byId.notFound, byId.remaining], [1, ['n1'], ['nope'], 0]);
  assert.deepEqual(state(o, 'n1'), { state: 'pending', attempts: 0, createdAt: 5000, next: 5000, deadAt: null, deadReason: null });
  const marks = o.raw.prepare("SELECT attempt, at, outcome, error FROM attempts WHERE notification_id = 'n1' ORDER BY id").values();
  assert.deepEqual(marks.map((m) => [Number(m[0]), Number(m[1]), m[2], m[3]]), [[1, 100, 'permanent', 'HTTP 400'], [0, 5000, 'replayed', 'replayed by ana']]);

  const byFilter = d.replay({ filter: {} }, { limit: 1000, by: undefined, now: 6000, methods: ['hook'] });
  assert.deepEqual([byFilter.replayed, byFilter.ids, byFilter.remaining], [1, ['n3'], 0]);
  assert.deepEqual(byFilter.skipped.map((s) => s.id), ['n2'], 'the method is no longer configured');
  assert.equal(state(o, 'n2')!.state, 'dead');
});

test(`dead letters (${sqliteDriver}): discard deletes dead letters and their attempts; a removed method's pending ones only when the filter names just it`, () => {
  const o = withNotifications([
    { id: 'n1', method: 'hook', state: 'dead' },
    { id: 'n2', method: 'gone', state: 'dead' },
    { id: 'n3', method: 'gone', state: 'pending' },
    { id: 'n4', method: 'hook', state: 'pending' },
  ]);
  const d = new DeadLetters(o);
  const r = d.discard({ ids: ['n1', 'n4'] }, { limit: 1000, methods: ['hook'] });
  assert.deepEqual([r.discarded, r.ids, r.notFound], [1, ['n1'], ['n4']], 'a pending notification is no dead letter');
  assert.equal(state(o, 'n1'), undefined);
  assert.equal(o.raw.prepare("SELECT count(*) FROM attempts WHERE notification_id = 'n1'").values()[0]![0], 0);
  assert.equal(state(o, 'n4')!.state, 'pending');

  const gone = d.discard({ filter: { method: 'gone' } }, { limit: 1000, methods: ['hook'] });
  assert.deepEqual([gone.discarded, [...gone.ids].sort(), gone.pendingCleared, gone.remaining], [2, ['n2', 'n3'], 1, 0]);
  assert.equal(state(o, 'n3'), undefined);
  assert.equal(state(o, 'n4')!.state, 'pending', 'a configured method keeps its pending notifications');
});
