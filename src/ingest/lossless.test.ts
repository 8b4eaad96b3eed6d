import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IngestError } from './errors.ts';
import { parseJsonLossless } from './lossless.ts';

test('safe integers and non-integers become numbers', () => {
  assert.deepEqual(parseJsonLossless('{"a":1,"b":-2.5,"c":9007199254740991,"d":1e3,"e":[0,-0.25]}'), {
    a: 1,
    b: -2.5,
    c: 9007199254740991,
    d: 1000,
    e: [0, -0.25],
  });
});

test('unsafe integers keep their exact digits as strings', () => {
  assert.deepEqual(parseJsonLossless('[9223372036854775807, -9223372036854775808, 9007199254740992]'), [
    '9223372036854775807',
    '-9223372036854775808',
    '9007199254740992',
  ]);
  assert.equal(parseJsonLossless('11258999068426363'), '11258999068426363');
});

test('strings, booleans and null pass through; __proto__ stays an own key', () => {
  const v = parseJsonLossless('{"s":"x","t":true,"n":null,"__proto__":{"p":1}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(Object.keys(v), ['s', 't', 'n', '__proto__']);
  assert.equal(v.s, 'x');
  assert.equal(v.t, true);
  assert.equal(v.n, null);
});

test('syntax errors throw IngestError on body', () => {
  for (const bad of ['', '{', '{"a":}', '[1,]', 'nope', '{"a":1,"a":2}']) {
    assert.throws(
      () => parseJsonLossless(bad),
      (e: unknown) => e instanceof IngestError && e.field === 'body' && e.message.startsWith('invalid JSON: '),
      JSON.stringify(bad),
    );
  }
});
