/**
 * The pagerduty channel end to end: built from its descriptor (fields, secrets, default templates) with
 * the real undici client, against the strict fake Events API v2 (test/support/fake-pagerduty.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pagerdutyChannel, type PagerDutySettings } from '../../src/channels/pagerduty.ts';
import type { Channel } from '../../src/channels/types.ts';
import type { Alarm } from '../../src/domain/alarm.ts';
import type { Delivery, SendResult } from '../../src/domain/notification.ts';
import { Secret } from '../../src/lib/secret.ts';
import { createRenderer } from '../../src/render/template.ts';
import { createUndiciClient } from '../../src/runtime/http-undici.ts';
import { assertNoSecretLeak } from '../support/channel-kit.ts';
import { startFakePagerDuty, type FakePagerDuty } from '../support/fake-pagerduty.ts';

const KEY = 'e93facc04764012d7bfb002500d5d1a6';
const http = createUndiciClient();
let fake: FakePagerDuty;

before(async () => {
  fake = await startFakePagerDuty();
});
after(async () => {
  await fake.close();
  await http.close();
});

/** The channel as the app builds it: fields (with defaults) and secrets through the descriptor. */
function channel(url: string, key = KEY): Channel {
  const problems: string[] = [];
  const fields = pagerdutyChannel.fields.parse({ ...pagerdutyChannel.defaults, url, client_url: 'https://tocsin.example/' }) as Record<string, unknown>;
  const settings = pagerdutyChannel.settings(fields, { routing_key: new Secret(key) }, (f, m) => void problems.push(`${f}: ${m}`)) as PagerDutySettings;
  assert.deepEqual(problems, []);
  const deps = { http: http.client, clock: { now: () => Date.now() }, writeLine: () => {} };
  return pagerdutyChannel.create('pager', settings, deps, createRenderer(pagerdutyChannel.templates!, {}, 'UTC'));
}

let seq = 0;
function alarm(over: Partial<Alarm> = {}): Alarm {
  seq++;
  return {
    id: `alm_${seq}`, source: 'prometheus', name: 'DiskFull', severity: 'critical', status: 'firing', summary: 'Disk almost full',
    labels: { host: 'db-1' }, annotations: { runbook: 'https://runbooks.example/disk' },
    occurredAt: Date.now() - 1000, receivedAt: Date.now(), dedupKey: `disk-db-1-${seq}`, ...over,
  };
}
const delivery = (a: Alarm): Delivery => ({ notificationId: `ntf_${a.id}`, attempt: 1, method: 'pager', createdAt: Date.now(), remoteRefs: {}, alarms: [a] });
const send = (c: Channel, a: Alarm): Promise<SendResult> => c.send(delivery(a), AbortSignal.timeout(5000));

test('a trigger opens an incident and the resolve closes it, with the same dedup key', async () => {
  const pager = channel(fake.url);
  const firing = alarm();
  assert.deepEqual(await send(pager, firing), { outcome: 'sent', status: 202 });
  const incident = fake.openIncident(firing.dedupKey, KEY);
  assert.ok(incident, 'the trigger opened an incident');
  assert.equal(incident.status, 'triggered');
  assert.equal(incident.payload.summary, '[critical] DiskFull: Disk almost full');
  assert.equal(incident.payload.source, 'db-1');
  assert.deepEqual(fake.requests.at(-1)!.event!.links, [{ href: 'https://runbooks.example/disk', text: 'runbook' }]);
  // A second trigger (a retry, or the alarm firing again) adds to the open incident.
  assert.deepEqual(await send(pager, firing), { outcome: 'sent', status: 202 });
  assert.deepEqual(await send(pager, { ...firing, status: 'resolved' }), { outcome: 'sent', status: 202 });
  assert.equal(fake.openIncident(firing.dedupKey), undefined);
  assert.equal(incident.status, 'resolved');
  assert.deepEqual(incident.actions, ['trigger', 'trigger', 'resolve']);
  // Firing again after the resolve opens a new incident.
  assert.deepEqual(await send(pager, firing), { outcome: 'sent', status: 202 });
  assert.notEqual(fake.openIncident(firing.dedupKey), incident);
  assert.deepEqual(fake.violations, []);
});

test('a resolve for a key with no open incident is accepted (202) and changes nothing', async () => {
  const before = fake.incidents.length;
  assert.deepEqual(await send(channel(fake.url), alarm({ status: 'resolved' })), { outcome: 'sent', status: 202 });
  assert.equal(fake.incidents.length, before);
  assert.deepEqual(fake.violations, []);
});

test('PagerDuty\'s errors: 400 permanent with its errors, 429 retry with Retry-After, 5xx retry; none ingested', async () => {
  const pager = channel(fake.url);
  const a = alarm();
  fake.fail(
    { status: 400, errors: ['Invalid routing key'] },
    { status: 429, retryAfter: '20' },
    { status: 429 },
    { status: 500 },
    { status: 503, retryAfter: '5' },
  );
  assert.deepEqual(await send(pager, a), { outcome: 'permanent', status: 400, error: 'HTTP 400: Event object is invalid: Invalid routing key' });
  assert.deepEqual(await send(pager, a), {
    outcome: 'retry', status: 429, retryAfterMs: 20_000, error: 'HTTP 429: Requests for this service are arriving too quickly. Please retry later.',
  });
  assert.deepEqual(await send(pager, a), { outcome: 'retry', status: 429, error: 'HTTP 429: Requests for this service are arriving too quickly. Please retry later.' });
  assert.deepEqual(await send(pager, a), { outcome: 'retry', status: 500, error: 'HTTP 500: Internal server error' });
  assert.deepEqual(await send(pager, a), { outcome: 'retry', status: 503, retryAfterMs: 5000, error: 'HTTP 503: Service unavailable' });
  assert.equal(fake.openIncident(a.dedupKey), undefined);
  // The retry that finally gets through opens it.
  assert.deepEqual(await send(pager, a), { outcome: 'sent', status: 202 });
  assert.ok(fake.openIncident(a.dedupKey));
  assert.deepEqual(fake.violations, []);
});

