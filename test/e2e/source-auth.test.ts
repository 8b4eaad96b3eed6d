/**
 * Source credentials other than a bearer token: basic auth (Prometheus, Alertmanager) and signed ingest
 * (Standard Webhooks), in process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signStandardWebhook } from '../../src/channels/signing.ts';
import { createHarness } from './app-harness.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OLD_SECRET = 'whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldA==';
const PASSWORD = 'prom-pass:with-colon-9f8e7d';
const TOKEN = 'tok-0123456789abcdef0123';

const yaml = `
sources:
  signed: { signing_secret: "${SECRET}", previous_signing_secret: "${OLD_SECRET}" }
  prom: { basic_auth: { username: prometheus, password: "${PASSWORD}" } }
  tok: { token: ${TOKEN} }
`;

function signed(body: string, opts: { secret?: string; id?: string; at?: number } = {}): Record<string, string> {
  const ts = Math.floor((opts.at ?? Date.now()) / 1000);
  const id = opts.id ?? `msg_${Math.random().toString(36).slice(2)}`;
  return { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signStandardWebhook(opts.secret ?? SECRET, id, ts, body) };
}

test('signed ingest: the signing source is the alarm\'s; a replayed webhook-id is a repeat; bad or stale signatures are 401; rotation works', async () => {
  const h = await createHarness({ yaml });
  try {
    const body = JSON.stringify({ name: 'Signed', labels: { n: '1' } });
    const headers = signed(body, { id: 'msg_replay_1' });
    const first = await h.post('/v1/alarms', body, headers);
    assert.equal(first.status, 202, first.text);
    assert.equal(h.app.store.queries.getAlarm(first.json.alarm_ids[0])!.source, 'signed');
    const replay = await h.post('/v1/alarms', body, headers);
    assert.equal(replay.status, 200, 'a replay is a repeat');
    assert.deepEqual(replay.json.alarm_ids, first.json.alarm_ids);
    assert.equal(h.count('alarms'), 1, 'nothing stored again');
    const disguised = await h.post('/v1/alarms', body, { ...headers, 'idempotency-key': 'attacker-1' });
    assert.equal(disguised.status, 200, 'an Idempotency-Key (not signed) does not make a replay new');
    assert.equal(h.count('alarms'), 1);
    // Ids that share their first 255 characters are still different messages.
    const long = 'msg_' + 'x'.repeat(300);
    for (const tail of ['a', 'b']) assert.equal((await h.post('/v1/alarms', body, signed(body, { id: long + tail }))).status, 202, tail);

    const other = JSON.stringify({ name: 'Signed', labels: { n: '2' } });
    const tampered = await h.post('/v1/alarms', other, headers);
    assert.equal(tampered.status, 401);
    assert.match(tampered.json.error, /no signature matches/);
    const stale = await h.post('/v1/alarms', other, signed(other, { at: Date.now() - 6 * 60_000 }));
    assert.equal(stale.status, 401);
    assert.match(stale.json.error, /5 minutes/);
    const rotated = await h.post('/v1/alarms', other, signed(other, { secret: OLD_SECRET }));
    assert.equal(rotated.status, 202, 'the previous secret still verifies');
    const unknown = await h.post('/v1/alarms', other, signed(other, { secret: 'whsec_bm90IGEgc291cmNlJ3Mgc2VjcmV0' }));
    assert.equal(unknown.status, 401);
    // A token still works next to signatures; a request with neither is refused.
    assert.equal((await h.post('/v1/alarms', { name: 'Tok' }, { authorization: `Bearer ${TOKEN}` })).status, 202);
    assert.equal((await h.post('/v1/alarms', { name: 'None' })).status, 401);
    const everything = [first.text, replay.text, tampered.text, stale.text, h.logger.text()].join('\n');
    for (const s of [SECRET, OLD_SECRET, SECRET.slice(6, 20)]) assert.ok(!everything.includes(s), 'a secret leaked');
  } finally {
    await h.cleanup();
  }
});

test('with authentication off, a signed request is an ordinary one (its signature headers are ignored)', async () => {
  const h = await createHarness({});
  try {
    const body = JSON.stringify({ name: 'Open' });
    assert.equal((await h.post('/v1/alarms', body, signed(body, { secret: OLD_SECRET }))).status, 202);
    assert.equal((await h.post('/v1/alarms', body, { ...signed(body), authorization: '' })).status, 202);
  } finally {
    await h.cleanup();
  }
});

test('an empty Authorization header next to a signature is no credential: the signature decides', async () => {
  const h = await createHarness({ yaml });
  try {
    const body = JSON.stringify({ name: 'EmptyAuth' });
    assert.equal((await h.post('/v1/alarms', body, { ...signed(body), authorization: '' })).status, 202);
  } finally {
    await h.cleanup();
  }
});

test('basic auth: Prometheus and Alertmanager can send a user name and password instead of a token', async () => {
  const h = await createHarness({ yaml });
  try {
    const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });
    const ok = await h.post('/v1/alarms', { name: 'Basic' }, basic('prometheus', PASSWORD));
    assert.equal(ok.status, 202, ok.text);
    assert.equal(h.app.store.queries.getAlarm(ok.json.alarm_ids[0])!.source, 'prom');
    const wrong = await h.post('/v1/alarms', { name: 'Basic' }, basic('prometheus', 'nope'));
    assert.equal(wrong.status, 401);
    assert.ok(!`${wrong.text}${h.logger.text()}`.includes(PASSWORD));
  } finally {
    await h.cleanup();
  }
});
