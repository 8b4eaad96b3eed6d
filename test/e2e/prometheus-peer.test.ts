/**
 * A real Prometheus (Debian's prometheus 2.42) with tocsin as its Alertmanager (`alerting.alertmanagers`,
 * api_version v2, POST /api/v2/alerts): rules evaluated every second, firing alerts re-sent every second
 * (`--rules.alert.resend-delay=1s`) with a moving endsAt. Each alert reaches tocsin's webhook sink exactly
 * once while it keeps firing for 20 s. Then one alert stops firing (the series its rule reads, scraped from
 * this test, drops to 0: Prometheus sends it with endsAt in the past) and the other rule is removed from the
 * rule file and Prometheus reloaded (Prometheus sends nothing more for it: its endsAt passing resolves it in
 * tocsin); each is notified resolved, once.
 *
 * Why the first one does not stop by a reload: Debian's Prometheus 2.42 drops what it sends for about 5 s
 * after a reload, longer than the endsAt it gives (4 resend delays, 4 s here), so tocsin would resolve it by
 * expiry before Prometheus's own resolve arrived, and that resolve would not be what is tested.
 * Loopback only, temp dirs, bounded waits, processes stopped by PID.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labelSetFingerprint } from '../../src/ingest/am-fingerprint.ts';
import { cleanups, sleep, startPeer } from '../support/peer-process.ts';
import { needs } from '../support/peers.ts';
import { received, startSinkRelay, tokenSource } from '../support/sink-relay.ts';
import { freePort } from './relay-process.ts';
import type { WebhookSink } from './webhook-sink.ts';

const PROMETHEUS = '/usr/bin/prometheus';
const FIRING_FOR_MS = 20_000;

/** A rule file: each rule `[alertname, expr]`, with a severity label and a summary. */
function rules(list: readonly (readonly [string, string])[]): string {
  return [
    'groups:',
    '  - name: tocsin-peer',
    '    interval: 1s',
    '    rules:',
    ...list.flatMap(([name, expr]) => [
      `      - alert: ${name}`,
      `        expr: ${JSON.stringify(expr)}`,
      '        labels:',
      '          severity: critical',
      '        annotations:',
      `          summary: ${JSON.stringify(`${name} from a real Prometheus`)}`,
    ]),
    '',
  ].join('\n');
}

const statuses = (sink: WebhookSink, name: string) => received(sink, name).map((r) => r.envelope!.alarm!.status);

