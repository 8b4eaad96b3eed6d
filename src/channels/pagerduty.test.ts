import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alarm } from '../domain/alarm.ts';
import type { Delivery } from '../domain/notification.ts';
import { Secret } from '../lib/secret.ts';
import { checkTemplates, createRenderer } from '../render/template.ts';
import { assertNoSecretLeak, checkStatusTable, fakeReceiver, type ScriptStep } from '../../test/support/channel-kit.ts';
import { checkEvent } from '../../test/support/fake-pagerduty.ts';
import type { ChannelDeps, HttpClient, HttpRequest } from './types.ts';
import {
  buildPagerDutyRequest, checkRoutingKey, createPagerDutyChannel, enqueueUrl, MAX_EVENT_BYTES, PAGERDUTY_TEMPLATES, pagerdutyChannel,
  pagerDutyDedupKey, pagerDutyErrorText, pagerDutyLinks, pagerDutySource, type PagerDutySettings,
} from './pagerduty.ts';

const NOW = Date.parse('2024-03-01T12:00:00.500Z');
const KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const settings: PagerDutySettings = { routingKey: new Secret(KEY), url: 'https://events.pagerduty.com', client: 'tocsin', clientUrl: 'https://tocsin.example/' };

const alarm: Alarm = {
  id: 'alm_01HQ00000000000000000000',
  source: 'prometheus',
  name: 'DiskFull',
  severity: 'error',
  status: 'firing',
  summary: 'Disk almost full',
  description: '/var is 97% full',
  labels: { host: 'db-1', env: 'prod' },
  annotations: { runbook: 'https://runbooks.example/disk', owner: 'team-db' },
  occurredAt: Date.parse('2024-03-01T11:59:00Z'),
  receivedAt: Date.parse('2024-03-01T11:59:01Z'),
  dedupKey: 'c0ffee00c0ffee00c0ffee00c0ffee00',
  details: { mount: '/var' },
};

const delivery = (alarms: readonly Alarm[] = [alarm]): Delivery => ({
  notificationId: 'ntf_01HQ00000000000000000000', attempt: 1, method: 'pager', createdAt: NOW - 60_000, remoteRefs: {}, alarms,
});
const resolved: Alarm = { ...alarm, status: 'resolved', occurredAt: Date.parse('2024-03-01T12:10:00Z') };

const DETAILS =
  '"custom_details":{"notification_id":"ntf_01HQ00000000000000000000","alarm_id":"alm_01HQ00000000000000000000","source":"prometheus",' +
  '"summary":"Disk almost full","description":"/var is 97% full","labels":{"host":"db-1","env":"prod"},' +
  '"annotations":{"runbook":"https://runbooks.example/disk","owner":"team-db"},"details":{"mount":"/var"}}';
const TAIL = '"links":[{"href":"https://runbooks.example/disk","text":"runbook"}],"client":"tocsin","client_url":"https://tocsin.example/"}';
const FIRING_BODY =
  `{"routing_key":"${KEY}","event_action":"trigger","dedup_key":"c0ffee00c0ffee00c0ffee00c0ffee00",` +
  '"payload":{"summary":"[error] DiskFull: Disk almost full","source":"db-1","severity":"error","timestamp":"2024-03-01T11:59:00.000Z",' +
  `"class":"DiskFull",${DETAILS}},${TAIL}`;
const RESOLVED_BODY =
  `{"routing_key":"${KEY}","event_action":"resolve","dedup_key":"c0ffee00c0ffee00c0ffee00c0ffee00",` +
  '"payload":{"summary":"[resolved] DiskFull: Disk almost full","source":"db-1","severity":"error","timestamp":"2024-03-01T12:10:00.000Z",' +
  `"class":"DiskFull",${DETAILS}},${TAIL}`;

const renderer = () => createRenderer(PAGERDUTY_TEMPLATES, {}, 'UTC');
const deps = (http: HttpClient): ChannelDeps => ({ http, clock: { now: () => NOW }, writeLine: () => {} });
const ACCEPTED = { status: 202, body: '{"status":"success","message":"Event processed","dedup_key":"c0ffee00c0ffee00c0ffee00c0ffee00"}' };

