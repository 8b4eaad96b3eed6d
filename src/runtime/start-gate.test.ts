import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGate } from './start-gate.ts';

const req = (path: string) => new Request(`http://127.0.0.1${path}`);

test('requests that arrive before the app is ready wait for it, then go to it; later ones go straight there', async () => {
  const gate = startGate();
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
  const gate = startGate();
  const early = gate.fetch(req('/v1/alarms'));
  gate.fail('see its log');
  for (const res of [await early, await gate.fetch(req('/healthz'))]) {
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '5');
    assert.deepEqual(await res.json(), { error: 'tocsin could not start: see its log', code: 'unavailable' });
  }
});
