import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alarm } from '../domain/alarm.ts';
import type { Delivery } from '../domain/notification.ts';
import { Secret } from '../lib/secret.ts';
import { checkTemplates, createRenderer, type MessageTemplates } from '../render/template.ts';
import { assertNoSecretLeak, checkStatusTable, fakeReceiver, type ScriptStep, type StatusRow } from '../../test/support/channel-kit.ts';
import { checkSlackMessage } from '../../test/support/fake-slack.ts';
import { buildSlackRequest, createSlackChannel, cutText, SLACK_LIMITS, slackChannel, type SlackSettings } from './slack.ts';
import type { ChannelDeps, HttpClient } from './types.ts';

const NOW = Date.parse('2024-03-01T12:00:00.500Z');
const TOKEN = 'Xq7ZpL2mN9vR4tK8wB3yH6cJ';
const URL_ = `https://hooks.slack.com/services/T0TOCSIN01/B0TOCSIN02/${TOKEN}`;
const cfg: SlackSettings = { url: new Secret(URL_) };

const ALARM: Alarm = {
  id: 'alm_01HQ00000000000000000000',
  source: 'prometheus',
  name: 'DiskFull',
  severity: 'critical',
  status: 'firing',
  summary: 'Disk /var on db-1 is 95% full',
  description: 'Writes fail at 100% & the DB <stops>.',
  labels: { instance: 'db-1:9100', env: 'prod' },
  annotations: { runbook_url: 'https://runbooks.example/disk?host=db-1&fs=var' },
  occurredAt: Date.parse('2024-03-01T11:59:00Z'),
  receivedAt: Date.parse('2024-03-01T11:59:01Z'),
  dedupKey: 'prometheus:DiskFull:db-1',
};

const delivery = (...alarms: Alarm[]): Delivery => ({
  notificationId: 'ntf_01HQ00000000000000000000',
  attempt: 1,
  method: 'chat',
  createdAt: NOW - 60_000,
  remoteRefs: {},
  alarms: alarms.length > 0 ? alarms : [ALARM],
});

const deps = (http: HttpClient): ChannelDeps => ({ http, clock: { now: () => NOW }, writeLine: () => {} });
const channel = (http: HttpClient, overrides: MessageTemplates = {}) =>
  createSlackChannel('chat', cfg, deps(http), createRenderer(slackChannel.templates!, overrides, 'UTC'));

/** Sends through the channel to a receiver answering 200 "ok"; returns the request it got. */
async function sent(d: Delivery, overrides: MessageTemplates = {}) {
  const receiver = fakeReceiver([{ status: 200, body: 'ok' }]);
  const r = await channel(receiver.client, overrides).send(d, new AbortController().signal);
  receiver.assertDone();
  assert.deepEqual(r, { outcome: 'sent', status: 200 });
  const req = receiver.requests[0]!;
  assert.deepEqual(checkSlackMessage(JSON.parse(req.body)), [], 'a message Slack accepts');
  return req;
}
const bodyOf = async (d: Delivery, overrides: MessageTemplates = {}) => JSON.parse((await sent(d, overrides)).body);

/** The context line of ALARM (runbook link, source, a date in each reader's zone, labels sorted). */
const CONTEXT =
  '<https://runbooks.example/disk?host=db-1&amp;fs=var|Runbook> · prometheus · ' +
  '<!date^1709294340^{date_short_pretty} {time_secs}|2024-03-01 11:59:00 UTC> · `env=prod` · `instance=db-1:9100`';

test('golden: a firing alarm, the exact request', async () => {
  const req = await sent(delivery());
  assert.equal(req.method, 'POST');
  assert.equal(req.url, URL_);
  assert.deepEqual(req.headers, { 'content-type': 'application/json', 'user-agent': 'tocsin' });
  assert.equal(
    req.body,
    JSON.stringify({
      text: '🚨 FIRING [critical] DiskFull: Disk /var on db-1 is 95% full',
      blocks: [{ type: 'header', text: { type: 'plain_text', text: '🚨 FIRING: DiskFull', emoji: true } }],
      attachments: [{
        color: '#B80D0D',
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: '🚨 *DiskFull* · critical\nDisk /var on db-1 is 95% full\nWrites fail at 100% &amp; the DB &lt;stops&gt;.' } },
          { type: 'context', elements: [{ type: 'mrkdwn', text: CONTEXT }] },
        ],
      }],
    }),
  );
});

