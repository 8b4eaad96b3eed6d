import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics, type CheckStatusView, type MonascaSink } from './metrics.ts';
import { metricsRoute } from './metrics-route.ts';
import { canaryMetrics } from '../canary/metrics.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';
import { Secret } from '../lib/secret.ts';
import type { Alarm } from '../domain/alarm.ts';

const alarm: Alarm = {
  id: 'alm_1', source: 'zeebe', name: 'DiskFull', severity: 'critical', status: 'firing', summary: 's',
  labels: {}, annotations: {}, occurredAt: 0, receivedAt: 0, dedupKey: 'k',
};

/** The samples of one metric in the exposition text: `name{labels} value` lines. */
async function samples(metrics: { registry: { metrics(): Promise<string> } }, name: string): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

/** A MonascaSink that records each call. */
function recordingSink(): MonascaSink & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  const rec = (name: string) => (...args: unknown[]) => void calls.push([name, ...args]);
  return {
    calls,
    alarmsFinished: rec('alarmsFinished'),
    alarmsFailedParse: rec('alarmsFailedParse'),
    alarmsNoNotification: rec('alarmsNoNotification'),
    created: rec('created'),
    sent: rec('sent'),
    sentFailed: rec('sentFailed'),
    invalidType: rec('invalidType'),
    deliveryTime: rec('deliveryTime'),
    configDbTime: rec('configDbTime'),
  };
}

test('ingest: alarms by source and outcome; the old per-outcome names still count', async () => {
  const m = createMetrics(() => 0, silentLogger);
  m.ingest.accepted('zeebe', 3, 4);
  m.ingest.duplicate('zeebe', 2);
  m.ingest.unrouted('zeebe', alarm);
  m.ingest.skipped?.('monasca', 'ttl', 5);
  m.rejected('zeebe', 1);
  assert.deepEqual(await samples(m, 'tocsin_alarms_ingested_total'), [
    'tocsin_alarms_ingested_total{source="zeebe",outcome="accepted"} 3',
    'tocsin_alarms_ingested_total{source="zeebe",outcome="duplicate"} 2',
    'tocsin_alarms_ingested_total{source="monasca",outcome="skipped"} 5',
    'tocsin_alarms_ingested_total{source="zeebe",outcome="rejected"} 1',
  ]);
  assert.deepEqual(await samples(m, 'tocsin_alarms_accepted_total'), ['tocsin_alarms_accepted_total{source="zeebe"} 3']);
  assert.deepEqual(await samples(m, 'tocsin_alarms_duplicate_total'), ['tocsin_alarms_duplicate_total{source="zeebe"} 2']);
  assert.deepEqual(await samples(m, 'tocsin_alarms_unrouted_total'), ['tocsin_alarms_unrouted_total{source="zeebe"} 1']);
  assert.deepEqual(await samples(m, 'tocsin_alarms_skipped_total'), ['tocsin_alarms_skipped_total{source="monasca",reason="ttl"} 5']);
  assert.deepEqual(await samples(m, 'tocsin_notifications_enqueued_total'), ['tocsin_notifications_enqueued_total 4']);
});

test('delivery: notifications and attempts by method and outcome, latency per method, dead letters', async () => {
  const m = createMetrics(() => 0, silentLogger);
  m.delivery.attempt('ops', 'sent', 40, false);
  m.delivery.attempt('ops', 'retry', 2000, false);
  m.delivery.attempt('pager', 'permanent', 10, false);
  m.delivery.dead('pager', false);
  m.invalidMethod('gone', 7);
  m.invalidMethod('gone', 0);
  assert.deepEqual(await samples(m, 'tocsin_notifications_total'), [
    'tocsin_notifications_total{method="ops",outcome="sent"} 1',
    'tocsin_notifications_total{method="pager",outcome="dead"} 1',
  ]);
  assert.deepEqual(await samples(m, 'tocsin_delivery_attempts_total'), [
    'tocsin_delivery_attempts_total{method="ops",outcome="sent"} 1',
    'tocsin_delivery_attempts_total{method="ops",outcome="retry"} 1',
    'tocsin_delivery_attempts_total{method="pager",outcome="permanent"} 1',
  ]);
  assert.deepEqual(await samples(m, 'tocsin_notifications_dead_total'), ['tocsin_notifications_dead_total{method="pager"} 1']);
  assert.deepEqual(await samples(m, 'tocsin_notifications_invalid_method_total'), ['tocsin_notifications_invalid_method_total{method="gone"} 7']);
  assert.deepEqual((await samples(m, 'tocsin_delivery_seconds_count')).sort(), [
    'tocsin_delivery_seconds_count{method="ops"} 2',
    'tocsin_delivery_seconds_count{method="pager"} 1',
  ]);
  assert.ok((await samples(m, 'tocsin_delivery_seconds_bucket')).includes('tocsin_delivery_seconds_bucket{le="0.05",method="ops"} 1'));
});

