import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../test/support/fake-clock.ts';
import type { HttpRequest, HttpResponse } from '../channels/types.ts';
import type { CanaryConfig } from '../config/types.ts';
import { silentLogger } from '../lib/logger.ts';
import { Secret } from '../lib/secret.ts';
import type { CanaryNotification, CanaryRunRow, CanaryRuns } from '../outbox/canary-runs.ts';
import type { PingKind } from './ping.ts';
import { createCanaryService, failureReason, INJECT_TIMEOUT_MS, type FailureReason } from './service.ts';

const canary: CanaryConfig = {
  name: 'path',
  intervalMs: 10_000,
  methods: ['hook'],
  pingUrl: new Secret('https://hc.example/0b5f3e1a-8d2b-4c7e-9a10-2b3c4d5e6f70'),
  maxLatencyMs: 30_000,
  resolve: false,
  labels: { team: 'platform' },
  affectsReadiness: false,
  via: 'http',
};

/** The runs table and the notifications, in memory. */
function fakeRuns(rows: CanaryRunRow[] = []) {
  const saved = new Map(rows.map((r) => [r.rid, r]));
  const notifications = new Map<string, CanaryNotification>();
  const runs = {
    save: (row: CanaryRunRow) => void saved.set(row.rid, row),
    unfinished: () => [...saved.values()].filter((r) => r.outcome === 'open' || r.stage === 'reporting'),
    prune: () => 0,
    notificationsOf: (alarmIds: readonly string[]) => [...notifications.values()].filter((n) => alarmIds.includes(n.alarmId)),
  } as unknown as CanaryRuns;
  return { runs, saved, notifications };
}

function setup(opts: { rows?: CanaryRunRow[]; answer?: (req: HttpRequest, signal?: AbortSignal) => HttpResponse | Error | Promise<HttpResponse>; deliveryReady?: () => boolean } = {}) {
  const clock = new FakeClock();
  const store = fakeRuns(opts.rows);
  const pings: { kind: PingKind; rid: string; body: string }[] = [];
  const posts: HttpRequest[] = [];
  const failures: FailureReason[] = [];
  let n = 0;
  const service = createCanaryService({
    canaries: () => [canary],
    runs: store.runs,
    pinger: {
      ping: async (url, kind, rid, body) => {
        assert.equal(url, canary.pingUrl);
        pings.push({ kind, rid, body: body ?? '' });
        return { ok: true, attempts: 1 };
      },
      stop() {},
    },
    http: async (req, signal) => {
      posts.push(req);
      const a = (await opts.answer?.(req, signal)) ?? { status: 202, header: () => undefined, bodyExcerpt: JSON.stringify({ alarm_ids: [`alm_${posts.length}`], notification_ids: [`ntf_${posts.length}`] }) };
      if (a instanceof Error) throw a;
      return a;
    },
    ingestUrl: () => 'http://127.0.0.1:9095',
    token: 'internal-token-0123456789',
    clock,
    scheduler: clock,
    newRid: () => `00000000-0000-4000-8000-00000000000${n++}`,
    redact: (t) => t.split('internal-token-0123456789').join('<secret>'),
    retentionMs: () => 86_400_000,
    logger: silentLogger,
    observer: { succeeded() {}, failed: (_c, r) => void failures.push(r), pingFailed() {}, skipped() {} },
    ...(opts.deliveryReady && { deliveryReady: opts.deliveryReady }),
  });
  /** Lets the fake HTTP answers and pings settle. */
  const settle = async () => {
    for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
  };
  return { clock, store, pings, posts, failures, service, settle };
}

test('a run: start ping, the alarm POSTed to the relay itself with its own credential, success once its notification is sent', async () => {
  const s = setup();
  s.service.start();
  s.clock.advance(0);
  await s.settle();
  assert.deepEqual(s.pings, [{ kind: 'start', rid: '00000000-0000-4000-8000-000000000000', body: '' }]);
  assert.equal(s.posts.length, 1);
  const post = s.posts[0]!;
  assert.equal(post.url, 'http://127.0.0.1:9095/v1/alarms');
  assert.equal(post.headers.authorization, 'Bearer internal-token-0123456789');
  assert.equal(post.headers['idempotency-key'], 'tocsin-canary-00000000-0000-4000-8000-000000000000-firing');
  assert.deepEqual(JSON.parse(post.body), {
    name: 'TocsinCanary',
    severity: 'info',
    status: 'firing',
    dedup_key: 'tocsin-canary:path:00000000-0000-4000-8000-000000000000',
    summary: 'tocsin heartbeat canary path',
    labels: { team: 'platform', tocsin_canary: 'path', tocsin_canary_run: '00000000-0000-4000-8000-000000000000' },
  });
  assert.equal(s.service.state('path'), 'unknown');

  const startedAt = s.clock.now();
  s.store.notifications.set('ntf_1', { id: 'ntf_1', method: 'hook', alarmId: 'alm_1', state: 'sent', lastError: null, deadReason: null, sentAt: startedAt + 412 });
  s.clock.advance(1000);
  await s.settle();
  assert.deepEqual(s.pings.at(-1), { kind: 'success', rid: '00000000-0000-4000-8000-000000000000', body: 'hook 412 ms' });
  assert.equal(s.service.state('path'), 'ok');
  const row = s.store.saved.get('00000000-0000-4000-8000-000000000000')!;
  assert.equal(row.outcome, 'succeeded');
  assert.equal(row.latencyMs, 412);
  assert.equal(row.stage, 'done');
  s.service.stop();
});