test('golden: the same alarm resolved: ✅, RESOLVED, green', async () => {
  const req = await sent(delivery({ ...ALARM, status: 'resolved' }));
  assert.equal(
    req.body,
    JSON.stringify({
      text: '✅ RESOLVED DiskFull: Disk /var on db-1 is 95% full',
      blocks: [{ type: 'header', text: { type: 'plain_text', text: '✅ RESOLVED: DiskFull', emoji: true } }],
      attachments: [{
        color: '#2EB67D',
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: '✅ *DiskFull* · critical · resolved\nDisk /var on db-1 is 95% full\nWrites fail at 100% &amp; the DB &lt;stops&gt;.' } },
          { type: 'context', elements: [{ type: 'mrkdwn', text: CONTEXT }] },
        ],
      }],
    }),
  );
});

test('alarm data is escaped: it can neither mention @channel nor forge a link; quotes stay quotes', async () => {
  const body = await bodyOf(delivery({ ...ALARM, name: 'A&B', summary: `<!channel> "it's" <https://evil|click>`, labels: { x: '<@U123>' } }));
  assert.equal(body.text, `🚨 FIRING [critical] A&amp;B: &lt;!channel&gt; "it's" &lt;https://evil|click&gt;`);
  assert.equal(body.blocks[0].text.text, '🚨 FIRING: A&B', 'the header is plain text: Slack reads no markup there');
  const [section, context] = body.attachments[0].blocks;
  assert.equal(section.text.text, `🚨 *A&amp;B* · critical\n&lt;!channel&gt; "it's" &lt;https://evil|click&gt;\nWrites fail at 100% &amp; the DB &lt;stops&gt;.`);
  assert.match(context.elements[0].text, /`x=&lt;@U123&gt;`$/);
});

test('colour by the most severe firing alarm; one section and context per alarm; the header counts the others', async () => {
  const warn = { ...ALARM, name: 'Slow', severity: 'warning' as const, summary: undefined, description: undefined, labels: {}, annotations: {} };
  const info = { ...warn, name: 'Note', severity: 'info' as const, status: 'resolved' as const };
  const body = await bodyOf(delivery(warn, ALARM, info));
  assert.equal(body.attachments[0].color, '#B80D0D');
  assert.equal(body.blocks[0].text.text, '🟠 FIRING: Slow (+2 more)');
  assert.equal(body.text, '🟠 FIRING [warning] Slow (+2 more)');
  const texts = body.attachments[0].blocks.map((b: { type: string; text?: { text: string } }) => `${b.type}:${b.text?.text ?? ''}`);
  assert.deepEqual(texts, [
    'section:🟠 *Slow* · warning', 'context:',
    'section:🚨 *DiskFull* · critical\nDisk /var on db-1 is 95% full\nWrites fail at 100% &amp; the DB &lt;stops&gt;.', 'context:',
    'section:✅ *Note* · info · resolved', 'context:',
  ]);
  // All resolved: green, whatever the severities.
  assert.equal((await bodyOf(delivery({ ...ALARM, status: 'resolved' }, info))).attachments[0].color, '#2EB67D');
  assert.equal((await bodyOf(delivery(info, { ...warn, severity: 'error' }))).attachments[0].color, '#E01E5A');
});

test('many alarms: the first 10 listed, then "and N more"; every limit kept', async () => {
  const many = Array.from({ length: 13 }, (_, i) => ({ ...ALARM, name: `Disk${i}`, description: 'x'.repeat(5000) }));
  const body = await bodyOf(delivery(...many));
  const blocks = body.attachments[0].blocks;
  assert.equal(blocks.length, 2 * SLACK_LIMITS.listedAlarms + 1);
  assert.deepEqual(blocks.at(-1), { type: 'context', elements: [{ type: 'mrkdwn', text: '… and 3 more alarms not shown (13 in all)' }] });
  assert.equal(body.blocks[0].text.text, '🚨 FIRING: Disk0 (+12 more)');
  // Ten sections share the 12 000-character budget: each is cut, visibly, at 1200.
  for (const s of blocks.filter((b: { type: string }) => b.type === 'section')) {
    assert.equal(s.text.text.length, 1200);
    assert.ok(s.text.text.endsWith('x…'));
  }
  const one = await bodyOf(delivery(...many.slice(0, 11)));
  assert.equal(one.attachments[0].blocks.at(-1).elements[0].text, '… and 1 more alarm not shown (11 in all)');
});

