import { test } from 'node:test';
import { isInteger, parse } from 'lossless-json';
import { prng } from '../../test/e2e/prng.ts';
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

test('the built-in-parser fast path gives exactly what the lossless parser gives (seeded random documents)', () => {
  const rnd = prng(0x10551e55);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const numbers = ['0', '-0', '7', '-12', '3.25', '1e3', '-2.5E-3', '9007199254740991', '9007199254740993', '12345678901234567890', '1.0', '123456789012345.5'];
  const keys = ['a', 'b', 'name', 'labels', '__proto__', '', 'k\\"q', 'ü'];
  const value = (depth: number): string => {
    const r = rnd();
    if (depth > 3 || r < 0.3) return pick(numbers);
    if (r < 0.45) return pick(['"x"', '"9007199254740993"', '"a\\\\"', 'true', 'false', 'null', '"{[:,]}"']);
    if (r < 0.65) return `[${Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1)).join(', ')}]`;
    const n = Math.floor(rnd() * 5);
    return `{${Array.from({ length: n }, () => `"${pick(keys)}" ${pick([':', ' :', ': '])} ${value(depth + 1)}`).join(',')}}`;
  };
  const reference = (text: string): unknown => {
    try {
      return { ok: parse(text, null, (t: string) => (isInteger(t) && !Number.isSafeInteger(Number(t)) ? t : Number(t))) };
    } catch (e) {
      return { error: `invalid JSON: ${(e as Error).message}` };
    }
  };
  for (let i = 0; i < 3000; i++) {
    let text = value(0);
    if (rnd() < 0.05) text = text.slice(0, Math.floor(rnd() * text.length)); // truncated: a syntax error
    let got: unknown;
    try {
      got = { ok: parseJsonLossless(text) };
    } catch (e) {
      got = { error: (e as Error).message };
    }
    assert.deepEqual(got, reference(text), text);
  }
});