/** Sends through the channel (default templates) to a fake receiver answering `steps`; returns the result and requests. */
async function send(d: Delivery, steps: ScriptStep[] = [ACCEPTED], cfg = settings, r = renderer()) {
  const receiver = fakeReceiver(steps);
  const result = await createPagerDutyChannel('pager', cfg, deps(receiver.client), r).send(d, new AbortController().signal);
  receiver.assertDone();
  return { result, requests: receiver.requests };
}

test('golden: a firing alarm is a trigger event, exactly', async () => {
  const req = buildPagerDutyRequest(settings, { title: '[error] DiskFull: Disk almost full' }, delivery());
  assert.equal(req.method, 'POST');
  assert.equal(req.url, 'https://events.pagerduty.com/v2/enqueue');
  assert.deepEqual(req.headers, { 'content-type': 'application/json', 'user-agent': 'tocsin' });
  assert.equal(req.body, FIRING_BODY);
  // The channel renders the default title template to the same request.
  const { result, requests } = await send(delivery());
  assert.deepEqual(result, { outcome: 'sent', status: 202 });
  assert.equal(requests[0]!.body, FIRING_BODY);
  assert.deepEqual(checkEvent(JSON.parse(FIRING_BODY)), { invalid: [], notes: [] });
});

test('golden: a resolved alarm is a resolve event with the same dedup_key, exactly', async () => {
  assert.equal(buildPagerDutyRequest(settings, { title: '[resolved] DiskFull: Disk almost full' }, delivery([resolved])).body, RESOLVED_BODY);
  const { requests } = await send(delivery([resolved]));
  assert.equal(requests[0]!.body, RESOLVED_BODY);
  assert.deepEqual(checkEvent(JSON.parse(RESOLVED_BODY)), { invalid: [], notes: [] });
});

test('minimal alarm: no summary, description, details, links or client_url; the summary falls back to the name', () => {
  const bare: Alarm = { ...alarm, summary: undefined, description: undefined, details: undefined, annotations: {}, labels: {} };
  const cfg: PagerDutySettings = { routingKey: new Secret(KEY), url: 'https://events.eu.pagerduty.com/', client: 'tocsin' };
  const req = buildPagerDutyRequest(cfg, { title: '  ' }, delivery([bare]));
  assert.equal(req.url, 'https://events.eu.pagerduty.com/v2/enqueue');
  assert.deepEqual(JSON.parse(req.body), {
    routing_key: KEY, event_action: 'trigger', dedup_key: alarm.dedupKey,
    payload: {
      summary: 'DiskFull', source: 'prometheus', severity: 'error', timestamp: '2024-03-01T11:59:00.000Z', class: 'DiskFull',
      custom_details: { notification_id: 'ntf_01HQ00000000000000000000', alarm_id: alarm.id, source: 'prometheus', labels: {}, annotations: {} },
    },
    client: 'tocsin',
  });
});

test('severity maps 1:1; status maps to event_action', () => {
  for (const severity of ['critical', 'error', 'warning', 'info'] as const) {
    for (const [status, action] of [['firing', 'trigger'], ['resolved', 'resolve']] as const) {
      const event = JSON.parse(buildPagerDutyRequest(settings, { title: 't' }, delivery([{ ...alarm, severity, status }])).body);
      assert.equal(event.payload.severity, severity);
      assert.equal(event.event_action, action);
    }
  }
});

test('source: the host, hostname or instance label, else the alarm\'s source', () => {
  assert.equal(pagerDutySource({ ...alarm, labels: { instance: 'i:9100', hostname: 'h1', host: 'db-1' } }), 'db-1');
  assert.equal(pagerDutySource({ ...alarm, labels: { instance: 'i:9100', hostname: 'h1' } }), 'h1');
  assert.equal(pagerDutySource({ ...alarm, labels: { instance: 'i:9100', host: ' ' } }), 'i:9100');
  assert.equal(pagerDutySource({ ...alarm, labels: { env: 'prod' } }), 'prometheus');
});

