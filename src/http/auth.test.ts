import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { Secret } from '../lib/secret.ts';
import { createAuthenticator, INTERNAL_SOURCE } from './auth.ts';

test('the relay\'s own credential is accepted whatever the sources, as the internal source; it changes nothing else', () => {
  const open = createAuthenticator(() => [], 'own-token');
  assert.deepEqual(open('Bearer own-token'), { ok: true, source: INTERNAL_SOURCE, internal: true });
  assert.deepEqual(open(undefined), { ok: true, source: undefined }, 'no sources: still open to all');
  assert.deepEqual(open('Bearer other'), { ok: true, source: undefined });

  const guarded = createAuthenticator(() => [{ name: 'zeebe', token: new Secret('zeebe-token'), signingSecrets: [] }], 'own-token');
  assert.deepEqual(guarded('Bearer own-token'), { ok: true, source: 'canary', internal: true });
  assert.deepEqual(guarded('Bearer zeebe-token'), { ok: true, source: 'zeebe' });
  assert.deepEqual(guarded('Bearer nope'), { ok: false, message: 'unknown token' });

  const none = createAuthenticator(() => [{ name: 'zeebe', token: new Secret('zeebe-token'), signingSecrets: [] }]);
  assert.deepEqual(none('Bearer own-token'), { ok: false, message: 'unknown token' }, 'without canaries there is no own credential');
});

test('basic auth: the user name and password of a source (a colon in the password kept), never another source\'s', () => {
  const b64 = (t: string) => `Basic ${Buffer.from(t).toString('base64')}`;
  const auth = createAuthenticator(() => [
    { name: 'prom', basicAuth: { username: 'prometheus', password: new Secret('pa:ss') }, signingSecrets: [] },
    { name: 'zeebe', token: new Secret('zeebe-token'), signingSecrets: [] },
  ]);
  assert.deepEqual(auth(b64('prometheus:pa:ss')), { ok: true, source: 'prom' });
  assert.deepEqual(auth(b64('prometheus:pa')), { ok: false, message: 'unknown user name or password' });
  assert.deepEqual(auth(b64('zeebe:zeebe-token')), { ok: false, message: 'unknown user name or password' });
  assert.deepEqual(auth(b64('no colon')), { ok: false, message: 'unknown user name or password' });
  assert.deepEqual(auth('Bearer zeebe-token'), { ok: true, source: 'zeebe' });
  assert.deepEqual(auth('Digest x'), { ok: false, message: 'Authorization must be "Bearer <token>" or "Basic <credentials>"' });
});
