/**
 * The slack channel end to end: made from its descriptor (settings, templates, create) as the app makes
 * it, sending over real HTTP (the Node runtime's undici client) to a strict local fake of a Slack
 * incoming webhook (test/support/fake-slack.ts).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { slackChannel } from '../../src/channels/slack.ts';
import type { Channel } from '../../src/channels/types.ts';
import type { Alarm } from '../../src/domain/alarm.ts';
import type { Delivery, SendResult } from '../../src/domain/notification.ts';
import { Secret } from '../../src/lib/secret.ts';
import { createRenderer } from '../../src/render/template.ts';
import { createUndiciClient } from '../../src/runtime/http-undici.ts';
import { assertNoSecretLeak } from '../support/channel-kit.ts';
import { SLACK_ERRORS, startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';

const NOW = Date.parse('2024-03-01T12:00:00Z');
const http = createUndiciClient();
const fake = await startFakeSlack();
after(async () => {
  await fake.close();
  await http.close();
});

/** The channel for a webhook URL, built as the app builds it: settings, then create with the renderer. */
function slack(url: string): Channel {
  const settings = slackChannel.settings({}, { url: new Secret(url) }, (field, message) => assert.fail(`${field}: ${message}`));
  const renderer = createRenderer(slackChannel.templates!, {}, 'UTC');
  return slackChannel.create('chat', settings, { http: http.client, clock: { now: () => NOW }, writeLine: () => {} }, renderer);
}

const ALARM: Alarm = {
  id: 'alm_01HQ00000000000000000000', source: 'prometheus', name: 'DiskFull', severity: 'critical', status: 'firing',
  summary: 'Disk /var on db-1 is 95% full', description: 'Writes fail at 100%.', labels: { instance: 'db-1:9100' },
  annotations: { runbook_url: 'https://runbooks.example/disk' }, occurredAt: NOW - 60_000, receivedAt: NOW - 59_000, dedupKey: 'disk:db-1',
};
const delivery = (...alarms: Alarm[]): Delivery => ({
  notificationId: 'ntf_01HQ00000000000000000000', attempt: 1, method: 'chat', createdAt: NOW, remoteRefs: {}, alarms,
});
const send = (d: Delivery, url = fake.url()): Promise<SendResult> => slack(url).send(d, AbortSignal.timeout(5000));
/** The last request the fake got, its JSON body. */
const lastMessage = () => fake.requests.at(-1)!.json as { text: string; blocks?: { text: { text: string } }[]; attachments: { color: string; blocks: unknown[] }[] };

test('a firing and then a resolved alarm are posted, and Slack would take both', async () => {
  assert.deepEqual(await send(delivery(ALARM)), { outcome: 'sent', status: 200 });
  const firing = lastMessage();
  assert.equal(firing.blocks?.[0]?.text.text, '🚨 FIRING: DiskFull');
  assert.equal(firing.text, '🚨 FIRING [critical] DiskFull: Disk /var on db-1 is 95% full');
  assert.equal(firing.attachments[0]!.color, '#B80D0D');

  assert.deepEqual(await send(delivery({ ...ALARM, status: 'resolved' })), { outcome: 'sent', status: 200 });
  const resolved = lastMessage();
  assert.equal(resolved.blocks?.[0]?.text.text, '✅ RESOLVED: DiskFull');
  assert.equal(resolved.attachments[0]!.color, '#2EB67D');

  const [a, b] = fake.requests.slice(-2);
  for (const r of [a!, b!]) {
    assert.equal(r.method, 'POST');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['user-agent'], 'tocsin');
  }
  assert.deepEqual(fake.violations, []);
});

test('a notification with many alarms stays within Slack\'s limits', async () => {
  const many = Array.from({ length: 30 }, (_, i) => ({ ...ALARM, name: `Disk${i}`.padEnd(200, 'x'), description: 'd'.repeat(4000) }));
  assert.deepEqual(await send(delivery(...many)), { outcome: 'sent', status: 200 });
  assert.equal(lastMessage().attachments[0]!.blocks.length, 21);
  assert.deepEqual(fake.violations, []);
});

test('each documented Slack error maps to its outcome, and the error text never holds the URL or its token', async () => {
  // 4xx: retrying cannot help; 429 (with its Retry-After) and 5xx: retried.
  const retried = new Set(['rate_limited', 'rollup_error']);
  for (const [code, answer] of Object.entries(SLACK_ERRORS)) {
    fake.answerNext(answer);
    assert.deepEqual(await send(delivery(ALARM)), {
      outcome: retried.has(code) ? 'retry' : 'permanent',
      status: answer.status,
      error: `HTTP ${answer.status}: ${code}`,
      ...(code === 'rate_limited' && { retryAfterMs: 30_000 }),
    }, code);
  }
  // A Slack (or a proxy in front of it) that echoes the URL: redacted.
  fake.answerNext({ status: 404, body: `no_service: ${fake.url()}` }, { status: 200, body: `moved to ${fake.url()}` });
  for (const outcome of ['permanent', 'permanent']) {
    const r = await send(delivery(ALARM));
    assert.equal(r.outcome, outcome);
    const error = r.outcome === 'sent' ? '' : r.error;
    assert.match(error, /<secret>/);
    assertNoSecretLeak([fake.url(), fake.token], { errorText: error });
  }
  assert.deepEqual(fake.violations, []);
});

test('a wrong webhook path: Slack\'s 404 no_service, permanent, and the URL is not in the error', async () => {
  const before = fake.violations.length;
  const wrong = `${fake.origin}/services/T0TOCSIN01/B0TOCSIN02/WrongTokenWrongToken1234`;
  const r = await send(delivery(ALARM), wrong);
  assert.deepEqual(r, { outcome: 'permanent', status: 404, error: 'HTTP 404: no_service' });
  assert.deepEqual(fake.violations.slice(before), [`POST /services/T0TOCSIN01/B0TOCSIN02/WrongTokenWrongToken1234: not the webhook's path (Slack: 404 no_service)`]);
});

test('the fake is strict: a message Slack would refuse is answered 400 invalid_payload and recorded', async () => {
  const before = fake.violations.length;
  const post = async (body: string, type = 'application/json') => {
    const res = await fetch(fake.url(), { method: 'POST', headers: { 'content-type': type }, body });
    return [res.status, await res.text()];
  };
  assert.deepEqual(await post(JSON.stringify({ blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }] })), [400, 'invalid_payload']);
  assert.deepEqual(await post(JSON.stringify({ text: 't', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) })), [400, 'invalid_payload']);
  assert.deepEqual(await post(JSON.stringify({ attachments: [{ color: 'red', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 's'.repeat(3001) } }] }] })), [400, 'invalid_payload']);
  assert.deepEqual(await post(JSON.stringify({ text: 'hi' }), 'text/plain'), [400, 'invalid_payload']);
  assert.deepEqual(await post(JSON.stringify({ txt: 'hi' })), [400, 'invalid_payload']);
  assert.deepEqual(fake.violations.slice(before).map((v) => v.replace(/^POST \S+: /, '')), [
    'blocks[0].text has 151 characters (1..150 allowed)',
    'blocks has 51 blocks, over 50',
    'attachments[0].color is not a colour',
    'attachments[0].blocks[0].text has 3001 characters (1..3000 allowed)',
    'content-type is "text/plain", not application/json',
    'unknown field txt',
    'no text, blocks or attachments',
  ]);
  assert.deepEqual(await post(JSON.stringify({ text: 'hi' })), [200, 'ok']);
  assert.equal(fake.violations.length, before + 7, 'a valid message adds none');
});
