import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import type { Delivery } from '../domain/notification.ts';
import { ConfigError, parseConfig } from '../config/parse.ts';
import { redact, Secret, secretsIn } from '../lib/secret.ts';
import { assertNoSecretLeak, checkStatusTable, fakeReceiver, type ScriptStep } from '../../test/support/channel-kit.ts';
import type { ChannelDeps, HttpClient, HttpRequest } from './types.ts';
import { basicAuth } from './http.ts';
import { buildWebhookRequest, createWebhookChannel, type WebhookSettings } from './webhook.ts';

const NOW = Date.parse('2024-03-01T12:00:00.500Z');
const SIGNING = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const delivery: Delivery = {
  notificationId: 'ntf_01HQ00000000000000000000',
  attempt: 2,
  method: 'ops-hook',
  createdAt: NOW - 60_000,
  remoteRefs: {},
  alarms: [{
    id: 'alm_01HQ00000000000000000000',
    source: 'zeebe',
    name: 'IncidentCreated',
    severity: 'error',
    status: 'firing',
    summary: 'Job failed',
    labels: { env: 'prod' },
    annotations: {},
    occurredAt: Date.parse('2024-03-01T11:59:00Z'),
    receivedAt: Date.parse('2024-03-01T11:59:01Z'),
    dedupKey: 'abc123',
    details: { key: '2251799813685249' },
  }],
};

const EXPECTED_BODY =
  '{"version":"1","notification_id":"ntf_01HQ00000000000000000000","attempt":2,"method":"ops-hook",' +
  '"alarm":{"id":"alm_01HQ00000000000000000000","source":"zeebe","name":"IncidentCreated","severity":"error",' +
  '"status":"firing","summary":"Job failed","description":null,"labels":{"env":"prod"},"annotations":{},' +
  '"occurred_at":"2024-03-01T11:59:00.000Z","received_at":"2024-03-01T11:59:01.000Z","dedup_key":"abc123",' +
  '"details":{"key":"2251799813685249"}}}';

function cfg(url: string, extra: Partial<WebhookSettings> = {}): WebhookSettings {
  return { url: new Secret(url), headers: {}, ...extra };
}

/** The Standard Webhooks verification algorithm, written independently of signing.ts. */
function verify(secret: string, h: Record<string, string | undefined>, body: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key).update(`${h['webhook-id']}.${h['webhook-timestamp']}.${body}`).digest('base64');
  return (h['webhook-signature'] ?? '').split(' ').includes(`v1,${mac}`);
}

test('request shape: method, url, every header, exact body', () => {
  const r = buildWebhookRequest(cfg('https://h.example/hook?k=1'), delivery, NOW);
  assert.equal(r.method, 'POST');
  assert.equal(r.url, 'https://h.example/hook?k=1');
  assert.equal(r.body, EXPECTED_BODY);
  assert.deepEqual(r.headers, {
    'content-type': 'application/json',
    'user-agent': 'tocsin',
    'idempotency-key': 'ntf_01HQ00000000000000000000',
  });
  assert.equal(buildWebhookRequest(cfg('https://h.example/'), delivery, NOW, 'tocsin/1.2.3').headers['user-agent'], 'tocsin/1.2.3');
});

test('bearer token, custom headers, and Standard Webhooks signature', () => {
  const c = cfg('https://h.example/hook', {
    headers: { 'X-Team': 'ops', Authorization: 'Basic overridden', 'Webhook-Id': 'nope' },
    bearerToken: new Secret('tok-123456'),
    signingSecret: new Secret(SIGNING),
  });
  const r = buildWebhookRequest(c, delivery, NOW);
  assert.deepEqual(Object.keys(r.headers).sort(), [
    'authorization', 'content-type', 'idempotency-key', 'user-agent', 'webhook-id', 'webhook-signature', 'webhook-timestamp', 'x-team',
  ]);
  assert.equal(r.headers['x-team'], 'ops');
  assert.equal(r.headers['authorization'], 'Bearer tok-123456');
  assert.equal(r.headers['webhook-id'], delivery.notificationId);
  assert.equal(r.headers['webhook-timestamp'], '1709294400');
  assert.match(r.headers['webhook-signature']!, /^v1,[A-Za-z0-9+/]{43}=$/);
  assert.ok(verify(SIGNING, r.headers, r.body));
  assert.ok(!verify(SIGNING, r.headers, r.body.replace('prod', 'dev')));
  // webhook-id is stable across retries; the timestamp follows the clock.
  const later = buildWebhookRequest(c, { ...delivery, attempt: 3 }, NOW + 90_000);
  assert.equal(later.headers['webhook-id'], delivery.notificationId);
  assert.equal(later.headers['webhook-timestamp'], '1709294490');
  assert.ok(verify(SIGNING, later.headers, later.body));
});