test('links: every annotation whose value is an http(s) URL, named by the annotation', () => {
  assert.deepEqual(
    pagerDutyLinks({ runbook: 'https://runbooks.example/disk', note: 'see https://x.example', dashboard: ' http://grafana.example/d/1?x=1 ', ftp: 'ftp://x.example/', bad: 'https://', owner: 'team-db' }),
    [{ href: 'https://runbooks.example/disk', text: 'runbook' }, { href: 'http://grafana.example/d/1?x=1', text: 'dashboard' }],
  );
  assert.deepEqual(pagerDutyLinks({}), []);
  assert.equal(JSON.parse(buildPagerDutyRequest(settings, { title: 't' }, delivery([{ ...alarm, annotations: { owner: 'x' } }])).body).links, undefined);
});

test('summary: cut to 1024 characters with a visible …, never splitting a surrogate pair', async () => {
  const cut = JSON.parse(buildPagerDutyRequest(settings, { title: 'x'.repeat(5000) }, delivery()).body).payload.summary;
  assert.equal(cut, `${'x'.repeat(1023)}…`);
  const emoji = JSON.parse(buildPagerDutyRequest(settings, { title: `${'x'.repeat(1022)}🚨🚨` }, delivery()).body).payload.summary;
  assert.equal(emoji, `${'x'.repeat(1022)}…`);
  assert.equal(JSON.parse(buildPagerDutyRequest(settings, { title: 'y'.repeat(1024) }, delivery()).body).payload.summary, 'y'.repeat(1024));
  // Through the default template: a long alarm summary.
  const { requests } = await send(delivery([{ ...alarm, summary: 'z'.repeat(3000) }]));
  const summary: string = JSON.parse(requests[0]!.body).payload.summary;
  assert.equal(summary.length, 1024);
  assert.ok(summary.startsWith('[error] DiskFull: zzz') && summary.endsWith('z…'));
});

test('dedup_key: kept up to 255 characters; longer ones shortened the same way every time', () => {
  assert.equal(pagerDutyDedupKey('k'.repeat(255)), 'k'.repeat(255));
  const long = 'k'.repeat(300);
  const short = pagerDutyDedupKey(long);
  assert.ok(short.length <= 255, String(short.length));
  assert.match(short, /^k{180}…sha256:[0-9a-f]{64}$/);
  assert.equal(pagerDutyDedupKey(long), short);
  assert.notEqual(pagerDutyDedupKey(`${long}x`), short);
  const event = JSON.parse(buildPagerDutyRequest(settings, { title: 't' }, delivery([{ ...resolved, dedupKey: long }])).body);
  assert.equal(event.dedup_key, short);
});

test('512 KB: oversized custom_details are replaced by a visible note; then links go; beyond that, a permanent failure', async () => {
  const big: Alarm = { ...alarm, details: { blob: 'b'.repeat(600_000) } };
  const body = buildPagerDutyRequest(settings, { title: 't' }, delivery([big])).body;
  assert.ok(new TextEncoder().encode(body).length <= MAX_EVENT_BYTES);
  const event = JSON.parse(body);
  assert.match(event.payload.custom_details.truncated, /^custom_details \(\d{6} bytes\) removed: the event was \d{6} bytes, over PagerDuty's 512000-byte limit$/);
  assert.deepEqual(Object.keys(event.payload.custom_details), ['truncated', 'notification_id', 'alarm_id']);
  assert.equal(event.payload.custom_details.alarm_id, alarm.id);
  assert.equal(event.payload.summary, 't');
  assert.deepEqual(event.links, [{ href: 'https://runbooks.example/disk', text: 'runbook' }]);
  assert.deepEqual(checkEvent(event).invalid, []);
  // Multi-byte text counts in bytes, not characters.
  const wide = buildPagerDutyRequest(settings, { title: 't' }, delivery([{ ...alarm, details: { blob: 'é'.repeat(300_000) } }])).body;
  assert.ok(JSON.parse(wide).payload.custom_details.truncated);
  // Just under the limit: sent whole.
  const fits = buildPagerDutyRequest(settings, { title: 't' }, delivery([{ ...alarm, details: { blob: 'b'.repeat(500_000) } }])).body;
  assert.equal(JSON.parse(fits).payload.custom_details.details.blob.length, 500_000);
  // Huge link annotations: the links go too.
  const links = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`l${i}`, `https://x.example/${'p'.repeat(100_000)}`]));
  const noLinks = JSON.parse(buildPagerDutyRequest(settings, { title: 't' }, delivery([{ ...alarm, annotations: links }])).body);
  assert.equal(noLinks.links, undefined);
  assert.ok(noLinks.payload.custom_details.truncated);
  // A source label that alone is too large: nothing is sent.
  const { result } = await send(delivery([{ ...alarm, labels: { host: 'h'.repeat(600_000) } }]), []);
  assert.equal(result.outcome, 'permanent');
  assert.match(result.outcome === 'permanent' ? result.error : '', /^cannot build request: the event is \d+ bytes even without custom_details and links, over PagerDuty's 512000-byte limit$/);
});

