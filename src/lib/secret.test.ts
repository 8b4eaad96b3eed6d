import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { encodedForms, redact, Secret, secretsIn } from './secret.ts';

test('a Secret never prints itself', () => {
  const s = new Secret('hunter2-hunter2');
  assert.equal(String(s), '<secret>');
  assert.equal(JSON.stringify({ s }), '{"s":"<secret>"}');
  assert.equal(inspect(s), '<secret>');
  assert.equal(s.reveal(), 'hunter2-hunter2');
});

test('redact replaces every occurrence; secrets shorter than 4 characters are left alone', () => {
  assert.equal(redact('a tok-1234 b tok-1234', [new Secret('tok-1234'), undefined, new Secret('ab')]), 'a <secret> b <secret>');
});

test('redact of a truncated text also redacts a secret cut off at its end', () => {
  const key = new Secret('sk-live-ABCDEFGH');
  assert.equal(redact('denied for sk-live-ABC', [key], { truncated: true }), 'denied for <secret>');
  assert.equal(redact('denied for sk-live-ABC', [key]), 'denied for sk-live-ABC', 'only when the text was cut');
  assert.equal(redact('ends with sk-', [key], { truncated: true }), 'ends with sk-', 'under 4 characters: too short to tell');
});

test('encodedForms: as is, base64 (standard and url-safe, padded or not) and percent-encoded', () => {
  // The base64 of ">>>?~" has a + and padding.
  assert.deepEqual(encodedForms('>>>?~'), ['>>>?~', 'Pj4+P34=', 'Pj4+P34', 'Pj4-P34=', 'Pj4-P34', '%3E%3E%3E%3F~']);
  assert.deepEqual(encodedForms('relay:p@ss w/rd'), ['relay:p@ss w/rd', 'cmVsYXk6cEBzcyB3L3Jk', 'relay%3Ap%40ss%20w%2Frd'], 'no duplicates');
  assert.deepEqual(encodedForms('\ud800x'), ['\ud800x', '77+9eA==', '77+9eA', '77-9eA==', '77-9eA', '\\ud800x'], 'a lone surrogate has no percent-encoding (JSON escapes it)');
});

test('redact: every encoded form of a secret, and of each of its related values', () => {
  const password = new Secret('p@ss w/rd', ['relay:p@ss w/rd']);
  const forms = [
    'p@ss w/rd', // as is
    'cEBzcyB3L3Jk', // base64 (no padding needed)
    'p%40ss%20w%2Frd', // percent-encoded
    'cmVsYXk6cEBzcyB3L3Jk', // base64 of "relay:p@ss w/rd", as in `Authorization: Basic`
    'relay%3Ap%40ss%20w%2Frd',
  ];
  for (const f of forms) assert.equal(redact(`got [${f}]`, [password]), 'got [<secret>]', f);
  const key = new Secret('a+b/c?'); // base64 "YStiL2M/" has a /, url-safe "YStiL2M_"
  const tilde = new Secret('>>>?~'); // base64 "Pj4+P34=" has a + and padding
  for (const [s, f] of [[key, 'YStiL2M/'], [key, 'YStiL2M_'], [tilde, 'Pj4+P34='], [tilde, 'Pj4+P34'], [tilde, 'Pj4-P34='], [tilde, 'Pj4-P34']] as const) {
    assert.equal(redact(`x ${f} y`, [s]), 'x <secret> y', f);
  }
  assert.equal(redact('Basic cmVsYXk6cEBzcyB3L3Jk', secretsIn({ auth: { password } })), 'Basic <secret>', 'found by secretsIn too');
});

test('redact: a value under 4 characters is not redacted in any form; related values are checked on their own', () => {
  const short = new Secret('ab', ['u:ab']);
  assert.equal(redact('ab YWI= YWI u:ab dTphYg==', [short]), 'ab YWI= YWI <secret> <secret>');
  assert.equal(redact('xyz', [new Secret('xyz', [''])]), 'xyz');
});

test('redact: a secret inside a longer one goes with the longer one, whatever their order', () => {
  const inner = new Secret('tok-1234');
  const outer = new Secret('https://h.example/?k=tok-1234');
  assert.equal(redact('to https://h.example/?k=tok-1234 with tok-1234', [inner, outer]), 'to <secret> with <secret>');
});

test('redact of a truncated text also redacts a base64 form cut off at its end', () => {
  const password = new Secret('hunter2-hunter2', ['ops:hunter2-hunter2']);
  const header = `Basic ${Buffer.from('ops:hunter2-hunter2').toString('base64')}`;
  assert.equal(redact(`echo: ${header.slice(0, 20)}`, [password], { truncated: true }), 'echo: Basic <secret>');
});

test('a secret echoed inside a JSON string (quotes and backslashes escaped) is redacted too', () => {
  const s = new Secret('pa"ss\\word');
  const body = JSON.stringify({ error: `bad password ${s.reveal()}` });
  assert.equal(redact(body, [s]), '{"error":"bad password <secret>"}');
});