test('an injection the relay refuses (503, disk full) fails the run at once with the reason, redacted', async () => {
  const s = setup({
    answer: () => ({ status: 503, header: () => undefined, bodyExcerpt: JSON.stringify({ error: 'cannot store the alarm now: disk full (token internal-token-0123456789)', code: 'unavailable' }) }),
  });
  s.service.start();
  s.clock.advance(0);
  await s.settle();
  assert.deepEqual(
    s.pings.map((p) => [p.kind, p.body]),
    [
      ['start', ''],
      ['fail', 'injection failed: 503 cannot store the alarm now: disk full (token <secret>)'],
    ],
  );
  assert.deepEqual(s.failures, ['injection']);
  assert.match(s.service.state('path'), /^failing: injection failed: 503/);
  s.service.stop();
});

test('a run left open by a previous process is picked up: success, never a fail for the restart', async () => {
  const now = 1_700_000_000_000;
  const run = { rid: 'r-left', canary: 'path', startedAt: now - 2000, maxLatencyMs: 30_000, resolve: false, stage: 'firing', outcome: 'open', restarts: 0, firingAlarmId: 'alm_x', firingNotificationIds: ['ntf_x'] };
  const row: CanaryRunRow = { rid: 'r-left', canary: 'path', startedAt: run.startedAt, stage: 'firing', firingAlarmId: 'alm_x', resolvedAlarmId: null, outcome: 'open', reason: null, finishedAt: null, latencyMs: null, detail: JSON.stringify(run) };
  const s = setup({ rows: [row] });
  s.store.notifications.set('ntf_x', { id: 'ntf_x', method: 'hook', alarmId: 'alm_x', state: 'pending', lastError: '503 Service Unavailable', deadReason: null, sentAt: null });
  s.service.start();
  s.clock.advance(1000);
  await s.settle();
  assert.ok(!s.pings.some((p) => p.rid === 'r-left'), 'nothing yet: still pending, within max_latency');
  s.store.notifications.set('ntf_x', { id: 'ntf_x', method: 'hook', alarmId: 'alm_x', state: 'sent', lastError: null, deadReason: null, sentAt: now + 1500 });
  s.clock.advance(1000);
  await s.settle();
  assert.deepEqual(s.pings.filter((p) => p.rid === 'r-left'), [{ kind: 'success', rid: 'r-left', body: 'hook 3500 ms' }]);
  s.service.stop();
});

test('max_latency passes with the notification still pending: fail naming the method and its last error', async () => {
  const s = setup();
  s.service.start();
  s.clock.advance(0);
  await s.settle();
  s.store.notifications.set('ntf_1', { id: 'ntf_1', method: 'hook', alarmId: 'alm_1', state: 'pending', lastError: '503 Service Unavailable', deadReason: null, sentAt: null });
  s.clock.advance(31_000);
  await s.settle();
  const fail = s.pings.find((p) => p.kind === 'fail' && p.rid === '00000000-0000-4000-8000-000000000000');
  assert.equal(fail?.body, 'max_latency 30s passed: hook still pending (last error: 503 Service Unavailable)');
  assert.ok(s.failures.includes('max_latency'));
  s.service.stop();
});

test('failure reasons for the metric', () => {
  assert.equal(failureReason('injection failed: 503 disk full'), 'injection');
  assert.equal(failureReason('hook: dead-lettered: 400 Bad Request'), 'dead');
  assert.equal(failureReason('no notification for hook: the canary alarm is not routed to it'), 'not_routed');
  assert.equal(failureReason('max_latency 30s passed: hook still pending'), 'max_latency');
});

