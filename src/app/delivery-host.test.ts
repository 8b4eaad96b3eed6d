import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../test/support/fake-clock.ts';
import type { DeliveryThreadInit, FromDeliveryThread, ThreadHandle, ToDeliveryThread } from '../dispatch/thread-protocol.ts';
import type { Logger } from '../lib/logger.ts';
import { sealForThread } from '../lib/thread-data.ts';
import { createDeliveryHost, RESTART_MIN_MS } from './delivery-host.ts';

/** A thread that does what the test says. */
class FakeThread implements ThreadHandle {
  readonly sent: ToDeliveryThread[] = [];
  #onMessage: (m: FromDeliveryThread) => void = () => {};
  #onExit: (code: number, error?: Error) => void = () => {};
  terminated = false;
  post(msg: ToDeliveryThread) {
    this.sent.push(msg);
  }
  onMessage(fn: (m: FromDeliveryThread) => void) {
    this.#onMessage = fn;
  }
  onExit(fn: (code: number, error?: Error) => void) {
    this.#onExit = fn;
  }
  async terminate() {
    this.terminated = true;
  }
  say(m: FromDeliveryThread) {
    this.#onMessage(m);
  }
  exit(code: number, error?: Error) {
    this.#onExit(code, error);
  }
}

function setup() {
  const clock = new FakeClock();
  const threads: FakeThread[] = [];
  const logs: [string, string, Record<string, unknown>][] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => void logs.push([level, msg, fields]);
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const seen = { settled: 0, attempts: [] as unknown[], dead: [] as unknown[], lines: [] as string[], released: 0 };
  const init: DeliveryThreadInit = {
    databaseFile: 'x.db', synchronous: 'NORMAL', batchSize: 10, pollIntervalMs: 1000, writeLock: new SharedArrayBuffer(4), view: sealForThread({}),
  };
  const host = createDeliveryHost({
    spawn: () => {
      const t = new FakeThread();
      threads.push(t);
      return t;
    },
    init: () => init,
    settled: (n) => (seen.settled += n),
    releaseLeases: () => ++seen.released,
    observer: { attempt: (...a) => seen.attempts.push(a), dead: (...a) => seen.dead.push(a) },
    writeLine: (line) => {
      if (line === 'boom') throw new Error('stdout is closed');
      seen.lines.push(line);
    },
    scheduler: clock,
    logger,
  });
  return { clock, threads, logs, seen, host };
}

const turn = () => new Promise((r) => setImmediate(r));

test('starts without waiting for the thread; ready once it says so; forwards nudges only while it runs', () => {
  const { host, threads } = setup();
  host.start();
  assert.equal(host.ready(), 'starting');
  host.nudge();
  assert.deepEqual(threads[0]!.sent, [], 'nothing is posted to a thread that is not running yet');
  threads[0]!.say({ type: 'ready' });
  assert.equal(host.ready(), undefined);
  host.nudge();
  assert.deepEqual(threads[0]!.sent, [{ type: 'nudge' }]);
});

test('reports feed the undelivered count and the metrics; log records go to the logger; lines are written and answered', async () => {
  const { host, threads, seen, logs } = setup();
  host.start();
  const t = threads[0]!;
  t.say({ type: 'ready' });
  t.say({ type: 'report', settled: 3, inFlight: 2, attempts: [['hook', 'sent', 12, false], ['hook', 'retry', 30, true]], dead: [['hook', false]] });
  assert.equal(seen.settled, 3);
  assert.equal(host.inFlight, 2);
  assert.deepEqual(seen.attempts, [['hook', 'sent', 12, false], ['hook', 'retry', 30, true]]);
  assert.deepEqual(seen.dead, [['hook', false]]);
  t.say({ type: 'log', level: 'warn', fields: { method: 'hook' }, msg: 'delivery attempt failed; will retry' });
  assert.deepEqual(logs.at(-1), ['warn', 'delivery attempt failed; will retry', { method: 'hook' }]);
  t.say({ type: 'line', id: 7, line: '{"a":1}' });
  t.say({ type: 'line', id: 8, line: 'boom' });
  await turn();
  assert.deepEqual(seen.lines, ['{"a":1}']);
  const answers = [...t.sent].sort((x, y) => ('id' in x && 'id' in y ? x.id - y.id : 0));
  assert.deepEqual(answers, [{ type: 'line-written', id: 7 }, { type: 'line-written', id: 8, error: 'stdout is closed' }]);
});

test('a thread that dies: leases released, logged, restarted after a pause that doubles; ready again once it runs', async () => {
  const { host, threads, logs, seen, clock } = setup();
  host.start();
  threads[0]!.say({ type: 'ready' });
  threads[0]!.exit(1, new Error('out of memory'));
  assert.equal(seen.released, 1);
  assert.equal(host.ready(), 'delivery thread restarting');
  assert.match(logs.at(-1)![1], /stopped unexpectedly/);
  assert.equal(logs.at(-1)![2].err, 'out of memory');
  clock.advance(RESTART_MIN_MS - 1);
  assert.equal(threads.length, 1);
  clock.advance(1);
  assert.equal(threads.length, 2, 'restarted');
  // It fails to start: the next pause is twice as long.
  threads[1]!.say({ type: 'failed', error: 'database is locked' });
  await turn();
  assert.match(logs.at(-1)![1], /could not start/);
  assert.equal(logs.at(-1)![2].restart_in_ms, 2 * RESTART_MIN_MS);
  clock.advance(2 * RESTART_MIN_MS);
  assert.equal(threads.length, 3);
  threads[2]!.say({ type: 'ready' });
  assert.equal(host.ready(), undefined);
});

test('idle and stop ask the thread and wait for its answer; stop terminates it and it is not restarted', async () => {
  const { host, threads, clock } = setup();
  host.start();
  const t = threads[0]!;
  t.say({ type: 'ready' });
  let idle = false;
  void host.idle().then(() => (idle = true));
  assert.deepEqual(t.sent.at(-1), { type: 'idle', id: 0 });
  await turn();
  assert.equal(idle, false);
  t.say({ type: 'idle', id: 0 });
  await turn();
  assert.equal(idle, true);

  let stopped = false;
  const stopping = host.stop(2000).then(() => (stopped = true));
  assert.deepEqual(t.sent.at(-1), { type: 'stop', graceMs: 2000 });
  await turn();
  assert.equal(stopped, false, 'waits for the thread');
  t.say({ type: 'stopped' });
  await stopping;
  assert.ok(t.terminated);
  t.exit(0);
  clock.advance(60_000);
  assert.equal(threads.length, 1, 'not restarted after stop');
  assert.equal(host.ready(), 'stopped');
});

test('a thread that does not stop in time is terminated', async () => {
  const { host, threads, clock, logs } = setup();
  host.start();
  threads[0]!.say({ type: 'ready' });
  const stopping = host.stop(1000);
  await turn();
  clock.advance(1000 + 5000);
  await stopping;
  assert.ok(threads[0]!.terminated);
  assert.match(logs.at(-1)![1], /did not stop in time/);
});