test('truncation: header at 150, a section at 3000, the context line at 1000, all with a visible "…"', async () => {
  const long = { ...ALARM, name: 'N'.repeat(400), description: '&'.repeat(4000), labels: { big: 'v'.repeat(2000) } };
  const body = await bodyOf(delivery(long));
  const header = body.blocks[0].text.text;
  assert.equal(header.length, 150);
  assert.ok(header.startsWith('🚨 FIRING: NNN') && header.endsWith('N…'));
  const [section, context] = body.attachments[0].blocks;
  assert.ok(section.text.text.length <= 3000);
  assert.ok(section.text.text.endsWith('&amp;…'), 'never half an entity');
  assert.equal(context.elements[0].text.length, 1000);
  assert.ok(context.elements[0].text.endsWith('v…'));
});

test('cutText: never splits an entity, a <link> or <!date>, or a surrogate pair', () => {
  assert.equal(cutText('abc', 3, true), 'abc');
  assert.equal(cutText('abcdef', 4, false), 'abc…');
  assert.equal(cutText('ab&amp;cd', 6, true), 'ab…');
  assert.equal(cutText('ab <https://x|Runbook> cd', 10, true), 'ab …');
  assert.equal(cutText('ab <!date^1^{time}|x> cd', 12, true), 'ab …');
  assert.equal(cutText('ab🚨cd', 4, false), 'ab…');
  assert.equal(cutText('a<b>c', 4, false), 'a<b…', 'plain text has no markup to keep whole');
});

test('runbook: runbook_url or runbook, http(s) only; a | in it cannot end the link', async () => {
  const ctx = async (annotations: Record<string, string>) =>
    (await bodyOf(delivery({ ...ALARM, labels: {}, annotations }))).attachments[0].blocks[1].elements[0].text as string;
  assert.match(await ctx({ runbook: 'https://wiki.example/rb' }), /^<https:\/\/wiki\.example\/rb\|Runbook> · /);
  assert.match(await ctx({ runbook_url: 'https://wiki.example/a|b' }), /^<https:\/\/wiki\.example\/a%7Cb\|Runbook> · /);
  assert.match(await ctx({ runbook_url: 'javascript:alert(1)' }), /^prometheus · /);
  assert.match(await ctx({ runbook_url: 'see the wiki' }), /^prometheus · /);
});

test('templates: a method overrides text and title; a blank text falls back to the header; no title, no header block', async () => {
  const body = await bodyOf(delivery(), { title: 'Disk on <%= label("instance") %>', text: '<!here> <%= it.alarm.summary %> & more' });
  assert.equal(body.blocks[0].text.text, 'Disk on db-1:9100');
  assert.equal(body.text, '<!here> Disk /var on db-1 is 95% full & more', 'the template\'s own markup is kept');
  const blank = await bodyOf(delivery(), { text: '  ' });
  assert.equal(blank.text, '🚨 FIRING: DiskFull');
  const noTitle = await bodyOf(delivery(), { title: ' \n ' });
  assert.equal(noTitle.blocks, undefined);
  assert.equal(noTitle.text, '🚨 FIRING [critical] DiskFull: Disk /var on db-1 is 95% full');
  // Pure builder: without a title at all, no header either.
  assert.equal(JSON.parse(buildSlackRequest(cfg, { text: 't' }, delivery()).body).blocks, undefined);
});

test('a template that throws: permanent, naming the part, and nothing is sent', async () => {
  for (const part of ['title', 'text'] as const) {
    const receiver = fakeReceiver([]);
    const r = await channel(receiver.client, { [part]: 'x\n<% throw new Error("boom") %>' }).send(delivery(), new AbortController().signal);
    receiver.assertDone();
    assert.deepEqual(r, { outcome: 'permanent', error: `template error in ${part}: line 2: boom` });
  }
});

test('the default templates pass the startup check', () => {
  assert.deepEqual(checkTemplates(slackChannel.templates!, {}, 'UTC'), []);
});

// ---- the shared HTTP channel contract, and Slack's own answers ----

const row = (name: string, status: number, body: string, outcome: StatusRow['outcome'], opts: { headers?: Record<string, string>; retryAfterMs?: number } = {}): StatusRow => ({
  name,
  answer: { status, body, ...(opts.headers && { headers: opts.headers }) },
  outcome,
  ...(opts.retryAfterMs !== undefined && { retryAfterMs: opts.retryAfterMs }),
});