test('a real Prometheus with tocsin as its Alertmanager: once while firing, then resolved (stopped firing, and rule removed)', { timeout: 60_000 }, async (t) => {
  if (!needs(t, existsSync(PROMETHEUS) ? undefined : 'prometheus (apt-get install prometheus)')) return;
  const later = cleanups(t);
  // Authenticated as source prom-lab: Prometheus sends the bearer token of its alertmanagers' `authorization`.
  const token = randomBytes(16).toString('hex');
  const { dir, sink, relay } = await startSinkRelay(later, 'tocsin-prom-peer-', { 'prom-lab': tokenSource(token) });

  // The series the first rule reads, scraped by Prometheus every second: 1 until the test sets it to 0.
  let value = 1;
  const metrics = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`# TYPE tocsin_peer_test_firing gauge\ntocsin_peer_test_firing ${value}\n`);
  });
  await new Promise<void>((r) => metrics.listen(0, '127.0.0.1', () => r()));
  later(() => new Promise<void>((r) => { metrics.closeAllConnections(); metrics.close(() => r()); }));
  const metricsTarget = `127.0.0.1:${(metrics.address() as AddressInfo).port}`;

  const STOPS = 'TocsinStopsFiring';
  const REMOVED = 'TocsinRuleRemoved';
  const rulesFile = join(dir, 'rules.yml');
  writeFileSync(rulesFile, rules([[STOPS, 'tocsin_peer_test_firing > 0'], [REMOVED, 'vector(1)']]));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    `  - ${JSON.stringify(rulesFile)}`,
    'scrape_configs:',
    '  - job_name: tocsin-peer',
    '    static_configs:',
    `      - targets: ['${metricsTarget}']`,
    'alerting:',
    '  alertmanagers:',
    '    - api_version: v2',
    '      authorization:',
    `        credentials: ${JSON.stringify(token)}`,
    '      static_configs:',
    `        - targets: ['127.0.0.1:${relay.port}']`,
    '',
  ].join('\n'));
  const promPort = await freePort();
  const promUrl = `http://127.0.0.1:${promPort}`;
  const prom = await startPeer({
    later,
    file: PROMETHEUS,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'prom-data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--rules.alert.resend-delay=1s',
      '--web.enable-lifecycle',
    ],
    cwd: dir,
    readyUrl: `${promUrl}/-/ready`,
    readyTimeoutMs: 20_000,
  });
  const diag = () => `\n--- prometheus ---\n${prom.output().slice(-3000)}\n--- tocsin ---\n${relay.stderr().slice(-3000)}`;

  // Prometheus drops what it sends for about 5 s after it starts; then both alerts arrive.
  const fired = await sink.waitUntil(() => received(sink, STOPS).length >= 1 && received(sink, REMOVED).length >= 1, 20_000);
  assert.ok(fired, `the firing alerts did not reach the sink${diag()}`);
  const first = received(sink, STOPS)[0]!.envelope!.alarm! as Record<string, unknown>;
  const labels = { alertname: STOPS, instance: metricsTarget, job: 'tocsin-peer', severity: 'critical' };
  assert.deepEqual(first.labels, labels); // the series' labels and the rule's
  assert.equal(first.dedup_key, labelSetFingerprint(labels));
  assert.equal(first.source, 'prom-lab');
  assert.equal(first.severity, 'critical');
  assert.equal(first.summary, `${STOPS} from a real Prometheus`);
  assert.ok(Date.parse(String(first.ends_at)) > Date.parse(String(first.occurred_at)));

  // Both keep firing (re-sent every second with a moving endsAt): still one notification each.
  await sleep(FIRING_FOR_MS);
  for (const n of [STOPS, REMOVED]) assert.deepEqual(statuses(sink, n), ['firing'], `${n}${diag()}`);
  const firing = await (await fetch(`${relay.baseUrl}/v1/alarms?state=firing`, { headers: { authorization: `Bearer ${token}` } })).json() as { alarms: { alarm: { name: string }; count: number }[] };
  for (const n of [STOPS, REMOVED]) {
    const s = firing.alarms.find((a) => a.alarm.name === n);
    assert.ok(s && s.count >= 10, `${n}: Prometheus should have re-sent it many times; the state counts ${JSON.stringify(s?.count)}`);
  }

  // The first stops firing: Prometheus sends it with endsAt in the past, and that is what tocsin notifies.
  value = 0;
  assert.ok(await sink.waitUntil(() => statuses(sink, STOPS).includes('resolved'), 15_000), `${STOPS} not resolved${diag()}`);
  const done = received(sink, STOPS).find((r) => r.envelope?.alarm?.status === 'resolved')!.envelope!.alarm! as Record<string, unknown>;
  assert.equal(done.occurred_at, first.occurred_at); // Prometheus's startsAt: its own resolve, not tocsin's expiry
  assert.ok(Date.parse(String(done.ends_at)) <= Date.now());
  assert.deepEqual(statuses(sink, REMOVED), ['firing']);

  // The second rule is removed: Prometheus sends nothing more for it; its endsAt passing resolves it.
  writeFileSync(rulesFile, rules([[STOPS, 'tocsin_peer_test_firing > 0']]));
  const reload = await fetch(`${promUrl}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  assert.equal(reload.status, 200, await reload.text());
  assert.ok(await sink.waitUntil(() => statuses(sink, REMOVED).includes('resolved'), 15_000), `${REMOVED} not resolved${diag()}`);

  await sleep(2000); // Prometheus keeps re-sending the resolved alert: repeats, not notifications
  for (const n of [STOPS, REMOVED]) assert.deepEqual(statuses(sink, n), ['firing', 'resolved'], n);
});