/** Basic credentials in a URL: a password with reserved and non-ASCII characters, percent-encoded. */
const USER = 'relay@ops';
const PASSWORD = 'p@ss:w/rd ü-31415';
const USERINFO = `${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}`;
/** `Basic` + base64 of "relay@ops:p@ss:w/rd ü-31415" in UTF-8, worked out by hand. */
const BASIC = 'Basic cmVsYXlAb3BzOnBAc3M6dy9yZCDDvC0zMTQxNQ==';

test('userinfo: sent as Authorization: Basic (percent-decoded), and taken out of the URL', () => {
  const r = buildWebhookRequest(cfg(`https://${USERINFO}@h.example/hook?k=1`), delivery, NOW);
  assert.equal(r.url, 'https://h.example/hook?k=1');
  assert.equal(r.headers['authorization'], BASIC);
  assert.deepEqual(Object.keys(r.headers).sort(), ['authorization', 'content-type', 'idempotency-key', 'user-agent']);
  // Explicit Basic credentials take the place of those in the URL; a bearer token replaces either.
  const explicit = buildWebhookRequest(cfg(`https://${USERINFO}@h.example/`, { basicAuth: basicAuth('ops', 'hunter2-hunter2') }), delivery, NOW);
  assert.equal(explicit.headers['authorization'], `Basic ${Buffer.from('ops:hunter2-hunter2').toString('base64')}`);
  assert.equal(explicit.url, 'https://h.example/');
  const bearer = buildWebhookRequest(cfg(`https://${USERINFO}@h.example/`, { bearerToken: new Secret('tok-123456') }), delivery, NOW);
  assert.equal(bearer.headers['authorization'], 'Bearer tok-123456');
  const custom = buildWebhookRequest(cfg('https://h.example/', { basicAuth: basicAuth('ops', 'pw-1234'), headers: { Authorization: 'Custom x' } }), delivery, NOW);
  assert.equal(custom.headers['authorization'], `Basic ${Buffer.from('ops:pw-1234').toString('base64')}`);
});

