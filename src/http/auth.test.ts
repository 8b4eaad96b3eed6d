import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Secret } from '../lib/secret.ts';
import { createAuthenticator, INTERNAL_SOURCE } from './auth.ts';

test('the relay\'s own credential is accepted whatever the sources, as the internal source; it changes nothing else', () => {
  const open = createAuthenticator(() => [], 'own-token');
  assert.deepEqual(open('Bearer own-token'), { ok: true, source: INTERNAL_SOURCE, internal: true });
  assert.deepEqual(open(undefined), { ok: true, source: undefined }, 'no sources: still open to all');
  assert.deepEqual(open('Bearer other'), { ok: true, source: undefined });

  const guarded = createAuthenticator(() => [{ name: 'zeebe', token: new Secret('zeebe-token') }], 'own-token');
  assert.deepEqual(guarded('Bearer own-token'), { ok: true, source: 'canary', internal: true });
  assert.deepEqual(guarded('Bearer zeebe-token'), { ok: true, source: 'zeebe' });
  assert.deepEqual(guarded('Bearer nope'), { ok: false, message: 'unknown token' });

  const none = createAuthenticator(() => [{ name: 'zeebe', token: new Secret('zeebe-token') }]);
  assert.deepEqual(none('Bearer own-token'), { ok: false, message: 'unknown token' }, 'without canaries there is no own credential');
});