test('StatsD hears the same hooks, in monasca terms, with each method\'s channel type', () => {
  const sink = recordingSink();
  const types: Record<string, string> = { ops: 'webhook', mail: 'email' };
  const m = createMetrics(() => 0, silentLogger, { statsd: sink, methodType: (x) => types[x] });
  m.ingest.accepted('zeebe', 2, 3);
  m.ingest.accepted('zeebe', 1, 0);
  m.ingest.unrouted('zeebe', alarm);
  m.ingest.skipped?.('monasca', 'actions_disabled', 2);
  m.ingest.skipped?.('monasca', 'invalid', 1);
  m.ingest.duplicate('zeebe', 1);
  m.rejected('zeebe', 1);
  m.lifecycleEnqueued(4);
  m.commit(8, 1.5);
  m.delivery.attempt('ops', 'sent', 40, false);
  m.delivery.attempt('mail', 'retry', 300, false);
  m.delivery.attempt('removed', 'permanent', 5, false);
  m.delivery.dead('removed', false);
  m.invalidMethod('removed', 3);
  assert.deepEqual(sink.calls, [
    ['alarmsFinished', 2], ['created', 3],
    ['alarmsFinished', 1],
    ['alarmsNoNotification', 1],
    ['alarmsNoNotification', 2],
    ['alarmsFailedParse', 1],
    ['alarmsFailedParse', 1],
    ['created', 4],
    ['configDbTime', 1.5],
    ['deliveryTime', 'webhook', 40], ['sent', 'webhook'],
    ['deliveryTime', 'email', 300], ['sentFailed', 'email'],
    ['deliveryTime', 'unknown', 5], ['sentFailed', 'unknown'],
    ['invalidType', 3],
  ]);
});

test('a StatsD sink that throws reaches neither ingest nor delivery', async () => {
  const sink = recordingSink();
  sink.alarmsFinished = () => {
    throw new Error('boom');
  };
  const m = createMetrics(() => 0, silentLogger, { statsd: sink });
  assert.doesNotThrow(() => m.ingest.accepted('zeebe', 1, 1));
  assert.deepEqual(await samples(m, 'tocsin_alarms_accepted_total'), ['tocsin_alarms_accepted_total{source="zeebe"} 1']);
});

test('scrape time: outbox depth by method, age of the oldest undelivered notification, dead letters, checks', async () => {
  let t = 100_000;
  let oldest: number | undefined = 40_000;
  let checks: CheckStatusView[] = [{ name: 'backup', status: 'up' }, { name: 'cron', status: 'down' }, { name: 'new-one', status: 'new' }];
  let dead = new Map([['ops', 3]]);
  const m = createMetrics(() => 12, silentLogger, {
    now: () => t,
    oldestPendingCreatedAt: () => oldest,
    undeliveredByMethod: () => new Map([['ops', 10], ['pager', 2]]),
    deadLettersByMethod: () => dead,
    checks: () => checks,
  });
  assert.deepEqual(await samples(m, 'tocsin_notifications_undelivered'), ['tocsin_notifications_undelivered 12']);
  assert.deepEqual(await samples(m, 'tocsin_notifications_undelivered_by_method'), [
    'tocsin_notifications_undelivered_by_method{method="ops"} 10',
    'tocsin_notifications_undelivered_by_method{method="pager"} 2',
  ]);
  assert.deepEqual(await samples(m, 'tocsin_oldest_undelivered_age_seconds'), ['tocsin_oldest_undelivered_age_seconds 60']);
  assert.deepEqual(await samples(m, 'tocsin_dead_letters'), ['tocsin_dead_letters{method="ops"} 3']);
  assert.deepEqual(await samples(m, 'tocsin_check_up'), ['tocsin_check_up{check="backup"} 1', 'tocsin_check_up{check="cron"} 0']);
  assert.deepEqual(await samples(m, 'tocsin_check_status'), [
    'tocsin_check_status{check="backup",status="new"} 0',
    'tocsin_check_status{check="backup",status="up"} 1',
    'tocsin_check_status{check="backup",status="down"} 0',
    'tocsin_check_status{check="backup",status="paused"} 0',
    'tocsin_check_status{check="cron",status="new"} 0',
    'tocsin_check_status{check="cron",status="up"} 0',
    'tocsin_check_status{check="cron",status="down"} 1',
    'tocsin_check_status{check="cron",status="paused"} 0',
    'tocsin_check_status{check="new-one",status="new"} 1',
    'tocsin_check_status{check="new-one",status="up"} 0',
    'tocsin_check_status{check="new-one",status="down"} 0',
    'tocsin_check_status{check="new-one",status="paused"} 0',
  ]);
  // The next scrape reads them again: nothing pending, the dead letters replayed, a check removed.
  t += 5000;
  oldest = undefined;
  dead = new Map();
  checks = [{ name: 'backup', status: 'paused' }];
  assert.deepEqual(await samples(m, 'tocsin_oldest_undelivered_age_seconds'), ['tocsin_oldest_undelivered_age_seconds 0']);
  assert.deepEqual(await samples(m, 'tocsin_dead_letters'), []);
  assert.deepEqual(await samples(m, 'tocsin_check_up'), []);
  assert.equal((await samples(m, 'tocsin_check_status')).filter((l) => l.endsWith(' 1')).join(), 'tocsin_check_status{check="backup",status="paused"} 1');
});

