import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { redact, Secret } from './secret.ts';

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