/** The webhook method `x` parsed from YAML (with `extra` settings), or the config's issue lines. */
function parseHook(extra: string): WebhookSettings | string[] {
  try {
    return parseConfig(`methods: { x: { type: webhook, ${extra} } }`, {}, () => '').methods.x!.settings as WebhookSettings;
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
}

test('config: userinfo with a second Authorization (bearer_token, an Authorization header) or bad percent-encoding is an error', () => {
  const url = `url: "https://${USERINFO}@h.example/"`;
  const cases: [string, string][] = [
    [`${url}, bearer_token: tok-123456`, 'methods.x.bearer_token: cannot be used with a user name or password in url (each sets the Authorization header): remove one of them'],
    [`${url}, headers: { AUTHORIZATION: "Basic abcd" }`, 'methods.x.headers.AUTHORIZATION: cannot be used with a user name or password in url (each sets the Authorization header): remove one of them'],
    [
      'url: "https://u:p%zz-secret@h.example/"',
      'methods.x.url: the user name or password in the URL is not valid percent-encoding: write each reserved character of the user name and password as %XX',
    ],
  ];
  for (const [yaml, issue] of cases) assert.deepEqual(parseHook(yaml), [issue], yaml);
  // Without userinfo, a bearer token still replaces an Authorization header (as documented).
  assert.ok(!Array.isArray(parseHook('url: "https://h.example/", bearer_token: tok-123456, headers: { Authorization: x }')));
});

test('config: the settings carry the userinfo credentials as secrets, so every redaction finds them in every form', () => {
  const settings = parseHook(`url: "https://${USERINFO}@h.example/"`);
  assert.ok(!Array.isArray(settings), String(settings));
  assert.equal(buildWebhookRequest(settings, delivery, NOW).headers['authorization'], BASIC);
  const echoed = `${BASIC} ${PASSWORD} ${encodeURIComponent(PASSWORD)} ${USER}:${PASSWORD}`;
  assert.equal(redact(echoed, secretsIn(settings)), 'Basic <secret> <secret> <secret> <secret>');
});

// ---- body: monasca (monasca-notification's webhook plugin body) ----

const readFixture = (name: string) => JSON.parse(readFileSync(new URL(`../../test/fixtures/monasca/${name}`, import.meta.url), 'utf8'));
/** Unedited from monasca-notification's tests/test_webhook_notification.py (via ../shared/fixtures/monasca). */
const MONASCA_ALARM = readFixture('webhook-test-alarm.json');
const MONASCA_EXPECTED = readFixture('webhook-test-expected-body.json');

/** `delivery` with one alarm as the monasca ingest format builds it from the fixture (details: the transition). */
function monascaDelivery(details: Delivery['alarms'][number]['details']): Delivery {
  const t = MONASCA_ALARM['alarm-transitioned'];
  return {
    ...delivery,
    alarms: [{
      id: 'alm_01HQ00000000000000000001',
      source: 'monasca',
      name: t.alarmName,
      severity: 'info',
      status: 'firing',
      summary: t.stateChangeReason,
      description: t.alarmDescription,
      labels: { hostname: 'foo1', service: 'bar1', tenant_id: '0', alarm_definition_id: '0', alarm_id: '0' },
      annotations: { new_state: 'ALARM', old_state: 'OK' },
      occurredAt: t.timestamp,
      receivedAt: t.timestamp + 1000,
      dedupKey: 'monasca:0',
      ...(details !== undefined && { details }),
    }],
  };
}

test('body monasca: the exact body monasca-notification\'s webhook plugin POSTs for its own test alarm', () => {
  const c = cfg('https://h.example/hook', { body: 'monasca' });
  // details as the inner alarm-transitioned object, and as the whole message: the same body.
  for (const details of [MONASCA_ALARM['alarm-transitioned'], MONASCA_ALARM]) {
    const r = buildWebhookRequest(c, monascaDelivery(details), NOW);
    assert.deepEqual(JSON.parse(r.body), MONASCA_EXPECTED);
    assert.deepEqual(Object.keys(JSON.parse(r.body)).sort(), Object.keys(MONASCA_EXPECTED).sort());
    // Same headers as with the envelope (monasca sends content-type application/json too).
    assert.deepEqual(r.headers, { 'content-type': 'application/json', 'user-agent': 'tocsin', 'idempotency-key': delivery.notificationId });
  }
  // alarmDefinitionId 0 stays the number 0 (not the label's "0"); alarm_timestamp is whole seconds.
  const body = JSON.parse(buildWebhookRequest(c, monascaDelivery(MONASCA_ALARM), NOW).body);
  assert.equal(body.alarm_definition_id, 0);
  assert.equal(body.alarm_timestamp, 1429023453);
  // A signature covers the monasca body as sent.
  const signed = buildWebhookRequest({ ...c, signingSecret: new Secret(SIGNING) }, monascaDelivery(MONASCA_ALARM), NOW);
  assert.ok(verify(SIGNING, signed.headers, signed.body));
});

test('body monasca: fields the message lacks come from the alarm; a null in the message is sent as null', () => {
  const { alarmDescription: _d, metrics: _m, ...partial } = MONASCA_ALARM['alarm-transitioned'];
  const body = JSON.parse(buildWebhookRequest(cfg('https://h.example/', { body: 'monasca' }), monascaDelivery({ ...partial, oldState: null }), NOW).body);
  assert.deepEqual(body, {
    ...MONASCA_EXPECTED,
    alarm_description: 'test Alarm description',
    old_state: null,
    metrics: [{ dimensions: { hostname: 'foo1', service: 'bar1', tenant_id: '0', alarm_definition_id: '0', alarm_id: '0' } }],
  });
});

test('body monasca: an alarm from another source gets the documented 10-field mapping', () => {
  const c = cfg('https://h.example/', { body: 'monasca' });
  // `delivery` is a Zeebe alarm: its details are not a monasca message.
  assert.deepEqual(JSON.parse(buildWebhookRequest(c, delivery, NOW).body), {
    alarm_id: 'abc123',
    alarm_definition_id: null,
    alarm_name: 'IncidentCreated',
    alarm_description: '',
    alarm_timestamp: 1709294340,
    state: 'ALARM',
    old_state: 'OK',
    message: 'Job failed',
    tenant_id: null,
    metrics: [{ dimensions: { env: 'prod' } }],
  });
  const a = delivery.alarms[0]!;
  const resolved: Delivery = {
    ...delivery,
    alarms: [{ ...a, status: 'resolved', summary: undefined, description: 'the job', occurredAt: a.occurredAt + 1999, labels: { tenant_id: 't1', alarm_id: 'x-1' }, details: { tenantId: 'camunda', alarmId: 'not-monasca' } }],
  };
  assert.deepEqual(JSON.parse(buildWebhookRequest(c, resolved, NOW).body), {
    alarm_id: 'x-1',
    alarm_definition_id: null,
    alarm_name: 'IncidentCreated',
    alarm_description: 'the job',
    alarm_timestamp: 1709294341,
    state: 'OK',
    old_state: 'ALARM',
    message: 'IncidentCreated',
    tenant_id: 't1',
    metrics: [{ dimensions: { tenant_id: 't1', alarm_id: 'x-1' } }],
  });
});

test('body monasca: a notification with several alarms cannot be sent in it (permanent, nothing sent)', async () => {
  const two: Delivery = { ...delivery, alarms: [delivery.alarms[0]!, delivery.alarms[0]!] };
  const c = cfg('https://h.example/', { body: 'monasca' });
  assert.throws(() => buildWebhookRequest(c, two, NOW), /body monasca carries exactly one alarm, this notification has 2/);
  // The envelope carries them all.
  assert.equal(JSON.parse(buildWebhookRequest(cfg('https://h.example/'), two, NOW).body).alarms.length, 2);
  const receiver = fakeReceiver([]);
  const r = await createWebhookChannel('ops-hook', c, { http: receiver.client, clock: { now: () => NOW }, writeLine: () => {} }).send(two, new AbortController().signal);
  receiver.assertDone();
  assert.deepEqual(r, { outcome: 'permanent', error: 'cannot build request: body monasca carries exactly one alarm, this notification has 2' });
});

test('config: body is tocsin (the default) or monasca, nothing else', () => {
  const url = 'url: "https://h.example/"';
  const dflt = parseHook(url);
  assert.ok(!Array.isArray(dflt));
  assert.equal(dflt.body, 'tocsin');
  assert.equal(buildWebhookRequest(dflt, delivery, NOW).body, EXPECTED_BODY);
  const monasca = parseHook(`${url}, body: monasca`);
  assert.ok(!Array.isArray(monasca));
  assert.equal(monasca.body, 'monasca');
  for (const bad of ['envelope', 'Monasca', '1']) {
    assert.deepEqual(parseHook(`${url}, body: ${bad}`), ['methods.x.body: must be one of: tocsin, monasca'], bad);
  }
});

// ---- end to end against a real node:http server ----

const fetchClient: HttpClient = async (req, signal) => {
  const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body, signal });
  const text = await res.text();
  return { status: res.status, header: (n) => res.headers.get(n) ?? undefined, bodyExcerpt: text.slice(0, 1024) };
};