test('the routing key is in no error text, even when the peer echoes the whole request', async () => {
  const pager = channel(fake.url);
  fake.fail({ status: 400, echo: true }, { status: 429, echo: true }, { status: 500, echo: true });
  for (const expected of [400, 429, 500]) {
    const r = await send(pager, alarm());
    assert.equal(r.status, expected);
    const error = r.outcome === 'sent' ? '' : r.error;
    assert.ok(fake.requests.at(-1)!.body.includes(KEY), 'the key was sent');
    assert.match(error, /received: .*"routing_key":"<secret>"/, `${expected}: the echo reached the error text, redacted`);
    assertNoSecretLeak([KEY], { errorText: error });
  }
  // No PagerDuty listening at all.
  const gone = await startFakePagerDuty();
  await gone.close();
  const r = await send(channel(gone.url), alarm());
  assert.equal(r.outcome, 'retry');
  assertNoSecretLeak([KEY], { errorText: r.outcome === 'retry' ? r.error : '' });
  assert.deepEqual(fake.violations, []);
});

test('an alarm with over 512 KB of details reaches PagerDuty with custom_details visibly truncated', async () => {
  const a = alarm({ details: { log: 'x'.repeat(700_000) } });
  assert.deepEqual(await send(channel(fake.url), a), { outcome: 'sent', status: 202 });
  const got = fake.requests.at(-1)!;
  assert.ok(got.bytes <= 512_000, String(got.bytes));
  assert.match(got.event!.payload.custom_details.truncated, /removed: the event was \d+ bytes, over PagerDuty's 512000-byte limit/);
  assert.ok(fake.openIncident(a.dedupKey));
  assert.deepEqual(fake.violations, []);
});

test('the fake is strict: what PagerDuty would refuse is a 400 and a violation', async () => {
  const strict = await startFakePagerDuty();
  try {
    const post = async (body: string, contentType = 'application/json', path = '/v2/enqueue') => {
      const res = await fetch(`${strict.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
      return [res.status, await res.json()] as const;
    };
    const good = { routing_key: KEY, event_action: 'trigger', dedup_key: 'k', payload: { summary: 's', source: 'h', severity: 'info' } };
    assert.deepEqual(await post(JSON.stringify(good)), [202, { status: 'success', message: 'Event processed', dedup_key: 'k' }]);
    assert.equal(strict.violations.length, 0);
    const cases: [unknown, string][] = [
      [{ ...good, routing_key: 'short' }, 'routing_key must be 32 letters and digits'],
      [{ ...good, event_action: 'open' }, 'event_action must be trigger, acknowledge or resolve'],
      [{ ...good, dedup_key: 'd'.repeat(256) }, 'dedup_key must be a string of 1 to 255 characters'],
      [{ ...good, event_action: 'resolve', dedup_key: undefined }, 'dedup_key is required for acknowledge and resolve'],
      [{ ...good, payload: { ...good.payload, summary: ' ' } }, "'payload.summary' is missing or blank"],
      [{ ...good, payload: { ...good.payload, summary: 's'.repeat(1025) } }, 'payload.summary is 1025 characters, over 1024'],
      [{ ...good, payload: { ...good.payload, severity: 'high' } }, 'payload.severity must be critical, error, warning or info'],
      [{ ...good, payload: { ...good.payload, timestamp: 'yesterday' } }, 'payload.timestamp must be an ISO 8601 time'],
      [{ ...good, links: [{ text: 'no href' }] }, 'links[0].href must be an http(s) URL'],
    ];
    for (const [event, problem] of cases) {
      const [status, body] = await post(JSON.stringify(event));
      assert.equal(status, 400, problem);
      assert.deepEqual(body, { status: 'invalid event', message: 'Event object is invalid', errors: [problem] });
      assert.ok(strict.violations.at(-1)!.endsWith(`: ${problem}`), strict.violations.at(-1));
    }
    assert.deepEqual(await post('{'), [400, { status: 'Unrecognized object', message: 'Event object format is unrecognized', errors: ['JSON parse error'] }]);
    assert.equal((await post(JSON.stringify(good), 'text/plain'))[0], 400);
    assert.equal((await post(JSON.stringify(good), 'application/json', '/v2/enqueue/'))[0], 404);
    assert.equal((await post(JSON.stringify({ ...good, extra: 1 })))[0], 202, 'an unknown field: accepted, but a violation');
    assert.equal(strict.violations.length, cases.length + 4);
    assert.ok(strict.violations.at(-1)!.endsWith('unknown field extra'), strict.violations.at(-1));
  } finally {
    await strict.close();
  }
});
