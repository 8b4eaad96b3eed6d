import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGate } from './start-gate.ts';

const req = (path: string) => new Request(`http://127.0.0.1${path}`);

test('requests that arrive before the app is ready wait for it, then go to it; later ones go straight there', async () => {
  const gate = startGate('1.2.3');
  const seen: string[] = [];
  const early = gate.fetch(req('/early'));
  let settled = false;
  void Promise.resolve(early).then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'waits while the app is being built');
  gate.open((r) => {
    seen.push(new URL(r.url).pathname);
    return new Response('ok', { status: 202 });
  });
  assert.equal((await early).status, 202);
  assert.equal((await gate.fetch(req('/late'))).status, 202);
  assert.deepEqual(seen, ['/early', '/late']);
});

test('if the app cannot start, waiting and later requests get 503 unavailable with Retry-After', async () => {
  const gate = startGate('1.2.3');
  const early = gate.fetch(req('/v1/alarms'));
  gate.fail('see its log');
  for (const res of [await early, await gate.fetch(req('/healthz'))]) {
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '5');
    assert.deepEqual(await res.json(), { error: 'tocsin could not start: see its log', code: 'unavailable' });
  }
});

test('while the app is built, /healthz answers at once and /readyz says starting', async () => {
  const gate = startGate('1.2.3');
  const health = await gate.fetch(req('/healthz'));
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok', version: '1.2.3' });
  const ready = await gate.fetch(req('/readyz'));
  assert.equal(ready.status, 503);
  assert.deepEqual(await ready.json(), { status: 'not ready', error: 'starting' });
  gate.open(() => new Response('app'));
  assert.equal(await (await gate.fetch(req('/healthz'))).text(), 'app', 'the app answers once it is there');
});
