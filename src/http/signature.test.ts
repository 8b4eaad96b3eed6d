import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Secret } from '../lib/secret.ts';
import { signStandardWebhook } from '../channels/signing.ts';
import type { SourceConfig } from '../config/types.ts';
import { verifySignature } from './signature.ts';

// The Standard Webhooks reference libraries' test vector (test/fixtures/SOURCES.md).
const vector = JSON.parse(readFileSync(new URL('../../test/fixtures/standard-webhooks/test-vector.json', import.meta.url), 'utf8')) as Record<string, string>;
const at = Number(vector['webhook-timestamp']) * 1000;
const source = (name: string, ...secrets: string[]): SourceConfig => ({ name, signingSecrets: secrets.map((s) => new Secret(s)) });
const OTHER = 'whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldA==';
const req = (over: Partial<Record<'id' | 'timestamp' | 'signature' | 'body', string | undefined>> = {}) => ({
  id: vector['webhook-id'], timestamp: vector['webhook-timestamp'], signature: vector['webhook-signature'], body: vector.body!, ...over,
});

test('the test vector verifies; the source whose secret signed it is named', () => {
  assert.deepEqual(verifySignature(req(), [source('a', OTHER), source('b', vector.secret!)], at), { ok: true, source: 'b', id: vector['webhook-id'] });
});

test('rotation: the previous secret still verifies; several signatures in the header, any one may match', () => {
  assert.equal(verifySignature(req(), [source('a', OTHER, vector.secret!)], at).ok, true);
  const both = `v1,${Buffer.from('x').toString('base64')} ${vector['webhook-signature']}`;
  assert.equal(verifySignature(req({ signature: both }), [source('a', vector.secret!)], at).ok, true);
  assert.equal(verifySignature(req({ signature: 'v2,abc v1,AAAA' }), [source('a', vector.secret!)], at).ok, false);
});

test('refused: another body, id or timestamp; a timestamp over 5 minutes off; missing headers; no secret', () => {
  const cases: [string, ReturnType<typeof req>, number, RegExp][] = [
    ['body changed', req({ body: '{"test": 1}' }), at, /no signature matches/],
    ['id changed', req({ id: 'msg_other' }), at, /no signature matches/],
    ['5 min + 1 s late', req(), at + 301_000, /more than 5 minutes/],
    ['5 min + 1 s early', req(), at - 301_000, /more than 5 minutes/],
    ['no id', req({ id: undefined }), at, /needs the webhook-id/],
    ['timestamp not seconds', req({ timestamp: '2021-02-25' }), at, /whole seconds/],
    ['no v1 signature', req({ signature: 'garbage' }), at, /no "v1,<base64>"/],
  ];
  for (const [name, r, now, message] of cases) {
    const v = verifySignature(r, [source('a', vector.secret!)], now);
    assert.equal(v.ok, false, name);
    assert.match((v as { message: string }).message, message, name);
  }
  assert.equal(verifySignature(req(), [source('a', vector.secret!)], at + 299_000).ok, true, 'within 5 minutes');
  assert.equal(verifySignature(req(), [{ name: 'tokens-only', token: new Secret('t'), signingSecrets: [] }], at).ok, false);
});

test('a signature made with the channel signer verifies (the relay can sign for itself)', () => {
  const body = '{"name":"X"}';
  const sig = signStandardWebhook(OTHER, 'msg_1', 1_700_000_000, body);
  assert.equal(verifySignature({ id: 'msg_1', timestamp: '1700000000', signature: sig, body }, [source('a', OTHER)], 1_700_000_000_000).ok, true);
});
