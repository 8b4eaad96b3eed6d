/**
 * Secrets never leak through the real app: two webhook methods, each with a secret URL query value, a
 * bearer token and a custom header value, point at a receiver that answers 500 (one method) or 400 (the
 * other) with a body echoing the full URL and every request header; a third has a user name and password
 * in its URL (sent as `Authorization: Basic`) and gets a 401 echoing that header and the credentials it
 * decodes from it. None of the secrets, in any form (base64 included), may then appear in the stored
 * notifications (`last_error`, `dead_reason`), the attempt history, tocsin's log records, or the
 * `GET /v1/alarms/{id}` answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertNoSecretLeak } from '../support/channel-kit.ts';
import { createHarness, type Harness } from './app-harness.ts';

/** Per method: the environment variables its secrets come from, and their values. */
const SECRETS = {
  'fail-500': { QS_500: 'qs-Five00-Secret-3141', TOKEN_500: 'tok-Five00-Bearer-2718', KEY_500: 'sk-Five00-Header-1618' },
  'fail-400': { QS_400: 'qs-Four00-Secret-5772', TOKEN_400: 'tok-Four00-Bearer-1414', KEY_400: 'sk-Four00-Header-1732' },
} as const;
/** The userinfo of the third method's URL: its password is written percent-encoded, as a URL needs. */
const BASIC = { USER_401: 'ops-basic', PASS_401: 'pw%40Basic401-Secret-6931' } as const;
const BASIC_PASSWORD = decodeURIComponent(BASIC.PASS_401);
const BASIC_HEADER = `Basic ${Buffer.from(`${BASIC.USER_401}:${BASIC_PASSWORD}`).toString('base64')}`;
const ALL_SECRETS = [
  ...Object.values(SECRETS).flatMap((s) => Object.values(s)),
  BASIC.PASS_401, BASIC_PASSWORD, `${BASIC.USER_401}:${BASIC_PASSWORD}`, // the user name alone is not a secret
];
const ENV: Record<string, string> = Object.assign({}, BASIC, ...Object.values(SECRETS));

/**
 * The full URL and every header of a request, secret-bearing ones first (they fit in the error excerpt);
 * Basic credentials also decoded.
 */
function echo(req: IncomingMessage): string {
  const h = req.headers;
  const basic = h.authorization?.startsWith('Basic ') ? ` credentials=${Buffer.from(h.authorization.slice(6), 'base64').toString('utf8')}` : '';
  return `url=http://${h.host}${req.url} authorization=${h.authorization}${basic} x-api-key=${h['x-api-key']} headers=${JSON.stringify(h)}`;
}

function config(port: number): string {
  const method = (name: string, n: string) =>
    `  ${name}: { type: webhook, url: "http://127.0.0.1:${port}/${name}?api_key=\${QS_${n}}", ` +
    `bearer_token: "\${TOKEN_${n}}", headers: { X-Api-Key: "\${KEY_${n}}" }, max_attempts: 2, backoff_base: 10m }`;
  const basic = `  basic-401: { type: webhook, url: "http://\${USER_401}:\${PASS_401}@127.0.0.1:${port}/basic-401", max_attempts: 2, backoff_base: 10m }`;
  return ['methods:', method('fail-500', '500'), method('fail-400', '400'), basic, 'routes:', '  - methods: [fail-500, fail-400, basic-401]'].join('\n');
}

/** A local receiver answering 500 on /fail-500, 401 on /basic-401 and 400 elsewhere, echoing each request; it records them. */
async function startEchoReceiver(): Promise<{ port: number; received: IncomingMessage[]; close(): Promise<void> }> {
  const received: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    received.push(req);
    req.resume();
    const status = req.url?.startsWith('/fail-500') ? 500 : req.url?.startsWith('/basic-401') ? 401 : 400;
    req.on('end', () => res.writeHead(status, { 'content-type': 'text/plain' }).end(echo(req)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('a receiver echoing the URL, the bearer token, a custom header (500 and 400) and Basic credentials (401) leaks no secret anywhere', async (t) => {
  const receiver = await startEchoReceiver();
  let h: Harness | undefined;
  t.after(async () => {
    await h?.cleanup();
    await receiver.close();
  });
  // random 0.5: the 500's retry waits half of backoff_base (5 min), so nothing more happens in this test.
  h = await createHarness({ yaml: config(receiver.port), env: ENV, random: () => 0.5, start: true });

  const posted = await h.post('/v1/alarms', { name: 'LeakProbe', summary: 'secret leak check' });
  assert.equal(posted.status, 202, posted.text);
  const alarmId = posted.json.alarm_ids[0] as string;

  // Bounded wait for each notification's first attempt to be recorded (not a speed check).
  const { queries } = h.app.store;
  const attempted = () => queries.notificationsOf(alarmId).filter((n) => queries.attemptsOf(n.id).length > 0);
  for (let i = 0; i < 1000 && attempted().length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  await h.app.dispatcher.idle();

  const notifications = queries.notificationsOf(alarmId);
  assert.equal(attempted().length, 3, `every notification attempted: ${JSON.stringify(notifications.map((n) => [n.method, n.state, n.attempts]))}`);
  // The receiver really got every secret to echo.
  assert.equal(receiver.received.length, 3);
  for (const req of receiver.received) {
    if (req.url === '/basic-401') {
      assert.equal(req.headers.authorization, BASIC_HEADER, 'the userinfo came as Basic auth');
      continue;
    }
    const own = Object.values(req.url?.startsWith('/fail-500') ? SECRETS['fail-500'] : SECRETS['fail-400']);
    assert.ok(own.every((s) => echo(req).includes(s)), `the receiver saw every secret of ${req.url?.split('?')[0]}`);
  }

  const byMethod = new Map(notifications.map((n) => [n.method, n]));
  const five = byMethod.get('fail-500')!;
  assert.equal(five.state, 'pending', '500: waiting to retry');
  assert.equal(five.lastStatus, 500);
  const four = byMethod.get('fail-400')!;
  assert.equal(four.state, 'dead', '400: dead-lettered');
  assert.equal(four.lastStatus, 400);
  // The echo made it into the stored texts, redacted: the leak check below is not vacuous.
  for (const text of [five.lastError, four.lastError, four.deadReason]) assert.match(text ?? '', /authorization=Bearer <secret> x-api-key=<secret>/);
  const basic = byMethod.get('basic-401')!;
  assert.equal(basic.state, 'dead', '401: dead-lettered');
  assert.equal(basic.lastStatus, 401);
  for (const text of [basic.lastError, basic.deadReason]) assert.match(text ?? '', /authorization=Basic <secret> credentials=<secret> x-api-key=undefined/);
  assert.ok(h.logger.records.some((r) => r.level === 'warn' && r.fields.method === 'fail-500'), 'the failed attempt was logged');

  const answer = await h.get(`/v1/alarms/${alarmId}`);
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.json.notifications.length, 3);

  const places: Record<string, string | null> = { logs: h.logger.text(), 'GET /v1/alarms/{id}': answer.text };
  for (const n of notifications) {
    places[`${n.method} last_error`] = n.lastError;
    places[`${n.method} dead_reason`] = n.deadReason;
    places[`${n.method} attempts`] = JSON.stringify(queries.attemptsOf(n.id));
  }
  assertNoSecretLeak(ALL_SECRETS, places);
});
