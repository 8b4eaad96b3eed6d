import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { signStandardWebhook } from './signing.ts';

const vector = JSON.parse(
  readFileSync(new URL('../../test/fixtures/standard-webhooks/test-vector.json', import.meta.url), 'utf8'),
) as Record<string, string>;

test('signature matches the Standard Webhooks reference vector exactly', () => {
  const sig = signStandardWebhook(vector.secret!, vector['webhook-id']!, vector['webhook-timestamp']!, vector.body!);
  assert.equal(sig, vector['webhook-signature']);
});

test('a numeric timestamp signs the same as its decimal string', () => {
  const ts = Number(vector['webhook-timestamp']);
  assert.equal(signStandardWebhook(vector.secret!, vector['webhook-id']!, ts, vector.body!), vector['webhook-signature']);
});

test('a tampered body, id, timestamp or secret gives a different signature', () => {
  const { secret, body } = vector as { secret: string; body: string };
  const id = vector['webhook-id']!;
  const ts = vector['webhook-timestamp']!;
  const good = vector['webhook-signature'];
  assert.notEqual(signStandardWebhook(secret, id, ts, body.replace('2432232314', '2432232315')), good);
  assert.notEqual(signStandardWebhook(secret, id + 'x', ts, body), good);
  assert.notEqual(signStandardWebhook(secret, id, Number(ts) + 1, body), good);
  assert.notEqual(signStandardWebhook('whsec_' + Buffer.from('other key').toString('base64'), id, ts, body), good);
});
