/**
 * A real Alertmanager (Debian's prometheus-alertmanager 0.25) relaying through tocsin: its webhook receiver
 * points at tocsin's POST /v1/alertmanager (send_resolved), and an alert posted to that Alertmanager reaches
 * tocsin's webhook sink, firing and then resolved. And Debian's amtool, pointed at tocsin as if it were an
 * Alertmanager, lists tocsin's firing alarms (GET /api/v2/status, GET /api/v2/alerts).
 * Loopback only, gossip off (`--cluster.listen-address=`), temp dirs, bounded waits, processes stopped by PID.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labelSetFingerprint } from '../../src/ingest/am-fingerprint.ts';
import { cleanups, startPeer } from '../support/peer-process.ts';
import { needs } from '../support/peers.ts';
import { received, startSinkRelay, tokenSource } from '../support/sink-relay.ts';
import { freePort, type RelayProcess } from './relay-process.ts';
import type { WebhookSink } from './webhook-sink.ts';

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const AMTOOL = '/usr/bin/amtool';

interface Peer {
  readonly sink: WebhookSink;
  readonly relay: RelayProcess;
  readonly amUrl: string;
  readonly amOutput: () => string;
}

/**
 * Sink, tocsin (node target) routing everything to it, and an Alertmanager whose webhook receiver is tocsin,
 * authenticated as source `am-lab` (basic auth in the receiver's http_config).
 */
async function start(t: TestContext): Promise<Peer | undefined> {
  if (!needs(t, existsSync(ALERTMANAGER) ? undefined : 'prometheus-alertmanager (apt-get install prometheus-alertmanager)')) return undefined;
  const later = cleanups(t);
  const password = randomBytes(16).toString('hex');
  const basicAuth = `{ basic_auth: { username: alertmanager, password: ${JSON.stringify(password)} } }`;
  const { dir, sink, relay } = await startSinkRelay(later, 'tocsin-am-peer-', { 'am-lab': basicAuth });

  const amPort = await freePort();
  const configFile = join(dir, 'alertmanager.yml');
  writeFileSync(configFile, [
    'global:',
    '  resolve_timeout: 1m',
    'route:',
    '  receiver: tocsin',
    "  group_by: ['...']",
    '  group_wait: 0s',
    '  group_interval: 1s',
    '  repeat_interval: 1h',
    'receivers:',
    '  - name: tocsin',
    '    webhook_configs:',
    `      - url: ${JSON.stringify(`${relay.baseUrl}/v1/alertmanager`)}`,
    '        send_resolved: true',
    '        http_config:',
    '          basic_auth:',
    '            username: alertmanager',
    `            password: ${JSON.stringify(password)}`,
    '',
  ].join('\n'));
  const amUrl = `http://127.0.0.1:${amPort}`;
  const am = await startPeer({
    later,
    file: ALERTMANAGER,
    args: [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
      '--log.level=debug',
    ],
    cwd: dir,
    readyUrl: `${amUrl}/-/ready`,
    readyTimeoutMs: 15_000,
  });
  return { sink, relay, amUrl, amOutput: am.output };
}