test('scrape time: a read that fails leaves its metric empty and is logged; the rest are served', async () => {
  const warned: Record<string, unknown>[] = [];
  const logger: Logger = { ...silentLogger, warn: (f) => void warned.push(f) };
  const m = createMetrics(() => 1, logger, {
    oldestPendingCreatedAt: () => {
      throw new Error('database is locked');
    },
    deadLettersByMethod: () => new Map([['ops', 1]]),
  });
  const text = await m.registry.metrics();
  assert.match(text, /^# TYPE tocsin_oldest_undelivered_age_seconds gauge$/m);
  assert.match(text, /^tocsin_oldest_undelivered_age_seconds nan$/im, 'NaN rather than a 0 that says there is no backlog');
  assert.match(text, /^tocsin_dead_letters\{method="ops"\} 1$/m);
  assert.deepEqual(warned, [{ metric: 'tocsin_oldest_undelivered_age_seconds', err: 'database is locked' }]);
});

test('scrape time: metrics whose source is not given are not exported', async () => {
  const text = await createMetrics(() => 0, silentLogger).registry.metrics();
  for (const name of ['tocsin_oldest_undelivered_age_seconds', 'tocsin_dead_letters', 'tocsin_check_up', 'tocsin_check_status', 'tocsin_notifications_undelivered_by_method']) {
    assert.ok(!text.includes(`# TYPE ${name} `), name);
  }
});

test('canary: the age of its last success at scrape, on the given clock', async () => {
  const m = createMetrics(() => 0, silentLogger);
  let t = 50_000;
  const canary = canaryMetrics(m.registry, () => t);
  assert.deepEqual(await samples(m, 'tocsin_canary_last_success_age_seconds'), [], 'none before a success');
  canary.succeeded('main', 800, 45_000);
  assert.deepEqual(await samples(m, 'tocsin_canary_last_success_age_seconds'), ['tocsin_canary_last_success_age_seconds{canary="main"} 5']);
  t = 75_000;
  assert.deepEqual(await samples(m, 'tocsin_canary_last_success_age_seconds'), ['tocsin_canary_last_success_age_seconds{canary="main"} 30']);
  assert.deepEqual(await samples(m, 'tocsin_canary_last_success_timestamp_seconds'), ['tocsin_canary_last_success_timestamp_seconds{canary="main"} 45']);
});

test('canary: after a restart the age starts from the stored last success, or from the start when there is none', async () => {
  const m = createMetrics(() => 0, silentLogger);
  let t = 100_000;
  const reads: string[] = [];
  const canary = canaryMetrics(m.registry, () => t, {
    canaries: () => ['stored', 'never'],
    lastSucceededAt: (c) => (reads.push(c), c === 'stored' ? 40_000 : undefined),
  });
  t = 110_000;
  assert.deepEqual(await samples(m, 'tocsin_canary_last_success_age_seconds'), [
    'tocsin_canary_last_success_age_seconds{canary="never"} 10',
    'tocsin_canary_last_success_age_seconds{canary="stored"} 70',
  ]);
  t = 120_000;
  canary.succeeded('never', 5, 119_000);
  assert.deepEqual(await samples(m, 'tocsin_canary_last_success_age_seconds'), [
    'tocsin_canary_last_success_age_seconds{canary="never"} 1',
    'tocsin_canary_last_success_age_seconds{canary="stored"} 80',
  ]);
  assert.deepEqual(reads, ['stored', 'never'], 'the database is read once per canary');
});

test("the heartbeat canary's notifications are counted apart, never in the sources' counts nor StatsD", async () => {
  const told: string[] = [];
  const statsd = new Proxy({}, { get: (_t, name) => () => void told.push(String(name)) }) as never;
  const m = createMetrics(() => 0, silentLogger, { statsd, methodType: () => 'webhook' });
  m.ingest.accepted('canary', 1, 1);
  m.delivery.attempt('sink', 'retry', 30, true);
  m.delivery.attempt('sink', 'sent', 20, true);
  m.delivery.dead('sink', true);
  assert.deepEqual(await samples(m, 'tocsin_canary_notifications_total'), [
    'tocsin_canary_notifications_total{method="sink",outcome="retry"} 1',
    'tocsin_canary_notifications_total{method="sink",outcome="sent"} 1',
    'tocsin_canary_notifications_total{method="sink",outcome="dead"} 1',
  ]);
  for (const name of ['tocsin_notifications_total', 'tocsin_delivery_attempts_total', 'tocsin_notifications_dead_total']) assert.deepEqual(await samples(m, name), [], name);
  assert.deepEqual(await samples(m, 'tocsin_notifications_enqueued_total'), ['tocsin_notifications_enqueued_total 0']);
  assert.deepEqual(await samples(m, 'tocsin_alarms_accepted_total'), ['tocsin_alarms_accepted_total{source="canary"} 1'], 'the alarm is counted, under source="canary"');
  assert.deepEqual(told, [], 'nothing of the canary goes to StatsD');
});

test('canary: run latency, failures by reason, ping errors and skipped runs, per canary', async () => {
  const m = createMetrics(() => 0, silentLogger);
  const canary = canaryMetrics(m.registry, () => 0);
  canary.succeeded('main', 1500, 10_000);
  canary.succeeded('main', 200, 20_000);
  canary.failed('main', 'max_latency');
  canary.failed('main', 'dead');
  canary.failed('main', 'dead');
  canary.pingFailed('main', 'start');
  canary.skipped('main');
  const text = await m.registry.metrics();
  assert.match(text, /^tocsin_canary_run_seconds_count\{canary="main"\} 2$/m);
  assert.match(text, /^tocsin_canary_run_seconds_sum\{canary="main"\} 1\.7$/m);
  assert.match(text, /^tocsin_canary_run_seconds_bucket\{le="0.25",canary="main"\} 1$/m);
  assert.deepEqual(await samples(m, 'tocsin_canary_failures_total'), [
    'tocsin_canary_failures_total{canary="main",reason="max_latency"} 1',
    'tocsin_canary_failures_total{canary="main",reason="dead"} 2',
  ]);
  assert.deepEqual(await samples(m, 'tocsin_canary_ping_errors_total'), ['tocsin_canary_ping_errors_total{canary="main",kind="start"} 1']);
  assert.deepEqual(await samples(m, 'tocsin_canary_runs_skipped_total'), ['tocsin_canary_runs_skipped_total{canary="main"} 1']);
});

// ---- GET /metrics -----------------------------------------------------------------------------------

test('GET /metrics without a token: open, Prometheus text', async () => {
  const m = createMetrics(() => 3, silentLogger);
  const app = metricsRoute({ registry: m.registry, token: () => undefined });
  const res = await app.request('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  assert.match(await res.text(), /^tocsin_notifications_undelivered 3$/m);
});

test('GET /metrics with metrics.token: 401 with the catalogue body unless the bearer token matches', async () => {
  const m = createMetrics(() => 3, silentLogger);
  let token: Secret | undefined = new Secret('scrape-token-1');
  const app = metricsRoute({ registry: m.registry, token: () => token });
  const get = (authorization?: string) => app.request('/metrics', authorization === undefined ? {} : { headers: { authorization } });
  const refused: [string | undefined, string][] = [
    [undefined, 'missing Authorization: Bearer <metrics token>'],
    ['Basic c2NyYXBlOnRva2Vu', 'Authorization must be "Bearer <metrics token>"'],
    ['Bearer scrape-token-2', 'unknown metrics token'],
    ['Bearer scrape-token-', 'unknown metrics token'],
  ];
  for (const [authorization, error] of refused) {
    const res = await get(authorization);
    assert.equal(res.status, 401, String(authorization));
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="tocsin"');
    const body = await res.text();
    assert.deepEqual(JSON.parse(body), { error, code: 'unauthorized' });
    assert.ok(!body.includes('scrape-token-1'), 'the token is never echoed');
  }
  const ok = await get('Bearer scrape-token-1');
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /^tocsin_notifications_undelivered 3$/m);
  assert.equal((await get('bearer   scrape-token-1 ')).status, 200, 'the scheme in any case, spaces around');
  // A reload changes the token: the old one stops working; no token opens it.
  token = new Secret('scrape-token-2');
  assert.equal((await get('Bearer scrape-token-1')).status, 401);
  assert.equal((await get('Bearer scrape-token-2')).status, 200);
  token = undefined;
  assert.equal((await get()).status, 200);
});