interface Seen { url: string; headers: Record<string, string | undefined>; body: string }
const seen: Seen[] = [];
const RETRY_DATE = new Date(NOW + 45_000).toUTCString();

function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
  seen.push({ url: req.url ?? '', headers: req.headers as Record<string, string | undefined>, body });
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const reply = (status: number, text = '', headers: Record<string, string> = {}): void => {
    res.writeHead(status, headers).end(text);
  };
  switch (path) {
    case '/ok': return reply(200, 'ok');
    case '/busy': return reply(503, 'busy', { 'retry-after': '7' });
    case '/limited': return reply(429, 'slow down', { 'retry-after': RETRY_DATE });
    case '/missing': return reply(404, '<html>\n  <h1>Not   Found</h1>\n</html>');
    case '/bad': return reply(400, '{"error":"invalid payload"}');
    case '/slow': return void setTimeout(() => reply(200, 'late'), 5000).unref();
    case '/echo-header': return reply(401, `bad key ${req.headers['x-api-key']}`);
    case '/echo-basic': return reply(401, `denied: auth=${req.headers.authorization}`);
    case '/echo': return reply(500, `denied: auth=${req.headers.authorization} url=${req.url} full=http://${req.headers.host}${req.url}`);
    default: return reply(500);
  }
}

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (body += c));
  req.on('end', () => handle(req, res, body));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => {
  server.closeAllConnections();
  server.close();
});

