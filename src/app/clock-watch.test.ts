/**
 * Steps of the wall clock, with an injected wall clock and monotonic clock: the outbox, a dispatcher on
 * the steady clock and the clock watch, as the app wires them (on one thread).
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openTestSqlite } from '../../test/support/sqlite-under-test.ts';
import { FakeClock } from '../../test/support/fake-clock.ts';
import type { Channel } from '../channels/types.ts';
import type { DeliverySettings } from '../config/types.ts';
import type { Alarm } from '../domain/alarm.ts';
import type { SendResult } from '../domain/notification.ts';
import { createDispatcher } from '../dispatch/dispatcher.ts';
import { type Logger, silentLogger } from '../lib/logger.ts';
import { RelayClock } from '../lib/monotonic-clock.ts';
import { applyPragmas } from '../outbox/db.ts';
import { onSteadyTime } from '../outbox/delivery.ts';
import { migrate } from '../outbox/migrate.ts';
import { rebaseOutbox } from '../outbox/rebase.ts';
import { OutboxStore } from '../outbox/store.ts';
import { CLOCK_WATCH_MS, clockWatchService, span } from './clock-watch.ts';

const T0 = 1_700_000_000_000;
const H = 3_600_000;
const SETTINGS: DeliverySettings = {
  concurrency: 4, timeoutMs: 10_000, maxAttempts: 20, maxAgeMs: 24 * H, backoffBaseMs: 4000, backoffCapMs: 600_000, retryAfterCapMs: H,
};
const FAIL: SendResult = { outcome: 'retry', status: 503, error: 'HTTP 503' };

/** Answers each call with the next step of its script (then `sent`); a step can be a promise the test settles. */
class ScriptedChannel implements Channel {
  readonly method = 'hook';
  readonly calls: string[] = [];
  constructor(readonly script: (SendResult | Promise<SendResult>)[] = []) {}
  send(d: { notificationId: string }): Promise<SendResult> {
    this.calls.push(d.notificationId);
    return Promise.resolve(this.script.shift() ?? { outcome: 'sent', status: 200 });
  }
}

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function setup(script: (SendResult | Promise<SendResult>)[] = []) {
  const o = openTestSqlite(':memory:');
  applyPragmas(o.db, 'NORMAL');
  migrate(o.db, 0);
  const store = new OutboxStore(o);
  // The wall clock and the monotonic clock; `scheduler` runs the timers (its own time follows `elapse`).
  const time = { wall: T0, mono: 50_000 };
  const clock = new RelayClock({ wall: { now: () => time.wall }, monotonic: () => time.mono });
  const scheduler = new FakeClock(0);
  const logs: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  // The clock watch's log.
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => void logs.push({ level, msg, fields });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const channel = new ScriptedChannel(script);
  const channels = new Map<string, Channel>([['hook', channel]]);
  const dispatcher = createDispatcher({
    ledger: onSteadyTime(store.delivery, () => clock.shift),
    channels: () => channels,
    settings: () => SETTINGS,
    batchSize: 10,
    pollIntervalMs: H,
    clock: clock.steady,
    scheduler,
    random: () => 0.5, // backoff: half the ceiling (2 s after the first failure)
    logger: silentLogger,
  });
  const rebase = { calls: 0, fail: false };
  let busy = false;
  const watch = clockWatchService({
    clock,
    rebase: (step) => {
      rebase.calls++;
      if (rebase.fail) throw new Error('database is locked');
      return rebaseOutbox(o, undefined, clock, step);
    },
    busy: () => busy,
    scheduler,
    logger,
  });
  watch.start();
  cleanup.push(async () => {
    watch.stop();
    const stopped = dispatcher.stop(0);
    scheduler.advance(0);
    await stopped;
    o.close();
  });
  let seq = 0;
  return {
    store, clock, channel, logs, rebase, dispatcher,
    setBusy: (b: boolean) => (busy = b),
    /** Real time passes: both clocks and the timers move. */
    elapse(ms: number) {
      time.mono += ms;
      time.wall += ms;
      scheduler.advance(ms);
    },
    /** The wall clock is stepped. */
    step: (ms: number) => void (time.wall += ms),
    /** An alarm arrives: one notification, created now. */
    enqueue(): string {
      const id = `a${++seq}`;
      const alarm: Alarm = { id, source: 's', name: 'N', severity: 'info', status: 'firing', labels: {}, annotations: {}, occurredAt: clock.now(), receivedAt: clock.now(), dedupKey: id };
      store.enqueue.transaction(() => {
        store.enqueue.insertAlarm(alarm, 1);
        store.enqueue.insertNotification({ id: `n-${id}`, alarmIds: [id], method: 'hook', createdAt: clock.now() });
      });
      store.noteCommitted([{ alarm, notifications: 1 }]);
      return id;
    },
    async round() {
      dispatcher.tick();
      await dispatcher.idle();
    },
    row: (id: string) => store.queries.notificationsOf(id)[0],
    /** How long until the notification of alarm id is due, on the relay's clock. */
    dueIn: (id: string) => store.queries.notificationsOf(id)[0]!.nextAttemptAt - clock.now(),
    warnings: () => logs.filter((l) => l.level === 'warn').map((l) => l.msg),
  };
}

