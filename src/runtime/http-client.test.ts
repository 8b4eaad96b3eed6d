import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OutboundHttp } from './platform.ts';
import { createFetchClient } from './http-fetch.ts';
import { runtimeName } from './detect.ts';

// One contract for both outbound HTTP clients: undici (Node only) and fetch (Bun and Deno; also run on
// Node's fetch). scripts/run-tests.mjs runs this file on all three runtimes.
const clients: [string, () => OutboundHttp][] = [['fetch', () => createFetchClient()]];
if (runtimeName() === 'node') {
  const { createUndiciClient } = await import('./http-undici.ts');
  clients.unshift(['undici', () => createUndiciClient()]);
}

const seen: { method: string; headers: Record<string, unknown>; body: string }[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (body += c));
  req.on('end', () => {
    seen.push({ method: req.method ?? '', headers: req.headers, body });
    switch (req.url) {
      case '/ok':
        return res.writeHead(202, { 'Retry-After': '7', 'X-Thing': 'a' }).end('fine');
      case '/long':
        return res.writeHead(500).end('x'.repeat(5000));
      case '/huge':
        return res.writeHead(200).end(Buffer.alloc(4 * 1024 * 1024, 'y'));
      case '/redirect':
        return res.writeHead(302, { Location: '/ok' }).end();
      case '/slow':
        return void setTimeout(() => res.writeHead(200).end('late'), 3000).unref();
      default:
        return res.writeHead(404).end();
    }
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => {
  server.closeAllConnections();
  server.close();
});

const post = (client: OutboundHttp, path: string, signal = new AbortController().signal) =>
  client.client({ url: base + path, method: 'POST', headers: { 'content-type': 'application/json', 'x-key': 'k1' }, body: '{"a":1}' }, signal);

for (const [name, make] of clients) {
  test(`${name} on ${runtimeName()}: sends method, headers and body; answers status, headers (any case) and the body`, async () => {
    const c = make();
    try {
      seen.length = 0;
      const r = await post(c, '/ok');
      assert.equal(r.status, 202);
      assert.equal(r.header('retry-after'), '7');
      assert.equal(r.header('X-THING'), 'a');
      assert.equal(r.header('x-missing'), undefined);
      assert.equal(r.bodyExcerpt, 'fine');
      assert.deepEqual([seen[0]!.method, seen[0]!.headers['x-key'], seen[0]!.body], ['POST', 'k1', '{"a":1}']);
    } finally {
      await c.close();
    }
  });

  test(`${name} on ${runtimeName()}: keeps only the first KiB of a body, and a huge body neither hangs nor is kept`, async () => {
    const c = make();
    try {
      const long = await post(c, '/long');
      assert.equal(long.status, 500);
      assert.equal(long.bodyExcerpt, 'x'.repeat(1024));
      const huge = await post(c, '/huge');
      assert.equal(huge.status, 200);
      assert.equal(huge.bodyExcerpt.length, 1024);
      // The connection is still usable afterwards.
      assert.equal((await post(c, '/ok')).status, 202);
    } finally {
      await c.close();
    }
  });

  test(`${name} on ${runtimeName()}: does not follow redirects`, async () => {
    const c = make();
    try {
      const r = await post(c, '/redirect');
      assert.equal(r.status, 302);
      assert.equal(r.header('location'), '/ok');
    } finally {
      await c.close();
    }
  });

  test(`${name} on ${runtimeName()}: rejects on abort and on a refused connection`, async () => {
    const c = make();
    try {
      await assert.rejects(post(c, '/slow', AbortSignal.timeout(100)));
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      // The error text never quotes the URL (it may carry a token).
      const url = `http://127.0.0.1:${port}/hook/tok-1a2b`;
      const noToken = (e: unknown): boolean => {
        for (let x = e as { message?: string; stack?: string; cause?: unknown } | undefined, i = 0; x && i < 10; x = x.cause as typeof x, i++) {
          assert.ok(!`${x.message} ${x.stack}`.includes('tok-1a2b'), String(x.message));
        }
        return true;
      };
      await assert.rejects(c.client({ url, method: 'POST', headers: {}, body: '' }, new AbortController().signal), noToken);
      // A name that does not resolve: Deno's fetch puts the URL in the error's cause.
      await assert.rejects(c.client({ url: 'http://no-such-host.invalid/hook/tok-1a2b', method: 'POST', headers: {}, body: '' }, new AbortController().signal), noToken);
    } finally {
      await c.close();
    }
  });
}