const deps: ChannelDeps = { http: fetchClient, clock: { now: () => NOW }, writeLine: () => {} };
const send = (c: WebhookSettings, signal = new AbortController().signal) =>
  createWebhookChannel('ops-hook', c, deps).send(delivery, signal);

test('e2e 200 → sent; the server receives the exact body and a verifiable signature', async () => {
  seen.length = 0;
  const r = await send(cfg(`${base}/ok`, { signingSecret: new Secret(SIGNING), bearerToken: new Secret('tok-e2e-1') }));
  assert.deepEqual(r, { outcome: 'sent', status: 200 });
  const s = seen[0]!;
  assert.equal(s.body, EXPECTED_BODY);
  assert.equal(s.headers['content-type'], 'application/json');
  assert.equal(s.headers['authorization'], 'Bearer tok-e2e-1');
  assert.equal(s.headers['idempotency-key'], delivery.notificationId);
  assert.ok(verify(SIGNING, s.headers, s.body));
});

test('e2e body monasca: the server receives monasca\'s body for monasca\'s test alarm', async () => {
  seen.length = 0;
  const r = await createWebhookChannel('ops-hook', cfg(`${base}/ok`, { body: 'monasca' }), deps).send(monascaDelivery(MONASCA_ALARM), new AbortController().signal);
  assert.deepEqual(r, { outcome: 'sent', status: 200 });
  assert.equal(seen[0]!.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(seen[0]!.body), MONASCA_EXPECTED);
});

test('e2e 503 with Retry-After: 7 → retry after 7000 ms', async () => {
  assert.deepEqual(await send(cfg(`${base}/busy`)), { outcome: 'retry', status: 503, error: 'HTTP 503: busy', retryAfterMs: 7000 });
});

test('e2e 429 with an HTTP-date Retry-After → retry after the date', async () => {
  assert.deepEqual(await send(cfg(`${base}/limited`)), { outcome: 'retry', status: 429, error: 'HTTP 429: slow down', retryAfterMs: 44_500 });
  // (HTTP-dates have whole seconds; the clock is at .500)
});

test('e2e 404 → permanent with the body excerpt', async () => {
  assert.deepEqual(await send(cfg(`${base}/missing`)), { outcome: 'permanent', status: 404, error: 'HTTP 404: <html> <h1>Not Found</h1> </html>' });
});

test('e2e 400 → permanent', async () => {
  assert.deepEqual(await send(cfg(`${base}/bad`)), { outcome: 'permanent', status: 400, error: 'HTTP 400: {"error":"invalid payload"}' });
});

test('e2e connection refused (closed port) → retry', async () => {
  const tmp = createServer();
  await new Promise<void>((resolve) => tmp.listen(0, '127.0.0.1', resolve));
  const port = (tmp.address() as AddressInfo).port;
  await new Promise<void>((resolve) => tmp.close(() => resolve()));
  assert.deepEqual(await send(cfg(`http://127.0.0.1:${port}/x`)), { outcome: 'retry', error: 'connection refused (ECONNREFUSED)' });
});

test('e2e slow server + deadline → retry (timeout)', async () => {
  const r = await send(cfg(`${base}/slow`), AbortSignal.timeout(150));
  assert.deepEqual(r, { outcome: 'retry', error: 'timeout after request deadline' });
});