test('wall clock stepped forward 25 h: nothing is dead-lettered, a pending retry is still due after its backoff', async () => {
  const env = setup([FAIL, FAIL]);
  const retried = env.enqueue();
  await env.round();
  assert.equal(env.dueIn(retried), 2000, 'retry in 2 s');
  const fresh = env.enqueue(); // arrives just before the step, not attempted yet

  env.step(25 * H);
  env.elapse(CLOCK_WATCH_MS);
  assert.deepEqual(env.warnings(), ['wall clock jumped forward by 25h0m; the outbox schedule moves with it']);
  assert.equal(env.logs.find((l) => l.level === 'warn')!.fields.notifications, 2);
  assert.equal(env.clock.now(), T0 + 25 * H + 1000, 'the relay tells wall-clock time again');
  assert.equal(env.dueIn(retried), 1000, 'the retry is as far away as before the step');
  assert.equal(env.row(fresh)!.createdAt, T0 + 25 * H, 'max_age counts from the moved time');

  await env.round(); // the fresh one goes (and fails); the retry is not due yet
  assert.deepEqual(env.channel.calls, ['n-' + retried, 'n-' + fresh]);
  assert.equal(env.row(fresh)!.state, 'pending', 'retried, not dead after "max_age 24h"');
  assert.equal(env.dueIn(fresh), 2000);

  env.elapse(1000);
  await env.round();
  env.elapse(1000);
  await env.round();
  assert.deepEqual(env.channel.calls.slice(2), ['n-' + retried, 'n-' + fresh]);
  assert.deepEqual(env.store.queries.countsByState(), { pending: 0, inflight: 0, dead: 0, delivered: 2 });
  const attempts = env.store.queries.attemptsOf('n-' + retried).map((a) => a.at);
  assert.deepEqual(attempts, [T0, T0 + 25 * H + 2000], 'attempts are stored on the wall-clock basis of their time');
});

test('wall clock stepped back 1 h: a pending retry is due after its backoff, not an hour later; new alarms go at once', async () => {
  const env = setup([FAIL]);
  const retried = env.enqueue();
  await env.round();
  env.step(-H);
  env.elapse(CLOCK_WATCH_MS);
  assert.deepEqual(env.warnings(), ['wall clock jumped back by 1h0m; the outbox schedule moves with it']);
  assert.equal(env.clock.now(), T0 - H + 1000);
  assert.equal(env.dueIn(retried), 1000);

  const fresh = env.enqueue();
  await env.round();
  assert.deepEqual(env.channel.calls, ['n-' + retried, 'n-' + fresh], 'the new alarm is delivered at once');
  env.elapse(999);
  await env.round();
  assert.equal(env.channel.calls.length, 2, 'not before its backoff');
  env.elapse(1);
  await env.round();
  assert.equal(env.channel.calls.length, 3, 'due after its backoff');
  assert.deepEqual(env.store.queries.countsByState(), { pending: 0, inflight: 0, dead: 0, delivered: 2 });
});

test('drift under the threshold changes nothing', async () => {
  const env = setup([FAIL]);
  const id = env.enqueue();
  await env.round();
  const before = env.row(id);
  env.step(900);
  env.elapse(5 * CLOCK_WATCH_MS);
  assert.equal(env.rebase.calls, 0);
  assert.deepEqual(env.logs, []);
  assert.equal(env.clock.shift, 0);
  assert.deepEqual(env.row(id), before);
});

test('a delivery in flight across the step keeps its true age and its backoff', async () => {
  let fail!: (r: SendResult) => void;
  const env = setup([new Promise<SendResult>((r) => (fail = r))]);
  const id = env.enqueue();
  env.dispatcher.tick();
  await new Promise((r) => setImmediate(r));
  assert.equal(env.row(id)!.state, 'inflight');
  env.step(25 * H);
  env.elapse(CLOCK_WATCH_MS);
  assert.equal(env.row(id)!.leaseUntil, T0 + 25 * H + 2 * 10_000 + 30_000, 'the lease moved with the step');
  fail(FAIL);
  await env.dispatcher.idle();
  assert.equal(env.row(id)!.state, 'pending', 'claimed before the step, failed after it: not past max_age');
  assert.equal(env.dueIn(id), 2000);
});

test('the schedule moves only once the queued ingest commits are written; a failed move is tried again, logged once', () => {
  const env = setup();
  const id = env.enqueue();
  env.setBusy(true);
  env.step(2 * H);
  env.elapse(CLOCK_WATCH_MS);
  assert.equal(env.rebase.calls, 0, 'not while ingest commits with earlier times wait');
  env.setBusy(false);
  env.rebase.fail = true;
  env.elapse(3 * CLOCK_WATCH_MS);
  assert.equal(env.rebase.calls, 3);
  assert.deepEqual(env.logs.map((l) => [l.level, l.msg]), [['error', 'wall clock jumped forward by 2h0m; could not move the outbox schedule with it, will try again']]);
  assert.equal(env.clock.shift, 0);
  assert.equal(env.row(id)!.createdAt, T0);
  env.rebase.fail = false;
  env.elapse(CLOCK_WATCH_MS);
  assert.equal(env.clock.shift, 2 * H);
  assert.equal(env.row(id)!.createdAt, T0 + 2 * H);
  assert.deepEqual(env.warnings(), ['wall clock jumped forward by 2h0m; the outbox schedule moves with it']);
});

test('span writes a step in its natural units', () => {
  assert.equal(span(25 * H), '25h0m');
  assert.equal(span(-H), '1h0m');
  assert.equal(span(59 * 60_000 + 59_400), '59m59s');
  assert.equal(span(1500), '1.5s');
});