test('several alarms: one event for the first; the others listed in custom_details.other_alarms', async () => {
  const other: Alarm = { ...alarm, id: 'alm_2', name: 'DiskSlow', severity: 'warning', dedupKey: 'k2', summary: undefined };
  const { requests } = await send(delivery([alarm, other]));
  const event = JSON.parse(requests[0]!.body);
  assert.equal(event.dedup_key, alarm.dedupKey);
  assert.equal(event.payload.summary, '[error] DiskFull: Disk almost full (+1 more)');
  assert.deepEqual(event.payload.custom_details.other_alarms, [{ alarm_id: 'alm_2', name: 'DiskSlow', severity: 'warning', status: 'firing', dedup_key: 'k2' }]);
});

test('status table: PagerDuty\'s answers and the shared contract', async () => {
  const make = (http: HttpClient) => createPagerDutyChannel('pager', settings, deps(http), renderer());
  const invalid = '{"status":"invalid event","message":"Event object is invalid","errors":["Invalid routing key"]}';
  await checkStatusTable(make, delivery(), {
    successBody: ACCEPTED.body,
    extraRows: [
      { name: 'PagerDuty 202', answer: ACCEPTED, outcome: 'sent' },
      { name: 'PagerDuty 400 invalid event', answer: { status: 400, body: invalid }, outcome: 'permanent' },
      { name: 'PagerDuty 429', answer: { status: 429, body: '{"status":"throttle event","message":"Requests for this service are arriving too quickly."}' }, outcome: 'retry' },
      { name: 'PagerDuty 429 Retry-After: 30', answer: { status: 429, headers: { 'Retry-After': '30' }, body: '' }, outcome: 'retry', retryAfterMs: 30_000 },
      { name: 'PagerDuty 500', answer: { status: 500, body: '{"status":"error","message":"Internal server error"}' }, outcome: 'retry' },
      { name: 'PagerDuty 503', answer: { status: 503, body: '' }, outcome: 'retry' },
    ],
  });
  // The error text is PagerDuty's message and errors, not raw JSON.
  const { result } = await send(delivery(), [{ status: 400, body: invalid }]);
  assert.deepEqual(result, { outcome: 'permanent', status: 400, error: 'HTTP 400: Event object is invalid: Invalid routing key' });
});

test('PagerDuty error bodies become "message: errors"; other text stays as it is', () => {
  assert.equal(pagerDutyErrorText('{"status":"invalid event","message":"Event object is invalid","errors":["a","b"]}'), 'Event object is invalid: a, b');
  assert.equal(pagerDutyErrorText('{"status":"throttle event","message":"slow down"}'), 'slow down');
  assert.equal(pagerDutyErrorText('{"status":"Unrecognized object"}'), 'Unrecognized object');
  for (const text of ['', 'upstream down', '[1]', 'null', '{"x":1}', '{"message":"cut off']) assert.equal(pagerDutyErrorText(text), text);
});

