import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTestSqlite, sqliteDriver } from '../../test/support/sqlite-under-test.ts';
import { applyPragmas, type OpenDatabase } from './db.ts';
import { migrate } from './migrate.ts';
import { OutboxStore } from './store.ts';
import { createGroupCommitter, type GroupCommitOptions } from './group-commit.ts';
import type { Alarm } from '../domain/alarm.ts';

const alarm = (id: string): Alarm => ({
  id, source: 'test', name: 'DiskFull', severity: 'critical', status: 'firing', summary: 's',
  labels: { host: 'db-1' }, annotations: {}, occurredAt: 1000, receivedAt: 1000, dedupKey: 'k-' + id,
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

/** A store on a fresh WAL file database, and a way to open more connections to the same file. */
function openStore() {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-gc-'));
  const file = join(dir, 'tocsin.db');
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const connect = (): OpenDatabase => {
    const o = openTestSqlite(file);
    cleanup.push(() => o.close());
    applyPragmas(o.db, 'NORMAL');
    return o;
  };
  const main = connect();
  migrate(main.db, 0);
  return { store: new OutboxStore(main), connect };
}

/** One job's work: an alarm and its notification; returns the alarm id. */
const enqueueWork = (store: OutboxStore, id: string) => () => {
  store.enqueue.insertAlarm(alarm(id), 1);
  store.enqueue.insertNotification({ id: `n-${id}`, alarmIds: [id], method: 'hook', createdAt: 1000 });
  return id;
};

function committer(store: OutboxStore, extra: Partial<GroupCommitOptions> = {}) {
  const commits: number[] = [];
  const gc = createGroupCommitter({ transaction: (fn) => store.enqueue.transaction(fn), onCommit: (n) => commits.push(n), ...extra });
  return { gc, commits };
}

const ids = (n: number, prefix = 'a') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

test('concurrent submits share one transaction', async () => {
  const { store } = openStore();
  const { gc, commits } = committer(store);
  const all = ids(50).map((id) => gc.submit(enqueueWork(store, id)));
  assert.equal(gc.queued, 50, 'nothing runs synchronously in submit');
  assert.deepEqual(await Promise.all(all), ids(50), 'each job gets its own result, in order');
  assert.deepEqual(commits, [50]);
  assert.equal(gc.queued, 0);
  assert.deepEqual(store.queries.countsByState(), { pending: 50, inflight: 0, dead: 0, delivered: 0 });

  // Work submitted after a commit goes into the next one.
  await Promise.all([gc.submit(enqueueWork(store, 'b1')), gc.submit(enqueueWork(store, 'b2'))]);
  assert.deepEqual(commits, [50, 2]);
});

test('a job resolves only after the COMMIT: afterCommit runs first, and another connection sees the data', async () => {
  const { store, connect } = openStore();
  const reader = new OutboxStore(connect());
  const { gc } = committer(store);
  const events: string[] = [];
  const work = (id: string) => () => {
    const r = enqueueWork(store, id)();
    // Inside the open transaction: written here, invisible to any other connection.
    assert.equal(reader.queries.notificationsOf(id).length, 0, `${id} must not be visible before the commit`);
    events.push(`run ${id}`);
    return r;
  };
  const submitted = ['x', 'y'].map((id) =>
    gc
      .submit(work(id), (v) => {
        events.push(`after ${v}`);
        assert.equal(reader.queries.notificationsOf(v).length, 1, 'committed when afterCommit runs');
      })
      .then((v) => {
        events.push(`resolved ${v}`);
        assert.equal(reader.queries.getAlarm(v)?.id, v, 'visible from a second connection after resolve');
        assert.equal(reader.queries.notificationsOf(v)[0]?.state, 'pending');
        return v;
      }),
  );
  assert.deepEqual(await Promise.all(submitted), ['x', 'y']);
  assert.deepEqual(events, ['run x', 'run y', 'after x', 'after y', 'resolved x', 'resolved y']);
});

test('a job that throws fails alone: its neighbours commit (the batch is retried in halves)', async () => {
  const { store, connect } = openStore();
  const reader = new OutboxStore(connect());
  const { gc, commits } = committer(store);
  const boom = new Error('constraint failed');
  const after: string[] = [];
  let runs = 0;
  const results = await Promise.allSettled([
    gc.submit(enqueueWork(store, 'ok1'), (v) => after.push(v)),
    gc.submit(() => {
      runs++;
      enqueueWork(store, 'bad')();
      throw boom;
    }),
    gc.submit(enqueueWork(store, 'ok2'), (v) => after.push(v)),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.equal((results[1] as PromiseRejectedResult).reason, boom);
  assert.equal(runs, 3, 'the poison job ran in the batch, in its half, and alone');
  assert.deepEqual(commits, [1, 1], 'the neighbours committed in their halves');
  assert.deepEqual(after, ['ok1', 'ok2']);
  assert.equal(reader.queries.getAlarm('bad'), undefined, 'the poison job rolled back');
  for (const id of ['ok1', 'ok2']) assert.equal(reader.queries.getAlarm(id)?.id, id);
  assert.deepEqual(store.queries.countsByState(), { pending: 2, inflight: 0, dead: 0, delivered: 0 });

  // The committer keeps grouping: the next batch is one commit again.
  assert.deepEqual(await Promise.all([gc.submit(enqueueWork(store, 'l1')), gc.submit(enqueueWork(store, 'l2'))]), ['l1', 'l2']);
  assert.deepEqual(commits, [1, 1, 2]);
});

test('one poison job among many costs a few transactions, not one per job', async () => {
  const { store } = openStore();
  const { gc, commits } = committer(store);
  const jobs = ids(64).map((id) =>
    gc.submit(
      id === 'a37'
        ? () => {
            throw new Error('poison');
          }
        : enqueueWork(store, id),
    ),
  );
  const results = await Promise.allSettled(jobs);
  assert.deepEqual(results.map((r, i) => (r.status === 'rejected' ? i : -1)).filter((i) => i >= 0), [37]);
  assert.equal(commits.reduce((a, b) => a + b, 0), 63, 'every other job committed');
  assert.ok(commits.length <= 6, `63 jobs in ${commits.length} commits (log2 64 = 6 at most)`);
  assert.equal(store.queries.countsByState().pending, 63);
});

test('a real SQLite error in one job (duplicate key) fails that job only', async () => {
  const { store } = openStore();
  const { gc } = committer(store);
  await gc.submit(enqueueWork(store, 'dup'));
  const results = await Promise.allSettled([gc.submit(enqueueWork(store, 'fresh')), gc.submit(enqueueWork(store, 'dup'))]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected']);
  assert.ok((results[1] as PromiseRejectedResult).reason instanceof Error);
  assert.ok(store.queries.getAlarm('fresh'));
});

test('drain resolves once every submitted job has settled', async () => {
  const { store } = openStore();
  const { gc } = committer(store);
  await gc.drain(); // nothing queued: at once
  const order: string[] = [];
  const jobs = ['d1', 'd2'].map((id) => gc.submit(enqueueWork(store, id)).then((v) => order.push(`job ${v}`)));
  const failing = gc.submit(() => {
    throw new Error('no');
  }).catch(() => order.push('job failed'));
  await gc.drain();
  order.push('drained');
  await Promise.all([...jobs, failing]);
  assert.equal(order.at(-1), 'drained');
  assert.equal(order.length, 4);
});

test('if the transaction itself fails (BEGIN or COMMIT), every job rejects', async () => {
  const { store } = openStore();
  // BEGIN fails: no work runs.
  let ran = 0;
  const noBegin = createGroupCommitter({
    transaction: () => {
      throw new Error('database is locked');
    },
  });
  const r1 = await Promise.allSettled([1, 2, 3].map((i) => noBegin.submit(() => (ran++, i))));
  assert.equal(ran, 0);
  assert.deepEqual(r1.map((r) => r.status === 'rejected' && (r.reason as Error).message), Array(3).fill('database is locked'));

  // COMMIT fails after the work ran: the work is rolled back and nobody is told "committed".
  const after: unknown[] = [];
  let commits = 0;
  const noCommit = createGroupCommitter({
    transaction: (fn) =>
      store.enqueue.transaction(() => {
        fn();
        throw new Error('disk I/O error');
      }),
    onCommit: () => commits++,
  });
  const r2 = await Promise.allSettled(['c1', 'c2'].map((id) => noCommit.submit(enqueueWork(store, id), (v) => after.push(v))));
  assert.deepEqual(r2.map((r) => r.status === 'rejected' && (r.reason as Error).message), ['disk I/O error', 'disk I/O error']);
  assert.deepEqual(after, []);
  assert.equal(commits, 0);
  assert.equal(store.queries.getAlarm('c1'), undefined);

  // A non-Error throw still rejects with an Error.
  const weird = createGroupCommitter({
    transaction: () => {
      throw 'SQLITE_FULL';
    },
  });
  await assert.rejects(weird.submit(() => 1), (e: unknown) => e instanceof Error && e.message.includes('SQLITE_FULL'));
});

test('maxBatch splits a large queue into several commits', async () => {
  const { store } = openStore();
  const { gc, commits } = committer(store, { maxBatch: 10 });
  const all = ids(25).map((id) => gc.submit(enqueueWork(store, id)));
  assert.deepEqual(await Promise.all(all), ids(25));
  assert.deepEqual(commits, [10, 10, 5]);
  assert.equal(store.queries.countsByState().pending, 25);
});

test('a failing job does not take its batch, or the next batch, down with it', async () => {
  const { store } = openStore();
  const { gc, commits } = committer(store, { maxBatch: 2 });
  const results = await Promise.allSettled([
    gc.submit(enqueueWork(store, 'p1')),
    gc.submit(() => {
      throw new Error('bad job');
    }),
    gc.submit(enqueueWork(store, 'p3')),
    gc.submit(enqueueWork(store, 'p4')),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  assert.deepEqual(commits, [1, 2]);
  assert.ok(store.queries.getAlarm('p1'));
  assert.ok(store.queries.getAlarm('p3'));
  assert.ok(store.queries.getAlarm('p4'));
});

test('an afterCommit hook that throws does not leave the other committed jobs unsettled', async () => {
  const { store } = openStore();
  const escaped: unknown[] = [];
  // Catch whatever escapes the flush, so that a throw here cannot crash the test process.
  const schedule = (fn: () => void) =>
    setImmediate(() => {
      try {
        fn();
      } catch (e) {
        escaped.push(e);
      }
    });
  const { gc, commits } = committer(store, { schedule });
  const jobs = [
    gc.submit(enqueueWork(store, 'h1'), () => {
      throw new Error('hook failed');
    }),
    gc.submit(enqueueWork(store, 'h2')),
    gc.submit(enqueueWork(store, 'h3')),
  ];
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 200));
  const settled = await Promise.race([Promise.allSettled(jobs), timeout]);
  assert.deepEqual(commits, [3]);
  assert.ok(store.queries.getAlarm('h2') && store.queries.getAlarm('h3'), 'the batch was committed');
  assert.notEqual(settled, 'timeout', `jobs committed in the same batch never settled (escaped from flush: ${String(escaped[0])})`);
});

/** Timers and a clock the test moves by hand. */
function fakeTime() {
  let t = 0;
  const timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => t,
    after: (ms: number, fn: () => void) => void timers.push({ at: t + ms, fn }),
    delays: [] as number[],
    /** Advances to the next timer and runs it; returns its delay. */
    next(): number {
      timers.sort((a, b) => a.at - b.at);
      const timer = timers.shift();
      assert.ok(timer, 'a retry is scheduled');
      const d = timer.at - t;
      t = timer.at;
      timer.fn();
      return d;
    },
    get pending() {
      return timers.length;
    },
  };
}
const locked = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
const full = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
const classify = (e: Error) => (e.message.includes('locked') ? ('wait' as const) : e.message.includes('full') ? ('fail' as const) : undefined);
const settledState = async (p: Promise<unknown>) => {
  let s = 'pending';
  p.then(() => (s = 'resolved'), () => (s = 'rejected'));
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
  return s;
};

test('a database locked by another process: the jobs wait without blocking (10, 20, 40 … ms) and commit once it is free', async () => {
  const time = fakeTime();
  let lockedFor = 3;
  const errors: string[] = [];
  const gc = createGroupCommitter({
    transaction: (fn) => {
      if (lockedFor-- > 0) throw locked();
      return fn();
    },
    storageError: classify,
    onError: (e) => errors.push(e.message),
    now: time.now,
    after: time.after,
    schedule: (fn) => setImmediate(fn),
  });
  const a = gc.submit(() => 'a');
  const b = gc.submit(() => 'b');
  assert.equal(await settledState(a), 'pending');
  assert.deepEqual([time.next(), time.next(), time.next()], [10, 20, 40]);
  assert.deepEqual(await Promise.all([a, b]), ['a', 'b']);
  assert.deepEqual(errors, ['database is locked', 'database is locked', 'database is locked']);
  assert.equal(time.pending, 0);
});

test('a lock met inside a job (the first write) is the database\'s, not the job\'s: no job is blamed', async () => {
  const time = fakeTime();
  let lockedFor = 1;
  const gc = createGroupCommitter({ transaction: (fn) => fn(), storageError: classify, now: time.now, after: time.after });
  const a = gc.submit(() => {
    if (lockedFor-- > 0) throw locked();
    return 'a';
  });
  const b = gc.submit(() => 'b');
  assert.equal(await settledState(a), 'pending');
  time.next();
  assert.deepEqual(await Promise.all([a, b]), ['a', 'b']);
});

test('a job that waited maxWaitMs for the lock rejects with storageRejection; later ones keep waiting', async () => {
  const time = fakeTime();
  let isLocked = true;
  const gc = createGroupCommitter({
    transaction: (fn) => {
      if (isLocked) throw locked();
      return fn();
    },
    storageError: classify,
    storageRejection: () => new Error('locked: answer 503'),
    maxWaitMs: 1000,
    now: time.now,
    after: time.after,
  });
  const early = gc.submit(() => 'early');
  await settledState(early);
  while (time.now() < 700) time.next();
  const late = gc.submit(() => 'late');
  while (time.now() < 1000) time.next();
  await assert.rejects(early, /locked: answer 503/);
  assert.equal(await settledState(late), 'pending');
  isLocked = false;
  time.next();
  assert.equal(await late, 'late');
});

test('a full disk rejects every job at once with storageRejection, blaming none of them', async () => {
  let runs = 0;
  const gc = createGroupCommitter({
    transaction: (fn) => fn(),
    storageError: classify,
    storageRejection: () => new Error('disk full: answer 503'),
  });
  const jobs = ['a', 'b', 'c'].map((x) =>
    gc.submit(() => {
      runs++;
      if (x === 'b') throw full();
      return x;
    }),
  );
  for (const j of jobs) await assert.rejects(j, /disk full: answer 503/);
  assert.equal(runs, 2, 'not retried in halves: the disk is at fault, not a job');
});
