import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redact, Secret } from './secret.ts';
import { sealForThread, unsealFromThread } from './thread-data.ts';

test('secrets cross a structured clone and come back as Secrets; the rest is plain frozen data', () => {
  const value = { url: new Secret('https://hook.example/t0ken'), headers: { a: 'b' }, list: [1, new Secret('x')], n: null };
  const sealed = structuredClone(sealForThread(value));
  assert.ok(!JSON.stringify(sealed).includes('<secret>'), 'the value travels, not its redaction');
  const back = unsealFromThread<typeof value>(sealed);
  assert.ok(back.url instanceof Secret);
  assert.equal(back.url.reveal(), 'https://hook.example/t0ken');
  assert.equal(String(back.url), '<secret>');
  assert.ok(back.list[1] instanceof Secret);
  assert.deepEqual(back.headers, { a: 'b' });
  assert.equal(back.n, null);
  assert.ok(Object.isFrozen(back) && Object.isFrozen(back.headers) && Object.isFrozen(back.list));
});

test('what cannot cross faithfully is refused by its path', () => {
  assert.throws(() => sealForThread({ a: { f: () => 1 } }, 'methods'), /methods\.a\.f is a function/);
  assert.throws(() => sealForThread({ m: new Map() }, 'methods'), /methods\.m is a Map/);
  assert.throws(() => sealForThread([new Date(0)], 'v'), /v\[0\] is a Date/);
});

test('a Secret keeps its related values across the trip (the delivery thread redacts them too)', () => {
  const sealed = sealForThread({ url: new Secret('https://u:p4ss@host/', ['p4ss', 'u:p4ss']) });
  const back = unsealFromThread<{ url: Secret }>(structuredClone(sealed));
  assert.deepEqual(back.url.revealAll(), ['https://u:p4ss@host/', 'p4ss', 'u:p4ss']);
  assert.equal(redact('echo: Basic dTpwNHNz and p4ss', [back.url]), 'echo: Basic <secret> and <secret>');
});
