/**
 * The canary's own ingest credential (issue #10: "an internal credential that no config or API reveals"):
 * a listener that echoes the Authorization header back in its refusal, where the relay's own ingest would
 * be, makes the run fail; the /fail body names the injection and its answer, and neither it, the log,
 * /metrics nor the admin API carries the token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHarness } from './app-harness.ts';
import { startFakeHealthchecks } from '../support/fake-healthchecks.ts';

const ADMIN = 'admin-token-canary-credential-1';

test('the canary credential is never revealed: an echo of it in an ingest refusal is cut from the /fail body and the log', async (t) => {
  const hc = await startFakeHealthchecks({ checks: [{ uuid: '6f1c1e0a-3b9e-4c55-9a7e-2f1d9b1c0e11' }] });
  const headers: string[] = [];
  // Where the relay's listener would be: it refuses every request, quoting the credential it got.
  const echo = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    headers.push(auth);
    req.resume();
    req.on('end', () => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `refused: ${auth}`, code: 'invalid_request' }));
    });
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const yaml = [
    'admin: { tokens: ["' + ADMIN + '"] }',
    'canaries:',
    '  path:',
    '    interval: 1s',
    '    methods: [log]',
    `    ping_url: ${JSON.stringify(hc.url(0))}`,
    '    max_latency: 2s',
    '',
  ].join('\n');
  const h = await createHarness({ yaml, start: true });
  t.after(async () => {
    await h.cleanup();
    await hc.close();
    await new Promise((r) => echo.close(r));
  });
  h.app.listening({ host: '127.0.0.1', port: (echo.address() as AddressInfo).port });

  assert.ok(await hc.waitUntil(() => hc.pings.some((p) => p.kind === 'fail'), 15_000), 'a /fail for the refused injection');
  const token = /^Bearer (\S+)$/.exec(headers[0] ?? '')?.[1];
  assert.ok(token !== undefined && token.length >= 32, `the injection carried a bearer token: ${headers[0]}`);
  const fail = hc.pings.find((p) => p.kind === 'fail')!;
  assert.match(fail.body, /injection/, fail.body);
  assert.match(fail.body, /400/, 'the answer is named');
  assert.ok(!fail.body.includes(token), `the /fail body carries the token: ${fail.body}`);
  assert.ok(!JSON.stringify(h.logger.records).includes(token), 'the log carries the token');
  const metrics = await h.get('/metrics');
  assert.ok(!metrics.text.includes(token), '/metrics carries the token');
  const canaries = await h.get('/api/v1/canaries', { authorization: `Bearer ${ADMIN}` });
  assert.equal(canaries.status, 200, canaries.text);
  assert.ok(!canaries.text.includes(token), 'the admin API carries the token');
  const openapi = await h.get('/api/v1/openapi.json');
  assert.ok(!openapi.text.includes(token));
});
