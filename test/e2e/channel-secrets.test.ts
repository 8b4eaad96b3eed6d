/**
 * The paging channels through the real app (outbox, dispatcher, log, API, metrics): their secrets — the
 * Slack webhook URL's token, the PagerDuty routing key, the SMTP password — never appear in the stored
 * notifications (`last_error`, `dead_reason`), the attempt history, the log, `GET /v1/alarms/{id}` or
 * `/metrics`, even when the receiver echoes them back; and a template that throws for a real alarm
 * dead-letters its notification with the error, counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertNoSecretLeak } from '../support/channel-kit.ts';
import { needs } from '../support/peers.ts';
import { opensslMissing, startSmtpPeer } from '../support/smtp-peer.ts';
import { mailTransports } from '../../src/runtime/mail.ts';
import { createHarness, type Harness } from './app-harness.ts';

const SLACK_TOKEN = 'xoxWebhookToken9f8e7d6c5b4a';
const ROUTING_KEY = 'R0123456789SECRETKEY456789ABCDEF';

/** Answers 400 echoing the request's path and body (Slack: a 4xx with text; PagerDuty: a 400 with JSON). */
async function startEcho(): Promise<{ port: number; received: string[]; close(): Promise<void> }> {
  const received: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push(`${req.url} ${body}`);
      const echo = `path=${req.url} body=${body}`;
      if (req.url?.startsWith('/v2/enqueue')) res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors: [echo] }));
      else res.writeHead(400, { 'content-type': 'text/plain' }).end(`invalid_payload ${echo}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function settled(h: Harness, alarmId: string, n: number): Promise<void> {
  const { queries } = h.app.store;
  for (let i = 0; i < 1000; i++) {
    const rows = queries.notificationsOf(alarmId);
    if (rows.length + queries.deliveriesOf(alarmId).length === n && rows.every((r) => r.state === 'dead')) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`not all ${n} notifications of ${alarmId} dead: ${JSON.stringify(queries.notificationsOf(alarmId).map((r) => [r.method, r.state]))}`);
}

test('slack, pagerduty and email: a receiver echoing every secret, an SMTP login refused: no secret in the outbox, the log, the API or the metrics', async (t) => {
  if (!needs(t, opensslMissing())) return;
  const echo = await startEcho();
  const smtp = await startSmtpPeer();
  smtp.rejectAuth(true);
  const mail = mailTransports({ tls: { ca: smtp.ca } });
  let h: Harness | undefined;
  try {
    const yaml = [
      'methods:',
      `  chat: { type: slack, url: "http://127.0.0.1:${echo.port}/services/T0TOCSIN01/B0TOCSIN02/${SLACK_TOKEN}", max_attempts: 1 }`,
      `  pager: { type: pagerduty, url: "http://127.0.0.1:${echo.port}", routing_key: ${ROUTING_KEY}, max_attempts: 1 }`,
      `  mail: { type: email, host: 127.0.0.1, port: ${smtp.port}, username: ${smtp.user}, password: "${smtp.password}", from: "tocsin <alerts@example.com>", to: [ops@example.com], max_attempts: 1 }`,
      'routes: [{ methods: [chat, pager, mail] }]',
      'delivery: { poll_interval: 100ms }',
    ].join('\n');
    h = await createHarness({ yaml, start: true, mail: mail.mail });
    const posted = await h.post('/v1/alarms', { name: 'LeakProbe', summary: 'secret leak check', labels: { host: 'db-1' } });
    assert.equal(posted.status, 202, posted.text);
    const alarmId = posted.json.alarm_ids[0] as string;
    await settled(h, alarmId, 3);
    // The receivers really had the secrets to echo: the check below is not vacuous.
    assert.ok(echo.received.some((r) => r.includes(SLACK_TOKEN)) && echo.received.some((r) => r.includes(ROUTING_KEY)));
    assert.ok(smtp.auths.some((a) => a.username === smtp.user && !a.ok), 'the SMTP server was sent the login (refused)');

    const { queries } = h.app.store;
    const rows = new Map(queries.notificationsOf(alarmId).map((n) => [n.method, n]));
    assert.match(rows.get('chat')!.deadReason ?? '', /^permanent failure: HTTP 400: invalid_payload path=\/services\/T0TOCSIN01\/B0TOCSIN02\/<secret>/);
    assert.match(rows.get('pager')!.deadReason ?? '', /<secret>/);
    assert.match(rows.get('mail')!.deadReason ?? '', /^permanent failure: authentication failed/);

    const answer = await h.get(`/v1/alarms/${alarmId}`);
    const places: Record<string, string | null> = { logs: h.logger.text(), 'GET /v1/alarms/{id}': answer.text, '/metrics': (await h.get('/metrics')).text };
    for (const n of rows.values()) {
      places[`${n.method} last_error`] = n.lastError;
      places[`${n.method} dead_reason`] = n.deadReason;
      places[`${n.method} attempts`] = JSON.stringify(queries.attemptsOf(n.id));
    }
    assertNoSecretLeak([SLACK_TOKEN, ROUTING_KEY, smtp.password], places);
  } finally {
    await h?.cleanup();
    await mail.close();
    await smtp.close();
    await echo.close();
  }
});

test('a template that throws for a real alarm dead-letters its notification with the error, counted with the dead letters', async () => {
  const h = await createHarness({
    yaml: [
      'methods:',
      '  hook:',
      '    type: webhook',
      '    url: "http://127.0.0.1:9/never"',
      // Fine for the sample alarm at startup (it has a team label); a real alarm without one has no region either.
      `    template: { body: "<%~ it.alarm.labels.team ? json(it.alarm.labels.team) : json(it.alarm.labels.region.toUpperCase()) %>" }`,
      'routes: [{ methods: [hook] }]',
      'delivery: { poll_interval: 100ms }',
    ].join('\n'),
    start: true,
  });
  try {
    const posted = await h.post('/v1/alarms', { name: 'NoRegion', labels: { host: 'db-1' } });
    const alarmId = posted.json.alarm_ids[0] as string;
    await settled(h, alarmId, 1);
    const row = h.app.store.queries.notificationsOf(alarmId)[0]!;
    assert.equal(row.attempts, 1, 'dead at once, not retried');
    assert.equal(row.deadReason, "permanent failure: template error in body: line 1: Cannot read properties of undefined (reading 'toUpperCase')");
    assert.match((await h.get('/metrics')).text, /tocsin_notifications_dead_total\{method="hook"\} 1/);
  } finally {
    await h.cleanup();
  }
});
