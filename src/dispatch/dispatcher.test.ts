import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openNodeSqlite } from '../runtime/sqlite-node.ts';
import { applyPragmas, type OpenDatabase } from '../outbox/db.ts';
import { migrate } from '../outbox/migrate.ts';
import { OutboxStore } from '../outbox/store.ts';
import { createDispatcher, type DeliveryObserver, type Dispatcher } from './dispatcher.ts';
import { INITIAL_LIMIT } from './limit.ts';
import { silentLogger } from '../lib/logger.ts';
import type { Channel } from '../channels/types.ts';
import type { DeliverySettings } from '../config/types.ts';
import type { Alarm } from '../domain/alarm.ts';
import type { Delivery, SendResult } from '../domain/notification.ts';
import { FakeClock } from '../../test/support/fake-clock.ts';

const T0 = 1_000_000;
const H = 3_600_000;

const alarm = (id: string): Alarm => ({
  id, source: 'test', name: 'DiskFull', severity: 'critical', status: 'firing', summary: 's',
  labels: { host: 'db-1' }, annotations: {}, occurredAt: T0, receivedAt: T0, dedupKey: 'k-' + id,
});

const SETTINGS: DeliverySettings = {
  concurrency: 4,
  timeoutMs: 10_000,
  maxAttempts: 20,
  maxAgeMs: 24 * H,
  backoffBaseMs: 1000,
  backoffCapMs: 600_000,
  retryAfterCapMs: H,
};

/** What the fake channel does for one call: a fixed result, or a function of the delivery and signal. */
type Step = SendResult | ((d: Delivery, signal: AbortSignal) => SendResult | Promise<SendResult>);

/** A scripted channel: the n-th call gets the n-th step (then `sent`); every call is recorded. */
class FakeChannel implements Channel {
  readonly calls: { delivery: Delivery; signal: AbortSignal }[] = [];
  constructor(
    readonly method: string,
    readonly script: Step[] = [],
  ) {}
  send(delivery: Delivery, signal: AbortSignal): Promise<SendResult> {
    this.calls.push({ delivery, signal });
    const step = this.script.shift() ?? { outcome: 'sent', status: 200 };
    return Promise.resolve(typeof step === 'function' ? step(delivery, signal) : step);
  }
}

/** Resolves when the signal aborts (with its reason). */
const aborted = (signal: AbortSignal) =>
  new Promise<unknown>((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });

/** Waits (through setImmediate turns, not timers) until cond holds. */
async function until(cond: () => boolean, what: string, turns = 1000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

for (const kind of ['file', 'memory'] as const) {
  function openStore(): OutboxStore {
    const dir = kind === 'file' ? mkdtempSync(join(tmpdir(), 'tocsin-dispatch-')) : undefined;
    const o: OpenDatabase = openNodeSqlite(dir ? join(dir, 'tocsin.db') : ':memory:');
    cleanup.push(() => {
      o.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    applyPragmas(o.db, 'NORMAL');
    migrate(o.db, 0);
    return new OutboxStore(o);
  }

  function setup(opts: { channels: FakeChannel[]; settings?: Partial<DeliverySettings>; perMethod?: Record<string, Partial<DeliverySettings>>; random?: number; batchSize?: number }) {
    const store = openStore();
    const clock = new FakeClock(T0);
    const observed = { attempts: [] as [string, string, number][], dead: [] as string[] };
    const observer: DeliveryObserver = {
      attempt: (m, o, l) => observed.attempts.push([m, o, l]),
      dead: (m) => observed.dead.push(m),
    };
    const channels = new Map<string, Channel>(opts.channels.map((c) => [c.method, c]));
    const dispatcher: Dispatcher = createDispatcher({
      ledger: store.delivery,
      channels: () => channels,
      settings: (m) => ({ ...SETTINGS, ...opts.settings, ...opts.perMethod?.[m] }),
      batchSize: opts.batchSize ?? 100,
      pollIntervalMs: 3_600_000,
      clock,
      scheduler: clock,
      random: () => opts.random ?? 0.5,
      logger: silentLogger,
      observer,
    });
    // Never leave a dispatcher running (its poll timer would keep the process alive).
    cleanup.push(() => {
      const stopped = dispatcher.stop(0);
      clock.advance(0); // the grace timer
      return stopped;
    });
    /** Enqueues alarm `id` with one notification `n-<id>` per method, created now. */
    const enqueue = (id: string, methods: string[] = ['hook']) => {
      store.enqueue.transaction(() => {
        store.enqueue.insertAlarm(alarm(id), methods.length);
        for (const m of methods) store.enqueue.insertNotification({ id: `n-${id}${methods.length > 1 ? `-${m}` : ''}`, alarmIds: [id], method: m, createdAt: clock.t });
      });
      store.noteCommitted([{ alarm: alarm(id), notifications: methods.length }]);
    };
    /** One claim-and-deliver round, fully recorded. */
    const round = async () => {
      dispatcher.tick();
      await dispatcher.idle();
    };
    const row = (id: string) => {
      const rows = store.queries.notificationsOf(id);
      assert.equal(rows.length, 1, `one notification row for ${id}`);
      return rows[0]!;
    };
    return { store, clock, dispatcher, enqueue, round, row, observed, channels };
  }

  describe(`dispatcher (${kind} database)`, () => {
    test('a batch shares one abort signal without tripping the listener-leak warning', async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.name);
      process.on('warning', onWarning);
      cleanup.push(() => void process.off('warning', onWarning));
      // Like an HTTP client: every send listens for abort on the signal it is given.
      const ch = new FakeChannel('hook', Array.from({ length: 32 }, () => (_d: Delivery, signal: AbortSignal) => {
        signal.addEventListener('abort', () => {});
        return { outcome: 'sent', status: 200 } as SendResult;
      }));
      const env = setup({ channels: [ch], settings: { concurrency: 32 } });
      for (let i = 0; i < 32; i++) env.enqueue(`w${i}`);
      // Rounds until all went: the in-flight limit starts low and grows with each round that succeeds.
      for (let i = 0; i < 10 && ch.calls.length < 32; i++) await env.round();
      await new Promise((r) => setImmediate(r));
      assert.equal(ch.calls.length, 32);
      const perSignal = new Map<AbortSignal, number>();
      for (const c of ch.calls) perSignal.set(c.signal, (perSignal.get(c.signal) ?? 0) + 1);
      assert.ok(Math.max(...perSignal.values()) > 10, 'a batch larger than the default listener limit shared one signal');
      assert.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), []);
    });

    test('a rate limit smooths a storm: burst at once, then one per token as it refills; nothing refused or dead', async () => {
      const ch = new FakeChannel('hook');
      const env = setup({ channels: [ch], settings: { concurrency: 64, rateLimit: { perSecond: 2, burst: 3 } } });
      for (let i = 0; i < 8; i++) env.enqueue(`r${i}`);
      env.dispatcher.start();
      await until(() => ch.calls.length === 3, 'the burst');
      await env.dispatcher.idle();
      await env.round();
      assert.equal(ch.calls.length, 3, 'no token yet');
      // A token every 500 ms: the dispatcher comes back by itself when one is due.
      for (const [ms, total] of [[499, 3], [1, 4], [500, 5], [1500, 8]] as const) {
        env.clock.advance(ms);
        await until(() => ch.calls.length === total, `${total} sent after ${ms} ms more`);
        await env.dispatcher.idle();
      }
      assert.deepEqual(env.observed.dead, []);
      assert.equal(env.store.pendingCount, 0);
    });

    test('pending → sent: the delivery log gets it, with an attempt record', async () => {
      const ch = new FakeChannel('hook', [
        () => {
          env.clock.t += 25; // the attempt takes 25 ms
          return { outcome: 'sent', status: 202 };
        },
      ]);
      const env = setup({ channels: [ch] });
      env.enqueue('a1');
      assert.equal(env.row('a1').state, 'pending');
      await env.round();

      assert.equal(ch.calls.length, 1);
      assert.deepEqual(ch.calls[0]!.delivery, { notificationId: 'n-a1', attempt: 1, method: 'hook', alarms: [alarm('a1')], createdAt: T0, remoteRefs: {} });
      assert.deepEqual(env.store.queries.notificationsOf('a1'), [], 'gone from the outbox');
      assert.deepEqual(env.store.queries.deliveriesOf('a1'), [
        { notificationId: 'n-a1', alarmId: 'a1', alarmCount: 1, method: 'hook', attempts: 1, createdAt: T0, sentAt: T0 + 25, lastStatus: 202 },
      ]);
      const attempts = env.store.queries.attemptsOf('n-a1').map(({ id: _, ...a }) => a);
      assert.deepEqual(attempts, [{ notificationId: 'n-a1', attempt: 1, at: T0 + 25, outcome: 'sent', status: 202, latencyMs: 25, error: null }]);
      assert.deepEqual(env.store.queries.countsByState(), { pending: 0, inflight: 0, dead: 0, delivered: 1 });
      assert.equal(env.store.pendingCount, 0);
      assert.deepEqual(env.observed.attempts, [['hook', 'sent', 25]]);
      assert.equal(env.dispatcher.inFlight, 0);

      await env.round();
      assert.equal(ch.calls.length, 1, 'a sent notification is not delivered again');
    });

    test('retry: rescheduled at now + backoff, not claimed before then, then sent', async () => {
      const ch = new FakeChannel('hook', [{ outcome: 'retry', status: 503, error: 'HTTP 503' }]);
      const env = setup({ channels: [ch], random: 0.5 });
      env.enqueue('r');
      env.clock.t = T0 + 100;
      await env.round();

      const r = env.row('r');
      assert.equal(r.state, 'pending');
      assert.equal(r.attempts, 1);
      assert.equal(r.nextAttemptAt, T0 + 100 + 500, 'floor(0.5 * 1s) after the failed attempt');
      assert.equal(r.lastStatus, 503);
      assert.equal(r.lastError, 'HTTP 503');
      assert.equal(r.leaseUntil, null);

      env.clock.t = T0 + 599;
      await env.round();
      assert.equal(ch.calls.length, 1, 'not claimed before next_attempt_at');
      assert.equal(env.row('r').state, 'pending');

      env.clock.t = T0 + 600;
      await env.round();
      assert.equal(ch.calls.length, 2);
      assert.equal(ch.calls[1]!.delivery.attempt, 2);
      assert.deepEqual(env.store.queries.notificationsOf('r'), []);
      assert.equal(env.store.queries.deliveriesOf('r')[0]!.attempts, 2);
      assert.deepEqual(
        env.store.queries.attemptsOf('n-r').map((a) => [a.attempt, a.at, a.outcome, a.status, a.error]),
        [[1, T0 + 100, 'retry', 503, 'HTTP 503'], [2, T0 + 600, 'sent', 200, null]],
      );
      assert.deepEqual(env.observed.attempts.map(([, o]) => o), ['retry', 'sent']);
    });

    test('Retry-After is honoured: next_attempt_at = now + retryAfterMs', async () => {
      const ch = new FakeChannel('hook', [{ outcome: 'retry', status: 429, error: 'HTTP 429', retryAfterMs: 120_000 }]);
      const env = setup({ channels: [ch], random: 0.999 });
      env.enqueue('ra');
      env.clock.t = T0 + 7;
      await env.round();
      assert.equal(env.row('ra').nextAttemptAt, T0 + 7 + 120_000);
      env.clock.t = T0 + 7 + 119_999;
      await env.round();
      assert.equal(ch.calls.length, 1);
      env.clock.t = T0 + 7 + 120_000;
      await env.round();
      assert.equal(ch.calls.length, 2);
      assert.equal(env.store.queries.countsByState().delivered, 1);
    });

    test('dead-lettered after max_attempts, every attempt recorded', async () => {
      const fail: SendResult = { outcome: 'retry', status: 500, error: 'HTTP 500: oops' };
      const ch = new FakeChannel('hook', [fail, fail, fail, fail]);
      const env = setup({ channels: [ch], settings: { maxAttempts: 3 }, random: 0 });
      env.enqueue('d');
      for (let i = 1; i <= 3; i++) {
        env.clock.t = T0 + i * 1000;
        await env.round();
        assert.equal(ch.calls.length, i);
        assert.equal(ch.calls[i - 1]!.delivery.attempt, i);
      }
      const d = env.row('d');
      assert.equal(d.state, 'dead');
      assert.equal(d.attempts, 3);
      assert.equal(d.deadReason, 'gave up after 3 attempts (max_attempts): HTTP 500: oops');
      assert.equal(d.deadAt, T0 + 3000);
      assert.equal(d.lastStatus, 500);
      assert.equal(d.lastError, 'HTTP 500: oops');
      assert.equal(d.leaseUntil, null);
      const attempts = env.store.queries.attemptsOf('n-d');
      assert.equal(attempts.length, 3);
      assert.deepEqual(attempts.map((a) => [a.attempt, a.at, a.outcome, a.status]), [
        [1, T0 + 1000, 'retry', 500], [2, T0 + 2000, 'retry', 500], [3, T0 + 3000, 'retry', 500],
      ]);
      assert.deepEqual(env.store.queries.countsByState(), { pending: 0, inflight: 0, dead: 1, delivered: 0 });
      assert.equal(env.store.pendingCount, 0);
      assert.deepEqual(env.observed.dead, ['hook']);

      env.clock.t = T0 + 10 * H;
      await env.round();
      assert.equal(ch.calls.length, 3, 'a dead letter is never claimed again');
    });

    test('dead-lettered by max_age once the clock has passed createdAt + max_age', async () => {
      const fail: SendResult = { outcome: 'retry', status: 502, error: 'HTTP 502' };
      const ch = new FakeChannel('hook', [fail, fail]);
      const env = setup({ channels: [ch], settings: { maxAgeMs: H }, random: 0.5 });
      env.enqueue('old');
      await env.round();
      assert.equal(env.row('old').nextAttemptAt, T0 + 500);
      env.clock.t = T0 + H + 5; // the process was down, say
      await env.round();
      const r = env.row('old');
      assert.equal(r.state, 'dead');
      assert.equal(r.deadReason, 'gave up after max_age 1h: HTTP 502');
      assert.equal(r.attempts, 2);
      assert.equal(env.store.queries.attemptsOf('n-old').length, 2);
    });

    test('a retry close to max_age is scheduled at the deadline, not after it', async () => {
      const fail: SendResult = { outcome: 'retry', error: 'connection refused' };
      const ch = new FakeChannel('hook', [fail, fail]);
      const env = setup({ channels: [ch], settings: { maxAgeMs: H }, random: 0.999 });
      env.enqueue('edge');
      env.clock.t = T0 + H - 100;
      await env.round();
      assert.equal(env.row('edge').nextAttemptAt, T0 + H);
      env.clock.t = T0 + H;
      await env.round();
      assert.equal(env.row('edge').state, 'dead');
    });

    test('a permanent 4xx is dead at once, keeping status and body excerpt', async () => {
      const error = 'HTTP 404: {"error":"no such hook"}';
      const ch = new FakeChannel('hook', [{ outcome: 'permanent', status: 404, error }]);
      const env = setup({ channels: [ch] });
      env.enqueue('p');
      await env.round();
      const p = env.row('p');
      assert.equal(p.state, 'dead');
      assert.equal(p.attempts, 1);
      assert.equal(p.lastStatus, 404);
      assert.equal(p.lastError, error);
      assert.equal(p.deadReason, `permanent failure: ${error}`);
      assert.deepEqual(env.store.queries.attemptsOf('n-p').map((a) => [a.outcome, a.status, a.error]), [['permanent', 404, error]]);
      assert.deepEqual(env.observed.dead, ['hook']);
    });

    test('per-method concurrency limit is never exceeded', async () => {
      /** A channel whose sends block until released; tracks how many run at once. */
      class GateChannel extends FakeChannel {
        running = 0;
        max = 0;
        done = 0;
        readonly waiting: (() => void)[] = [];
        override send(delivery: Delivery, signal: AbortSignal): Promise<SendResult> {
          this.calls.push({ delivery, signal });
          this.running++;
          this.max = Math.max(this.max, this.running);
          return new Promise((resolve) =>
            this.waiting.push(() => {
              this.running--;
              this.done++;
              resolve({ outcome: 'sent', status: 200 });
            }),
          );
        }
        releaseOne() {
          this.waiting.shift()?.();
        }
      }
      const a = new GateChannel('a');
      const b = new GateChannel('b');
      const env = setup({ channels: [a, b], perMethod: { a: { concurrency: 1 }, b: { concurrency: 3 } }, batchSize: 100 });
      for (let i = 0; i < 8; i++) env.enqueue(`x${i}`, ['a', 'b']);

      // Manual ticks: however often we tick, only `concurrency` deliveries start per method.
      env.dispatcher.tick();
      env.dispatcher.tick();
      env.dispatcher.tick();
      assert.equal(a.running, 1);
      assert.equal(b.running, 3);
      assert.equal(env.dispatcher.inFlight, 4);
      assert.deepEqual(env.store.queries.countsByState(), { pending: 12, inflight: 4, dead: 0, delivered: 0 });

      // Running: every finished delivery lets the loop claim more; release them one by one.
      env.dispatcher.start();
      while (a.done + b.done < 16) {
        await until(() => a.waiting.length + b.waiting.length > 0, 'a blocked delivery');
        a.releaseOne();
        b.releaseOne();
        await new Promise((r) => setImmediate(r));
        assert.ok(a.running <= 1 && b.running <= 3, `a ${a.running}/1, b ${b.running}/3 running`);
      }
      await env.dispatcher.idle();
      assert.equal(a.max, 1);
      assert.equal(b.max, 3);
      assert.equal(a.calls.length, 8);
      assert.equal(b.calls.length, 8);
      assert.deepEqual(env.store.queries.countsByState(), { pending: 0, inflight: 0, dead: 0, delivered: 16 });
    });

    test('the in-flight limit adapts: starts low, halves when the receiver is overloaded, grows back while it answers', async () => {
      let answer: SendResult = { outcome: 'retry', status: 503, error: 'HTTP 503' };
      const ch = new FakeChannel('hook');
      ch.send = function (delivery, signal) {
        this.calls.push({ delivery, signal });
        return Promise.resolve(answer);
      };
      const env = setup({ channels: [ch], settings: { concurrency: 64 }, batchSize: 100 });
      for (let i = 0; i < 64; i++) env.enqueue(`l${i}`);
      const perRound: number[] = [];
      const round = async () => {
        const before = ch.calls.length;
        await env.round();
        perRound.push(ch.calls.length - before);
        env.clock.t += H; // every retry is due again, and the cut's cool-down is over
      };
      await round();
      await round();
      assert.deepEqual(perRound, [INITIAL_LIMIT, INITIAL_LIMIT / 2], 'a round of 503s halves the limit');
      answer = { outcome: 'sent', status: 200 };
      for (let i = 0; i < 8; i++) await round();
      assert.ok(perRound.at(-1)! > INITIAL_LIMIT / 2, `grew back: ${perRound.join(', ')}`);
      for (let i = 3; i < perRound.length; i++) assert.ok(perRound[i]! >= perRound[i - 1]! || perRound[i]! === 0, `never shrinks while it answers: ${perRound.join(', ')}`);
      assert.deepEqual(env.observed.dead, []);
    });

    test('a batch_size below a quarter of the concurrency still fills the concurrency', async () => {
      // concurrency 8, batch_size 1: claims come one at a time, but up to 8 deliveries may run at once.
      const waiting: (() => void)[] = [];
      const ch = new FakeChannel('hook');
      ch.send = function (delivery, signal) {
        this.calls.push({ delivery, signal });
        return new Promise((resolve) => waiting.push(() => resolve({ outcome: 'sent', status: 200 })));
      };
      const env = setup({ channels: [ch], settings: { concurrency: 8 }, batchSize: 1 });
      for (let i = 0; i < 4; i++) env.enqueue(`q${i}`);
      env.dispatcher.start();
      for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
      const inFlight = env.dispatcher.inFlight;
      while (waiting.length > 0 || env.dispatcher.inFlight > 0) {
        waiting.shift()?.();
        await new Promise((r) => setImmediate(r));
      }
      await env.dispatcher.idle();
      assert.equal(env.store.queries.countsByState().delivered, 4);
      assert.equal(inFlight, 4, 'all 4 due notifications in flight at once (concurrency 8)');
    });

    test('a channel that throws (or rejects) is treated as a retry', async () => {
      const ch = new FakeChannel('hook');
      ch.send = function (delivery, signal) {
        this.calls.push({ delivery, signal });
        if (delivery.alarms[0]!.id === 'sync') throw new Error('kaput');
        return Promise.reject(new TypeError('undefined is not a function'));
      };
      const env = setup({ channels: [ch], random: 0.5 });
      env.enqueue('sync');
      env.enqueue('async');
      await env.round();
      assert.equal(ch.calls.length, 2);
      for (const [id, msg] of [['sync', 'kaput'], ['async', 'undefined is not a function']] as const) {
        const r = env.row(id);
        assert.equal(r.state, 'pending', id);
        assert.equal(r.attempts, 1);
        assert.equal(r.lastError, `channel failed: ${msg}`);
        assert.equal(r.nextAttemptAt, T0 + 500);
        assert.deepEqual(env.store.queries.attemptsOf(`n-${id}`).map((a) => [a.outcome, a.error]), [['retry', `channel failed: ${msg}`]]);
      }
      assert.deepEqual(env.store.queries.countsByState(), { pending: 2, inflight: 0, dead: 0, delivered: 0 });
    });

    test('delivery deadline: the signal aborts after timeoutMs and the attempt is a retry', async () => {
      const reasons: unknown[] = [];
      const waitForAbort: Step = async (_d, signal) => {
        const reason = await aborted(signal);
        reasons.push(reason);
        return { outcome: 'retry', error: `request aborted: ${(reason as Error).message}` };
      };
      const rejectOnAbort: Step = async (_d, signal) => {
        throw await aborted(signal);
      };
      const ch = new FakeChannel('hook', [waitForAbort, rejectOnAbort]);
      const env = setup({ channels: [ch], settings: { timeoutMs: 50 }, random: 0.5 });
      env.enqueue('slow');
      env.enqueue('slow2');
      env.dispatcher.tick();
      await until(() => ch.calls.length === 2, 'both deliveries started');
      env.clock.advance(49);
      assert.equal(ch.calls[0]!.signal.aborted, false, 'not before the deadline');
      env.clock.advance(1);
      assert.equal(ch.calls[0]!.signal.aborted, true, 'at the deadline');
      await env.dispatcher.idle();
      assert.equal(reasons.length, 1);
      assert.ok(reasons[0] instanceof DOMException && reasons[0].name === 'TimeoutError', String(reasons[0]));
      const rows = ['slow', 'slow2'].map(env.row);
      for (const r of rows) {
        assert.equal(r.state, 'pending');
        assert.equal(r.attempts, 1, 'a timed-out attempt counts');
        assert.equal(r.nextAttemptAt, T0 + 50 + 500);
      }
      assert.deepEqual(rows.map((r) => r.lastError).sort(), [
        'channel failed: delivery deadline passed',
        'request aborted: delivery deadline passed',
      ]);
      assert.deepEqual(env.store.queries.countsByState(), { pending: 2, inflight: 0, dead: 0, delivered: 0 });
    });

    test('a delivery that finishes in time is not aborted by an earlier deadline timer', async () => {
      const ch = new FakeChannel('hook', [
        async (_d, signal) => {
          await sleep(10);
          return signal.aborted ? { outcome: 'retry', error: 'aborted' } : { outcome: 'sent', status: 200 };
        },
      ]);
      const env = setup({ channels: [ch], settings: { timeoutMs: 200 } });
      env.enqueue('quick');
      await env.round();
      assert.equal(env.store.queries.countsByState().delivered, 1);
      env.clock.advance(1000);
      assert.equal(ch.calls[0]!.signal.aborted, false, 'the deadline timer was cleared');
    });

    test('stop(grace): finished within the grace → sent; still running after it → aborted and released', async () => {
      let finishFast = () => {};
      const fastDone = new Promise<void>((r) => (finishFast = r));
      const ch = new FakeChannel('hook');
      ch.send = function (delivery, signal) {
        this.calls.push({ delivery, signal });
        const id = delivery.alarms[0]!.id;
        if (id === 'fast') return fastDone.then(() => ({ outcome: 'sent', status: 200 }) as const);
        if (id === 'cooperative') return aborted(signal).then(() => ({ outcome: 'retry', error: 'request aborted' }) as const);
        return aborted(signal).then((reason) => Promise.reject(reason)); // 'thrower'
      };
      const env = setup({ channels: [ch], settings: { concurrency: 8 } });
      for (const id of ['fast', 'cooperative', 'thrower']) env.enqueue(id);
      env.clock.t = T0 + 42;
      env.dispatcher.tick();
      assert.equal(env.dispatcher.inFlight, 3);

      const stopping = env.dispatcher.stop(150);
      finishFast();
      await until(() => env.dispatcher.inFlight === 2, 'the fast delivery finished');
      env.clock.advance(149);
      await until(() => true, 'a turn');
      assert.equal(env.dispatcher.inFlight, 2, 'the others keep running within the grace');
      assert.ok(ch.calls.every((c) => !c.signal.aborted), 'nothing aborted before the grace ends');
      env.clock.advance(1);
      await stopping;
      assert.equal(env.dispatcher.inFlight, 0);

      assert.deepEqual(env.store.queries.countsByState(), { pending: 2, inflight: 0, dead: 0, delivered: 1 });
      assert.equal(env.store.queries.deliveriesOf('fast').length, 1);
      for (const id of ['cooperative', 'thrower']) {
        const r = env.row(id);
        assert.equal(r.state, 'pending', id);
        assert.equal(r.attempts, 0, 'an attempt cut short by shutdown is not counted');
        assert.equal(r.nextAttemptAt, T0 + 42 + 150, 'due again right away (when the grace ended)');
        assert.equal(r.leaseUntil, null);
        assert.equal(r.deadReason, null);
        assert.deepEqual(env.store.queries.attemptsOf(`n-${id}`).map((a) => [a.attempt, a.outcome, a.error]), [[1, 'aborted', 'tocsin is shutting down']]);
      }
      assert.deepEqual(env.observed.attempts.map(([, o]) => o), ['sent'], 'released attempts are not reported as outcomes');

      env.dispatcher.tick();
      assert.equal(env.dispatcher.inFlight, 0, 'a stopped dispatcher claims nothing');
      assert.equal(env.store.queries.countsByState().inflight, 0);
    });

    test('stop(grace) returns as soon as in-flight deliveries finish, well before a long grace', async () => {
      const ch = new FakeChannel('hook', [async () => (await sleep(20), { outcome: 'sent', status: 200 })]);
      const env = setup({ channels: [ch] });
      env.enqueue('s');
      env.dispatcher.start();
      await until(() => env.dispatcher.inFlight === 1, 'the delivery to start');
      const started = performance.now();
      await env.dispatcher.stop(30_000);
      assert.ok(performance.now() - started < 2000);
      assert.deepEqual(env.store.queries.countsByState(), { pending: 0, inflight: 0, dead: 0, delivered: 1 });
    });

    test('start(): due work is claimed without manual ticks, and nudge() picks up new work', async () => {
      const ch = new FakeChannel('hook');
      const env = setup({ channels: [ch] });
      env.enqueue('first');
      env.dispatcher.start();
      await until(() => env.store.queries.countsByState().delivered === 1, 'the first delivery');
      env.enqueue('second');
      env.dispatcher.nudge();
      await until(() => env.store.queries.countsByState().delivered === 2, 'the nudged delivery');
      await env.dispatcher.stop(1000);
      assert.deepEqual(ch.calls.map((c) => c.delivery.alarms[0]!.id), ['first', 'second']);
    });

    test('remote references: loaded for channels that ask for them, stored from a sent result, per dedup key', async () => {
      const seenRefs: Readonly<Record<string, string>>[] = [];
      const ch = new FakeChannel('pager', [
        (d) => {
          seenRefs.push(d.remoteRefs);
          return { outcome: 'sent', status: 202, remoteRefs: { [d.alarms[0]!.dedupKey]: 'PD-1' } };
        },
        (d) => {
          seenRefs.push(d.remoteRefs);
          return { outcome: 'sent', status: 202, remoteRefs: { [d.alarms[0]!.dedupKey]: null } };
        },
        (d) => {
          seenRefs.push(d.remoteRefs);
          return { outcome: 'sent', status: 202 };
        },
      ]);
      Object.assign(ch, { remoteRefs: true });
      const plain = new FakeChannel('hook');
      const env = setup({ channels: [ch, plain] });
      // The same dedup key three times (firing, resolved, firing again).
      for (const id of ['x1', 'x2', 'x3']) {
        env.store.enqueue.transaction(() => {
          env.store.enqueue.insertAlarm({ ...alarm(id), dedupKey: 'k-same' }, 2);
          env.store.enqueue.insertNotification({ id: `n-${id}`, alarmIds: [id], method: 'pager', createdAt: env.clock.t });
          env.store.enqueue.insertNotification({ id: `h-${id}`, alarmIds: [id], method: 'hook', createdAt: env.clock.t });
        });
        await env.round();
      }
      assert.deepEqual(seenRefs, [{}, { 'k-same': 'PD-1' }, {}], 'written by the first send, removed by the second');
      assert.ok(plain.calls.every((c) => Object.keys(c.delivery.remoteRefs).length === 0), 'not loaded for a channel that does not use them');
    });

    test('the channels are read at every tick: a swapped method is used for the next claim, an in-flight send keeps its channel', async () => {
      let release = () => {};
      const held = new Promise<void>((r) => (release = r));
      const oldCh = new FakeChannel('hook', [async () => (await held, { outcome: 'sent', status: 200 })]);
      const env = setup({ channels: [oldCh] });
      env.enqueue('during');
      env.dispatcher.tick();
      await until(() => oldCh.calls.length === 1, 'the first send started');
      const newCh = new FakeChannel('hook');
      env.channels.set('hook', newCh); // what a reload does to the map the accessor returns
      env.enqueue('after');
      env.dispatcher.tick();
      await until(() => newCh.calls.length === 1, 'the new channel got the next notification');
      release();
      await env.dispatcher.idle();
      assert.deepEqual(oldCh.calls.map((c) => c.delivery.alarms[0]!.id), ['during']);
      assert.deepEqual(newCh.calls.map((c) => c.delivery.alarms[0]!.id), ['after']);
      assert.equal(env.store.queries.countsByState().delivered, 2);
    });
  });
}