test('a template that throws: permanent, nothing sent', async () => {
  const broken = createRenderer(PAGERDUTY_TEMPLATES, { title: '<%= it.alarm.nope.deeper %>' }, 'UTC');
  const { result, requests } = await send(delivery(), [], settings, broken);
  assert.equal(requests.length, 0);
  assert.equal(result.outcome, 'permanent');
  assert.match(result.outcome === 'permanent' ? result.error : '', /^template error in title: line 1: .*deeper/);
});

test('the routing key never reaches an error text, whatever the receiver echoes', async () => {
  const echo = (req: HttpRequest) => `body=${req.body}`;
  const steps: [string, ScriptStep][] = [
    ['400 echo', (req) => ({ status: 400, body: JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors: [echo(req)] }) })],
    ['500 echo', (req) => ({ status: 500, body: echo(req) })],
    // Whitespace collapses in the excerpt: the client's 1 KiB cut falls in the middle of the key.
    ['429 echo, cut at 1 KiB inside the key', (req) => ({ status: 429, body: `${' '.repeat(987)}${echo(req)}` })],
    ['network error', (req) => ({ throws: new TypeError(`fetch failed: ${echo(req)}`) })],
  ];
  for (const [what, step] of steps) {
    const { result, requests } = await send(delivery(), [step]);
    assert.ok(requests[0]!.body.includes(KEY), `${what}: the key was sent`);
    assert.notEqual(result.outcome, 'sent', what);
    const error = result.outcome === 'sent' ? '' : result.error;
    assert.match(error, /<secret>/, `${what}: the echo reached the error text, redacted`);
    assertNoSecretLeak([KEY], { errorText: error });
  }
});

test('descriptor: defaults, URL checks, routing key check, templates that pass the startup check', () => {
  const problems: string[] = [];
  const problem = (field: string, message: string) => void problems.push(`${field}: ${message}`);
  const fields = pagerdutyChannel.fields.parse({ url: 'https://events.pagerduty.com', client: 'tocsin' }) as Record<string, unknown>;
  const s = pagerdutyChannel.settings(fields, { routing_key: new Secret(KEY) }, problem) as PagerDutySettings;
  assert.deepEqual(problems, []);
  assert.deepEqual({ ...s, routingKey: s.routingKey.reveal() }, { routingKey: KEY, url: 'https://events.pagerduty.com', client: 'tocsin' });
  assert.deepEqual(pagerdutyChannel.defaults, { url: 'https://events.pagerduty.com', client: 'tocsin' });
  pagerdutyChannel.settings({ url: 'ftp://x', client: 'c', client_url: 'nope' }, { routing_key: new Secret(KEY) }, problem);
  assert.deepEqual(problems, ['url: must be an http(s) URL', 'client_url: must be an http(s) URL']);
  assert.equal(checkRoutingKey(KEY), undefined);
  assert.equal(checkRoutingKey('R0123456789abcdefABCDEF012345678'), undefined);
  for (const bad of ['short', `${KEY}0`, `${KEY.slice(0, 31)}-`]) {
    assert.equal(checkRoutingKey(bad), 'must be the 32-character integration key of an Events API v2 integration');
  }
  assert.deepEqual(pagerdutyChannel.secrets.routing_key?.required, true);
  assert.deepEqual(checkTemplates(PAGERDUTY_TEMPLATES, {}, 'UTC'), []);
  assert.equal(pagerdutyChannel.create('pager', s, deps(fakeReceiver([]).client), renderer()).remoteRefs, undefined);
});

test('enqueue URL: /v2/enqueue appended to the base (its path and query kept), unless already there', () => {
  assert.equal(enqueueUrl('https://events.pagerduty.com'), 'https://events.pagerduty.com/v2/enqueue');
  assert.equal(enqueueUrl('https://events.eu.pagerduty.com/'), 'https://events.eu.pagerduty.com/v2/enqueue');
  assert.equal(enqueueUrl('http://127.0.0.1:8080/pd//?x=1'), 'http://127.0.0.1:8080/pd/v2/enqueue?x=1');
  assert.equal(enqueueUrl('https://events.pagerduty.com/v2/enqueue'), 'https://events.pagerduty.com/v2/enqueue');
});