async function postToAlertmanager(amUrl: string, alerts: unknown[]): Promise<void> {
  const res = await fetch(`${amUrl}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alerts),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(res.status, 200, await res.text());
}

function amtool(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(AMTOOL, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('an alert posted to a real Alertmanager reaches the sink through tocsin, and so does its resolve', { timeout: 60_000 }, async (t) => {
  const p = await start(t);
  if (!p) return;
  const { sink, amUrl } = p;
  const labels = { alertname: 'TocsinAmPeer', severity: 'critical', instance: 'db-9:9100', run: String(process.pid) };
  const startsAt = new Date(Date.now() - 1000).toISOString();
  await postToAlertmanager(amUrl, [{
    labels,
    annotations: { summary: 'disk almost full on db-9' },
    startsAt,
    endsAt: new Date(Date.now() + 60_000).toISOString(),
    generatorURL: 'http://prometheus.example/graph',
  }]);
  const fired = await sink.waitUntil(() => received(sink, 'TocsinAmPeer').length >= 1, 15_000);
  assert.ok(fired, `no firing notification reached the sink\n--- alertmanager ---\n${p.amOutput().slice(-3000)}\n--- tocsin ---\n${p.relay.stderr().slice(-3000)}`);
  const first = received(sink, 'TocsinAmPeer')[0]!.envelope!.alarm! as Record<string, unknown>;
  assert.equal(first.status, 'firing');
  assert.equal(first.severity, 'critical');
  assert.equal(first.source, 'am-lab'); // the source its token names
  assert.equal(first.summary, 'disk almost full on db-9');
  assert.deepEqual(first.labels, labels);
  assert.equal(first.dedup_key, labelSetFingerprint(labels)); // Alertmanager's own fingerprint
  assert.equal(first.ends_at, undefined); // Alertmanager sends the zero time for a firing alert
  assert.equal(first.occurred_at, startsAt);
  const details = first.details as Record<string, unknown>;
  assert.equal(details.receiver, 'tocsin');
  assert.equal(details.externalURL !== undefined && details.groupKey !== undefined, true, JSON.stringify(details));

  // Ending it: the same alert with endsAt in the past; Alertmanager sends it resolved (send_resolved).
  await postToAlertmanager(amUrl, [{ labels, startsAt, endsAt: new Date(Date.now() - 100).toISOString() }]);
  const resolved = await sink.waitUntil(() => received(sink, 'TocsinAmPeer').some((r) => r.envelope?.alarm?.status === 'resolved'), 15_000);
  assert.ok(resolved, `no resolved notification reached the sink\n--- alertmanager ---\n${p.amOutput().slice(-3000)}`);
  const statuses = received(sink, 'TocsinAmPeer').map((r) => r.envelope!.alarm!.status);
  assert.deepEqual(statuses, ['firing', 'resolved']);
  const last = received(sink, 'TocsinAmPeer')[1]!.envelope!.alarm! as Record<string, unknown>;
  assert.equal(last.dedup_key, first.dedup_key);
});

test('amtool alert query, pointed at tocsin, lists the firing alarms of its source', { timeout: 60_000 }, async (t) => {
  if (!needs(t, existsSync(AMTOOL) ? undefined : 'amtool (apt-get install prometheus-alertmanager)')) return;
  const later = cleanups(t);
  const token = randomBytes(16).toString('hex');
  const otherToken = randomBytes(16).toString('hex');
  const { dir, relay } = await startSinkRelay(later, 'tocsin-amtool-', { prom: tokenSource(token), other: tokenSource(otherToken) });

  const post = async (path: string, bearer: string, body: unknown) => {
    const res = await fetch(`${relay.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 202, await res.text());
  };
  // One alarm the Prometheus way, one of tocsin's own schema (no alertname label), one resolved; one of another source.
  await post('/api/v2/alerts', token, [{ labels: { alertname: 'AmtoolSeesMe', severity: 'warning', job: 'node' }, annotations: { summary: 'seen by amtool' }, startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 600_000).toISOString() }]);
  await post('/v1/alarms', token, { name: 'GenericToo', severity: 'error', summary: 'a tocsin alarm', labels: { team: 'db' } });
  await post('/v1/alarms', token, { name: 'AlreadyOver', status: 'resolved', labels: { team: 'db' } });
  await post('/v1/alarms', otherToken, { name: 'NotMine', labels: { team: 'db' } });

  // amtool's own HTTP client config (Prometheus http_config): the source's bearer token.
  const httpConfig = join(dir, 'amtool-http.yml');
  writeFileSync(httpConfig, `authorization:\n  credentials: ${JSON.stringify(token)}\n`);
  const url = `--alertmanager.url=${relay.baseUrl}`;
  const auth = `--http.config.file=${httpConfig}`;
  const q = await amtool([url, auth, 'alert', 'query']);
  assert.equal(q.code, 0, `amtool failed (${q.code})\n${q.stdout}\n${q.stderr}`);
  assert.match(q.stdout, /AmtoolSeesMe/);
  assert.match(q.stdout, /seen by amtool/);
  assert.match(q.stdout, /GenericToo/);
  assert.doesNotMatch(q.stdout, /AlreadyOver/);
  assert.doesNotMatch(q.stdout, /NotMine/);

  // A matcher (sent as filter=alertname="AmtoolSeesMe"), the extended output (labels, annotations, times), JSON.
  const one = await amtool([url, auth, 'alert', 'query', 'alertname=AmtoolSeesMe']);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /AmtoolSeesMe/);
  assert.doesNotMatch(one.stdout, /GenericToo/);
  const ext = await amtool([url, auth, 'alert', 'query', '-o', 'extended', 'team=db']);
  assert.equal(ext.code, 0, ext.stderr);
  assert.match(ext.stdout, /alertname="GenericToo"/);
  assert.match(ext.stdout, /team="db"/);
  assert.doesNotMatch(ext.stdout, /AmtoolSeesMe/);
  const json = await amtool([url, auth, 'alert', 'query', '-o', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const alerts = JSON.parse(json.stdout) as { labels: Record<string, string>; fingerprint: string }[];
  assert.deepEqual(alerts.map((a) => a.labels.alertname).sort(), ['AmtoolSeesMe', 'GenericToo']);
  const prom = alerts.find((a) => a.labels.alertname === 'AmtoolSeesMe')!;
  assert.equal(prom.fingerprint, labelSetFingerprint({ alertname: 'AmtoolSeesMe', severity: 'warning', job: 'node' }));

  // Without the token: refused (amtool exits non-zero).
  const anon = await amtool([url, 'alert', 'query']);
  assert.notEqual(anon.code, 0, anon.stdout);
});
