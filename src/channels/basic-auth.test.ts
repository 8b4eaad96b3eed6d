import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Delivery } from '../domain/notification.ts';
import { Secret } from '../lib/secret.ts';
import type { OutboundHttp } from '../runtime/platform.ts';
import { createFetchClient } from '../runtime/http-fetch.ts';
import { runtimeName } from '../runtime/detect.ts';
import { assertNoSecretLeak } from '../../test/support/channel-kit.ts';
import { createChannel } from './registry.ts';
import { webhookChannel } from './webhook.ts';

// A webhook URL with userinfo behaves the same on every runtime and with every client: the receiver gets
// `Authorization: Basic` (the URL itself no userinfo), and a receiver echoing the credentials leaks none
// of their forms into the error text. scripts/run-tests.mjs runs this file on Node, Bun and Deno.
const clients: [string, () => OutboundHttp][] = [['fetch', () => createFetchClient()]];
if (runtimeName() === 'node') {
  const { createUndiciClient } = await import('../runtime/http-undici.ts');
  clients.unshift(['undici', () => createUndiciClient()]);
}

const USER = 'relay@ops';
const PASSWORD = 'p@ss:w/rd ü-27182';
/** `Basic` + base64 of "relay@ops:p@ss:w/rd ü-27182" in UTF-8. */
const BASIC = 'Basic cmVsYXlAb3BzOnBAc3M6dy9yZCDDvC0yNzE4Mg==';

/** What the receiver got: the request target and the Authorization header. */
const seen: { url: string; authorization: string | undefined }[] = [];
/** Answers 401 echoing the Authorization header, the credentials it decodes from it, and other forms of them. */
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const authorization = req.headers.authorization;
    seen.push({ url: req.url ?? '', authorization });
    const b64 = authorization?.replace(/^Basic /, '') ?? '';
    const decoded = Buffer.from(b64, 'base64').toString('utf8');
    const password = decoded.slice(decoded.indexOf(':') + 1);
    const urlSafe = b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    res.writeHead(401, { 'content-type': 'text/plain' });
    res.end(`bad credentials: ${authorization} | ${decoded} | ${urlSafe} | ${encodeURIComponent(password)} | ${password}`);
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as AddressInfo).port;
after(() => {
  server.closeAllConnections();
  server.close();
});

const NOW = Date.parse('2024-03-01T12:00:00Z');
const delivery: Delivery = {
  notificationId: 'ntf_01HQ00000000000000000000',
  attempt: 1,
  method: 'basic-hook',
  createdAt: NOW,
  remoteRefs: {},
  alarms: [{
    id: 'alm_01HQ00000000000000000000',
    source: 'generic',
    name: 'BasicAuthProbe',
    severity: 'error',
    status: 'firing',
    summary: 'userinfo redaction',
    labels: {},
    annotations: {},
    occurredAt: NOW,
    receivedAt: NOW,
    dedupKey: 'basic',
    details: {},
  }],
};

for (const [name, make] of clients) {
  test(`${name} on ${runtimeName()}: userinfo in the URL is sent as Basic auth, and its echo leaks no credential in any form`, async () => {
    const http = make();
    try {
      seen.length = 0;
      const url = `http://${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/hook`;
      const problems: string[] = [];
      const settings = webhookChannel.settings({ headers: {} }, { url: new Secret(url) }, (field, message) => problems.push(`${field}: ${message}`));
      assert.deepEqual(problems, []);
      const channel = createChannel({ name: 'basic-hook', type: 'webhook', settings }, { http: http.client, clock: { now: () => NOW }, writeLine: () => {} });
      const r = await channel.send(delivery, AbortSignal.timeout(5000));

      assert.deepEqual(seen, [{ url: '/hook', authorization: BASIC }], 'the receiver got the Basic header');
      assert.equal(r.outcome, 'permanent');
      assert.equal(r.status, 401);
      const error = r.outcome === 'permanent' ? r.error : '';
      assert.equal(error, 'HTTP 401: bad credentials: Basic <secret> | <secret> | <secret> | <secret> | <secret>');
      assertNoSecretLeak([PASSWORD, `${USER}:${PASSWORD}`, url], { errorText: error });
    } finally {
      await http.close();
    }
  });
}