test('a run decided but not confirmed (its final ping lost in a crash) pings again after the restart', async () => {
  const now = 1_700_000_000_000;
  const run = { rid: 'r-decided', canary: 'path', startedAt: now - 5000, maxLatencyMs: 30_000, resolve: false, stage: 'reporting', outcome: 'succeeded', restarts: 0, firingAlarmId: 'alm_y', firingNotificationIds: ['ntf_y'], report: 'hook 12 ms', decidedAt: now - 4000 };
  const row: CanaryRunRow = { rid: 'r-decided', canary: 'path', startedAt: run.startedAt, stage: 'reporting', firingAlarmId: 'alm_y', resolvedAlarmId: null, outcome: 'succeeded', reason: null, finishedAt: run.decidedAt, latencyMs: 12, detail: JSON.stringify(run) };
  const s = setup({ rows: [row] });
  s.service.start();
  await s.settle();
  assert.deepEqual(s.pings.filter((p) => p.rid === 'r-decided'), [{ kind: 'success', rid: 'r-decided', body: 'hook 12 ms' }]);
  assert.equal(s.store.saved.get('r-decided')?.stage, 'done');
  s.service.stop();
});

test('the first run waits until delivery runs', async () => {
  let ready = false;
  const s = setup({ deliveryReady: () => ready });
  const { service } = s;
  service.start();
  s.clock.advance(500);
  await s.settle();
  assert.equal(s.posts.length, 0, 'nothing while delivery starts');
  ready = true;
  s.clock.advance(100);
  await s.settle();
  assert.equal(s.posts.length, 1);
  service.stop();
});

test('a wall-clock step moves the open runs with the outbox: no false max_latency', async () => {
  const s = setup();
  s.service.start();
  s.clock.advance(0);
  await s.settle();
  s.store.notifications.set('ntf_1', { id: 'ntf_1', method: 'hook', alarmId: 'alm_1', state: 'pending', lastError: null, deadReason: null, sentAt: null });
  // The outbox's time jumps forward an hour (outbox/rebase), and the runs are told.
  s.clock.t += 3_600_000;
  s.service.shift(3_600_000);
  s.clock.advance(1000);
  await s.settle();
  assert.ok(!s.pings.some((p) => p.kind === 'fail'), 'still within max_latency');
  s.store.notifications.set('ntf_1', { id: 'ntf_1', method: 'hook', alarmId: 'alm_1', state: 'sent', lastError: null, deadReason: null, sentAt: s.clock.now() });
  s.clock.advance(1000);
  await s.settle();
  assert.equal(s.pings.filter((p) => p.kind === 'success').length, 1);
  s.service.stop();
});

test('stopping while an injection is under way is no failure: the run stays injecting, to be posted again at the next start', async () => {
  let answer: (r: HttpResponse | Error) => void = () => {};
  const clock = new FakeClock();
  const store = fakeRuns();
  const pings: string[] = [];
  const service = createCanaryService({
    canaries: () => [canary],
    runs: store.runs,
    pinger: { ping: async (_u, kind) => (pings.push(kind), { ok: true, attempts: 1 }), stop() {} },
    http: () => new Promise((resolve, reject) => (answer = (r) => (r instanceof Error ? reject(r) : resolve(r)))),
    ingestUrl: () => 'http://127.0.0.1:9095',
    token: 't',
    clock,
    scheduler: clock,
    newRid: () => 'r-stop',
    redact: (t) => t,
    retentionMs: () => 1,
    logger: silentLogger,
  });
  service.start();
  clock.advance(0);
  await new Promise<void>((r) => setImmediate(r));
  service.stop();
  answer(new Error('connect ECONNREFUSED 127.0.0.1:9095'));
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  assert.deepEqual(pings, ['start']);
  assert.equal(store.saved.get('r-stop')?.stage, 'injecting-firing');
  assert.equal(store.saved.get('r-stop')?.outcome, 'open');
});

test('an injection that gets no answer is cut off after INJECT_TIMEOUT_MS and fails the run, naming the wait', async () => {
  const s = setup({
    // A listener that takes the request and never answers: only the abort ends it.
    answer: (_req, signal) => new Promise<HttpResponse>((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
  });
  s.service.start();
  s.clock.advance(0);
  await s.settle();
  assert.equal(s.posts.length, 1);
  assert.deepEqual(s.pings.map((p) => p.kind), ['start'], 'nothing decided while the injection waits');
  s.clock.advance(INJECT_TIMEOUT_MS);
  await s.settle();
  const fail = s.pings.find((p) => p.kind === 'fail');
  assert.ok(fail, JSON.stringify(s.pings));
  assert.match(fail.body, /injection failed: no answer within 10 s/);
  assert.deepEqual(s.failures, ['injection']);
  s.service.stop();
});