test('e2e a 500 echoing the bearer token and URL secrets leaks neither', async () => {
  const token = 'tok-very-secret-42';
  const qs = 'qs-secret-value-99';
  const r = await send(cfg(`${base}/echo?api_key=${qs}`, { bearerToken: new Secret(token) }));
  assert.equal(r.outcome, 'retry');
  assert.equal(r.status, 500);
  const error = r.outcome === 'retry' ? r.error : '';
  assert.match(error, /^HTTP 500: denied: auth=Bearer <secret> url=/);
  assertNoSecretLeak([token, qs, `${base}/echo?api_key=${qs}`], { errorText: error });
});

test('e2e a 401 echoing a custom header value (an API key) does not leak it', async () => {
  const key = 'sk-live-SUPERSECRET42';
  const r = await send(cfg(`${base}/echo-header`, { headers: { 'X-Api-Key': key } }));
  assert.equal(r.outcome, 'permanent');
  const error = r.outcome === 'permanent' ? r.error : '';
  assert.equal(error, 'HTTP 401: bad key <secret>');
  assertNoSecretLeak([key], { errorText: error });
});

test('e2e userinfo: the server gets the Basic header (Node\'s fetch would refuse such a URL), and its echo leaks nothing', async () => {
  seen.length = 0;
  const url = `${base.replace('//', `//${USERINFO}@`)}/echo-basic`;
  const r = await send(cfg(url));
  assert.equal(seen[0]?.headers['authorization'], BASIC);
  assert.deepEqual(r, { outcome: 'permanent', status: 401, error: 'HTTP 401: denied: auth=Basic <secret>' });
  const error = r.outcome === 'permanent' ? r.error : '';
  assertNoSecretLeak([PASSWORD, `${USER}:${PASSWORD}`, url], { errorText: error });
});

// ---- the shared HTTP channel contract (test/support/channel-kit.ts) ----

const fakeDeps = (http: HttpClient): ChannelDeps => ({ http, clock: { now: () => NOW }, writeLine: () => {} });

test('status table: the webhook classifies every status and network error like every HTTP channel', async () => {
  await checkStatusTable((http) => createWebhookChannel('ops-hook', cfg('https://h.example/hook'), fakeDeps(http)), delivery);
});

test('a receiver echoing the URL secret, the bearer token and a custom header value (500 body, network error) leaks none', async () => {
  const qs = 'qs-Secret-Value-7781';
  const token = 'tok-Bearer-Value-5523';
  const apiKey = 'sk-Header-Value-9034';
  const settings = cfg(`https://h.example/hook?api_key=${qs}`, { bearerToken: new Secret(token), headers: { 'X-Api-Key': apiKey } });
  const echo = (req: HttpRequest) => `url=${req.url} auth=${req.headers['authorization']} key=${req.headers['x-api-key']} all=${JSON.stringify(req.headers)}`;
  const steps: [string, ScriptStep][] = [
    ['500 body', (req) => ({ status: 500, body: echo(req) })],
    ['network error', (req) => ({ throws: new TypeError(`fetch failed: ${echo(req)}`) })],
  ];
  for (const [what, step] of steps) {
    const receiver = fakeReceiver([step]);
    const r = await createWebhookChannel('ops-hook', settings, fakeDeps(receiver.client)).send(delivery, new AbortController().signal);
    receiver.assertDone();
    const sent = receiver.requests[0]!;
    assert.ok(sent.url.includes(qs) && sent.headers['authorization'] === `Bearer ${token}` && sent.headers['x-api-key'] === apiKey, `${what}: the receiver got every secret to echo`);
    assert.equal(r.outcome, 'retry', what);
    const error = r.outcome === 'retry' ? r.error : '';
    assert.match(error, /<secret>/, `${what}: the echo reached the error text, redacted`);
    assertNoSecretLeak([qs, token, apiKey], { errorText: error });
  }
});

test('userinfo that is not valid percent-encoding: a permanent failure that quotes none of it', async () => {
  const receiver = fakeReceiver([]);
  const r = await createWebhookChannel('ops-hook', cfg('https://u:p%zz-secret@h.example/'), fakeDeps(receiver.client)).send(delivery, new AbortController().signal);
  receiver.assertDone();
  assert.deepEqual(r, { outcome: 'permanent', error: 'cannot build request: the user name or password in the URL is not valid percent-encoding' });
});