test('status table: like every HTTP channel, plus Slack\'s answers (200 ok only; documented errors)', async () => {
  const extraRows: StatusRow[] = [
    row('200 "ok\\n"', 200, 'ok\n', 'sent'),
    row('200 empty', 200, '', 'permanent'),
    row('200 other text', 200, '<html>proxy login</html>', 'permanent'),
    row('200 {"ok":false}', 200, '{"ok":false,"error":"invalid_payload"}', 'permanent'),
    row('200 invalid_payload', 200, 'invalid_payload', 'permanent'),
    row('400 invalid_payload', 400, 'invalid_payload', 'permanent'),
    row('400 user_not_found', 400, 'user_not_found', 'permanent'),
    row('403 action_prohibited', 403, 'action_prohibited', 'permanent'),
    row('403 invalid_token', 403, 'invalid_token', 'permanent'),
    row('403 team_disabled', 403, 'team_disabled', 'permanent'),
    row('404 channel_not_found', 404, 'channel_not_found', 'permanent'),
    row('404 no_service', 404, 'no_service', 'permanent'),
    row('404 no_team', 404, 'no_team', 'permanent'),
    row('410 channel_is_archived', 410, 'channel_is_archived', 'permanent'),
    row('429 Retry-After: 30', 429, 'rate_limited', 'retry', { headers: { 'Retry-After': '30' }, retryAfterMs: 30_000 }),
    row('500 rollup_error', 500, 'rollup_error', 'retry'),
  ];
  await checkStatusTable((http) => channel(http), delivery(), { successBody: 'ok', extraRows });
});

test('error texts: Slack\'s body after the status; a 2xx without "ok" says so', async () => {
  const send = async (answer: { status: number; body: string }) => {
    const receiver = fakeReceiver([answer]);
    return channel(receiver.client).send(delivery(), new AbortController().signal);
  };
  assert.deepEqual(await send({ status: 404, body: 'channel_not_found' }), { outcome: 'permanent', status: 404, error: 'HTTP 404: channel_not_found' });
  assert.deepEqual(await send({ status: 200, body: '' }), { outcome: 'permanent', status: 200, error: 'HTTP 200 without Slack\'s "ok": (empty body)' });
  assert.deepEqual(await send({ status: 200, body: ' <p>\n hi </p>' }), { outcome: 'permanent', status: 200, error: 'HTTP 200 without Slack\'s "ok": <p> hi </p>' });
});

test('the webhook URL (its token) never appears in an error: echoed in a 4xx, a 2xx or a network error', async () => {
  const steps: [string, ScriptStep][] = [
    ['404 body', (req) => ({ status: 404, body: `no_service for ${req.url}` })],
    ['200 body', (req) => ({ status: 200, body: `moved: ${req.url}` })],
    ['500 body, path only', (req) => ({ status: 500, body: `rollup_error at ${new URL(req.url).pathname}` })],
    ['network error', (req) => ({ throws: new TypeError(`fetch failed: ${req.url}`) })],
  ];
  for (const [what, step] of steps) {
    const receiver = fakeReceiver([step]);
    const r = await channel(receiver.client).send(delivery(), new AbortController().signal);
    receiver.assertDone();
    assert.notEqual(r.outcome, 'sent', what);
    const error = r.outcome === 'sent' ? '' : r.error;
    assert.match(error, /<secret>/, `${what}: the echo reached the error text, redacted`);
    assertNoSecretLeak([URL_, TOKEN], { errorText: error });
  }
});

test('descriptor: type slack, url a required secret checked as an http(s) URL, no other fields, Slack\'s rate limit', () => {
  assert.equal(slackChannel.type, 'slack');
  assert.deepEqual(Object.keys(slackChannel.secrets), ['url']);
  assert.equal(slackChannel.secrets['url']!.required, true);
  assert.equal(slackChannel.secrets['url']!.check?.(URL_), undefined);
  assert.equal(slackChannel.secrets['url']!.check?.('hooks.slack.com/services/x'), 'must be an http(s) URL');
  assert.equal(slackChannel.fields.safeParse({}).success, true);
  assert.equal(slackChannel.fields.safeParse({ channel: '#ops' }).success, false);
  const url = new Secret(URL_);
  assert.deepEqual(slackChannel.settings({}, { url }, () => assert.fail('no problem expected')), { url });
  assert.deepEqual(slackChannel.templates?.parts, ['title', 'text']);
  assert.deepEqual(slackChannel.rateLimit, { perSecond: 1, burst: 5 }, 'Slack: about one message per second');
});
