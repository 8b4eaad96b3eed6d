/**
 * Zeebe / Camunda 8 incidents end to end: POST /v1/zeebe (through app.fetch) → outbox → dispatcher →
 * a real webhook receiver on 127.0.0.1. 64-bit keys must arrive byte-exact; deliveries are signed
 * (Standard Webhooks) and verified here independently of src/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createHarness, type Harness } from './app-harness.ts';
import { startWebhookSink, type ReceivedRequest, type WebhookSink } from './webhook-sink.ts';

const FIXTURES = new URL('../fixtures/zeebe/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');

// ---- Standard Webhooks verification (independent of src/channels/signing.ts) ----------------------

function verifySignature(secret: string, headers: ReceivedRequest['headers'], body: string): { ok: boolean; why?: string } {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sig = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof ts !== 'string' || typeof sig !== 'string') return { ok: false, why: 'missing webhook-* headers' };
  if (!/^\d+$/.test(ts)) return { ok: false, why: `bad webhook-timestamp ${ts}` };
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${ts}.${body}`, 'utf8').digest();
  // The header may carry several space-separated "v1,<base64>" signatures; one must match.
  for (const part of sig.split(' ')) {
    const [version, b64] = part.split(',');
    if (version !== 'v1' || b64 === undefined) continue;
    const got = Buffer.from(b64, 'base64');
    if (got.length === expected.length && timingSafeEqual(got, expected)) return { ok: true };
  }
  return { ok: false, why: 'no matching v1 signature' };
}

test('the verifier used here accepts the Standard Webhooks test vector and rejects a tampered body', () => {
  const v = JSON.parse(readFileSync(new URL('../fixtures/standard-webhooks/test-vector.json', import.meta.url), 'utf8'));
  const headers = { 'webhook-id': v['webhook-id'], 'webhook-timestamp': v['webhook-timestamp'], 'webhook-signature': v['webhook-signature'] };
  assert.deepEqual(verifySignature(v.secret, headers, v.body), { ok: true });
  assert.equal(verifySignature(v.secret, headers, v.body.replace('2432232314', '2432232315')).ok, false);
  assert.equal(verifySignature(v.secret, { ...headers, 'webhook-id': 'msg_other' }, v.body).ok, false);
});

// ---- setup ---------------------------------------------------------------------------------------

interface Setup {
  readonly h: Harness;
  readonly sink: WebhookSink;
  readonly secret: string;
  /** Waits until the sink accepted a delivery of each alarm id; returns them in the given order. */
  delivered(alarmIds: readonly string[], timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

async function setup(): Promise<Setup> {
  const sink = await startWebhookSink();
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const yaml = [
    'methods:',
    '  hook:',
    '    type: webhook',
    `    url: ${JSON.stringify(sink.url)}`,
    `    signing_secret: ${JSON.stringify(secret)}`,
    '    backoff_base: 50ms',
    '    backoff_cap: 200ms',
    'delivery: { poll_interval: 50ms }',
    'routes:',
    '  - methods: [hook]',
  ].join('\n');
  let h: Harness;
  try {
    h = await createHarness({ yaml, start: true });
  } catch (e) {
    await sink.close();
    throw e;
  }
  return {
    h,
    sink,
    secret,
    async delivered(alarmIds, timeoutMs = 10_000) {
      const ok = await sink.waitUntil(() => alarmIds.every((id) => sink.firstAcceptedByAlarm.has(id)), timeoutMs);
      assert.ok(ok, `not delivered in time: ${alarmIds.filter((id) => !sink.firstAcceptedByAlarm.has(id)).join(', ')}; sink saw ${sink.requests.length} requests; log: ${h.logger.text().slice(-2000)}`);
      return alarmIds.map((id) => sink.firstAcceptedByAlarm.get(id)!);
    },
    async close() {
      try {
        await h.cleanup();
      } finally {
        await sink.close();
      }
    },
  };
}

function assertSigned(s: Setup): void {
  assert.ok(s.sink.requests.length > 0);
  for (const r of s.sink.requests) {
    assert.deepEqual(verifySignature(s.secret, r.headers, r.body), { ok: true }, `request ${r.index}`);
    assert.equal(r.headers['webhook-id'], r.notificationId, 'webhook-id is the notification id');
  }
}

// ---- fixtures ------------------------------------------------------------------------------------

test('every Zeebe fixture POSTed to /v1/zeebe: incidents delivered, other records ignored and not stored', async () => {
  const s = await setup();
  try {
    const { h, sink } = s;
    const expectations: Record<string, (text: string) => Promise<void>> = {
      'incident-alerter-readme-created-0.22.json': async (text) => {
        const r = await h.post('/v1/zeebe', text);
        assert.equal(r.status, 202, r.text);
        assert.deepEqual(Object.keys(r.json).sort(), ['alarm_ids', 'notification_ids']);
        const [got] = await s.delivered(r.json.alarm_ids);
        const env = JSON.parse(got!.body);
        assert.equal(env.version, '1');
        assert.equal(env.notification_id, r.json.notification_ids[0]);
        assert.equal(env.attempt, 1);
        assert.equal(env.method, 'hook');
        assert.equal(got!.headers['idempotency-key'], env.notification_id);
        assert.equal(got!.headers['content-type'], 'application/json');
        const a = env.alarm;
        assert.equal(a.id, r.json.alarm_ids[0]);
        assert.equal(a.source, 'zeebe');
        assert.equal(a.name, 'ZeebeIncident');
        assert.equal(a.severity, 'error');
        assert.equal(a.status, 'firing');
        assert.equal(a.summary, 'IO_MAPPING_ERROR in create-incident at Task_194z010: No data found for query does_not_exist.');
        assert.equal(a.description, 'No data found for query does_not_exist.');
        assert.equal(a.occurred_at, new Date(1580785145828).toISOString());
        assert.equal(a.dedup_key, 'zeebe:1:2251799813685263');
        assert.deepEqual(a.labels, { bpmnProcessId: 'create-incident', elementId: 'Task_194z010', errorType: 'IO_MAPPING_ERROR', partitionId: '1' });
        assert.deepEqual(a.annotations, {
          key: '2251799813685263',
          processInstanceKey: '2251799813685258',
          processDefinitionKey: '2251799813685249',
          elementInstanceKey: '2251799813685262',
          jobKey: '-1',
          variableScopeKey: '2251799813685262',
          position: '4294998496',
          errorMessage: 'No data found for query does_not_exist.',
        });
        // details: the record, keys and positions as decimal strings, everything else as sent.
        assert.equal(a.details.key, '2251799813685263');
        assert.equal(a.details.position, '4294998496');
        assert.equal(a.details.sourceRecordPosition, '4294998144');
        assert.equal(a.details.timestamp, 1580785145828);
        assert.equal(a.details.value.workflowInstanceKey, '2251799813685258');
        assert.equal(a.details.value.jobKey, '-1');
        assert.equal(a.details.value.errorType, 'IO_MAPPING_ERROR');
      },
      'protocol-record-envelope-8x.json': async (text) => {
        const before = h.count('alarms');
        const r = await h.post('/v1/zeebe', text);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, { ignored: 'valueType DEPLOYMENT is not INCIDENT' });
        assert.equal(h.count('alarms'), before, 'nothing stored');
      },
      'protocol-incident-value-8x.json': async (text) => {
        // A record's `value` alone is not a record.
        const before = h.count('alarms');
        const r = await h.post('/v1/zeebe', text);
        assert.equal(r.status, 400, r.text);
        assert.deepEqual(r.json, { error: 'is required', code: 'invalid_request', field: 'valueType' });
        assert.equal(h.count('alarms'), before);
      },
    };
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(files, Object.keys(expectations).sort(), 'every fixture has an expectation here');
    for (const f of files) await expectations[f]!(fixture(f));
    assert.equal(h.count('alarms'), 1);
    assert.equal(sink.counts().accepted, 1);
    assertSigned(s);
  } finally {
    await s.close();
  }
});

// ---- Camunda 8, partition 5: keys beyond 2^53 -----------------------------------------------------

// Odd offsets: these are not representable as doubles (between 2^53 and 2^54 only even integers are), so
// any JSON.parse / Number round trip on the way would change the digits.
const P5 = 5n << 51n;
const KEYS = {
  key: P5 + 43n,
  processInstanceKey: P5 + 11n,
  processDefinitionKey: P5 + 135n,
  elementInstanceKey: P5 + 35n,
  jobKey: P5 + 123n,
  variableScopeKey: P5 + 37n,
  position: (1n << 62n) + 4321n,
} as const;
type KeyName = keyof typeof KEYS;
const DIGITS = Object.fromEntries(Object.entries(KEYS).map(([k, v]) => [k, v.toString()])) as Record<KeyName, string>;

/**
 * A Camunda 8 INCIDENT record built from protocol-record-envelope-8x.json (envelope) and
 * protocol-incident-value-8x.json (value), on partition 5, with its keys written as raw JSON number digits.
 */
function camunda8Incident(intent: 'CREATED' | 'RESOLVED'): string {
  const envelope = JSON.parse(fixture('protocol-record-envelope-8x.json')) as Record<string, unknown>;
  const value = JSON.parse(fixture('protocol-incident-value-8x.json')) as Record<string, unknown>;
  const record = {
    ...envelope,
    valueType: 'INCIDENT',
    recordType: 'EVENT',
    intent,
    partitionId: 5,
    rejectionType: 'NULL_VAL',
    rejectionReason: '',
    key: '@key',
    position: '@position',
    value: {
      ...value,
      processInstanceKey: '@processInstanceKey',
      processDefinitionKey: '@processDefinitionKey',
      elementInstanceKey: '@elementInstanceKey',
      jobKey: '@jobKey',
      variableScopeKey: '@variableScopeKey',
      elementInstancePath: [['@processInstanceKey', '@elementInstanceKey']],
    },
  };
  const text = JSON.stringify(record).replace(/"@(\w+)"/g, (_, k: string) => DIGITS[k as KeyName]);
  assert.ok(text.includes(`"key":${DIGITS.key},`), 'keys are raw number digits in the request');
  return text;
}

test('Camunda 8 incident on partition 5: 64-bit keys arrive byte-exact; RESOLVED pairs; a repeat is 200', async () => {
  const s = await setup();
  try {
    const { h, sink } = s;
    const created = await h.post('/v1/zeebe', camunda8Incident('CREATED'));
    assert.equal(created.status, 202, created.text);
    const [got] = await s.delivered(created.json.alarm_ids);
    const body = got!.body;

    // Byte-exact in the raw received text: in annotations and in details.
    const annotationsText = body.slice(body.indexOf('"annotations":{'), body.indexOf('}', body.indexOf('"annotations":{')));
    const detailsText = body.slice(body.indexOf('"details":{'));
    assert.ok(annotationsText.length > 0 && detailsText.length > 0, body);
    for (const [name, digits] of Object.entries(DIGITS)) {
      assert.ok(annotationsText.includes(`"${name}":"${digits}"`), `annotations carry "${name}":"${digits}": ${annotationsText}`);
      assert.ok(detailsText.includes(`"${name}":"${digits}"`), `details carry "${name}":"${digits}"`);
      const lossy = String(Number(digits));
      assert.notEqual(lossy, digits);
      assert.ok(!body.includes(lossy), `the rounded ${name} ${lossy} appears in the body`);
    }
    assert.ok(detailsText.includes(`"elementInstancePath":[["${DIGITS.processInstanceKey}","${DIGITS.elementInstanceKey}"]]`));

    // And as exact strings in the parsed envelope.
    const env = JSON.parse(body);
    const a = env.alarm;
    assert.equal(a.id, created.json.alarm_ids[0]);
    assert.equal(env.notification_id, created.json.notification_ids[0]);
    assert.equal(a.source, 'zeebe');
    assert.equal(a.status, 'firing');
    assert.equal(a.dedup_key, `zeebe:5:${DIGITS.key}`);
    assert.deepEqual(a.labels, { bpmnProcessId: 'process', elementId: 'activity', errorType: 'IO_MAPPING_ERROR', partitionId: '5', tenantId: '<default>' });
    assert.deepEqual(a.annotations, { ...DIGITS, errorMessage: 'error' });
    assert.equal(a.summary, 'IO_MAPPING_ERROR in process at activity: error');
    assert.equal(a.occurred_at, new Date(2191).toISOString());
    assert.equal(a.details.key, DIGITS.key);
    assert.equal(a.details.position, DIGITS.position);
    assert.equal(a.details.partitionId, 5);
    assert.equal(a.details.brokerVersion, '1.2.3');
    assert.deepEqual(a.details.authorizations, { foo: 'bar' });
    for (const k of ['processInstanceKey', 'processDefinitionKey', 'elementInstanceKey', 'jobKey', 'variableScopeKey'] as const) {
      assert.equal(a.details.value[k], DIGITS[k], `details.value.${k}`);
    }
    assert.deepEqual(a.details.value.elementInstancePath, [[DIGITS.processInstanceKey, DIGITS.elementInstanceKey]]);
    assert.deepEqual(a.details.value.processDefinitionPath, ['101', '102']);
    assert.deepEqual(a.details.value.callingElementPath, ['12345', '67890']);
    // The stored row keeps them exactly too.
    assert.deepEqual(h.app.store.queries.getAlarm(a.id)!.annotations, { ...DIGITS, errorMessage: 'error' });

    // The same occurrence again (same partitionId + key + intent): 200 with the original ids, no new delivery.
    const repeat = await h.post('/v1/zeebe', camunda8Incident('CREATED'));
    assert.equal(repeat.status, 200, repeat.text);
    assert.deepEqual(repeat.json, { alarm_ids: created.json.alarm_ids, notification_ids: created.json.notification_ids, duplicates: 1 });

    // RESOLVED for the same key: a resolved alarm with the same dedup_key.
    const resolved = await h.post('/v1/zeebe', camunda8Incident('RESOLVED'));
    assert.equal(resolved.status, 202, resolved.text);
    assert.notEqual(resolved.json.alarm_ids[0], created.json.alarm_ids[0]);
    const [gotResolved] = await s.delivered(resolved.json.alarm_ids);
    const r = JSON.parse(gotResolved!.body).alarm;
    assert.equal(r.status, 'resolved');
    assert.equal(r.dedup_key, a.dedup_key);
    assert.equal(r.annotations.key, DIGITS.key);
    assert.ok(gotResolved!.body.includes(`"key":"${DIGITS.key}"`));

    const again = await h.post('/v1/zeebe', camunda8Incident('RESOLVED'));
    assert.equal(again.status, 200);
    assert.deepEqual(again.json.alarm_ids, resolved.json.alarm_ids);

    // A key written in a lossy form is refused, naming it.
    const lossy = camunda8Incident('CREATED').replace(`"key":${DIGITS.key},`, `"key":${Number(DIGITS.key).toExponential()},`);
    const refused = await h.post('/v1/zeebe', lossy);
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.json.field, 'key');
    assert.equal(refused.json.code, 'invalid_request');

    await h.app.dispatcher.idle();
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(sink.counts().accepted, 2, 'one delivery each for CREATED and RESOLVED');
    assert.equal(sink.counts().duplicates, 0);
    assert.equal(h.count('alarms'), 2);
    assertSigned(s);
  } finally {
    await s.close();
  }
});

// ---- signing -------------------------------------------------------------------------------------

test('webhook signing end to end: HMAC-SHA256 over id.timestamp.body with the base64-decoded secret', async () => {
  const s = await setup();
  try {
    const { h, sink } = s;
    const r = await h.post('/v1/alarms', [
      { name: 'Signed', summary: 'ünïcödé 😀 \u2028 "quotes" \\ </script>', labels: { a: 'b' } },
      { name: 'Signed2', severity: 'critical' },
    ]);
    assert.equal(r.status, 202, r.text);
    const got = await s.delivered(r.json.alarm_ids);
    const nowSec = Math.floor(Date.now() / 1000);
    got.forEach((req, i) => {
      const env = JSON.parse(req.body);
      assert.equal(req.headers['webhook-id'], env.notification_id);
      assert.equal(env.notification_id, r.json.notification_ids[i]);
      const ts = Number(req.headers['webhook-timestamp']);
      assert.ok(Math.abs(nowSec - ts) <= 60, `webhook-timestamp ${ts} is within a minute of now (${nowSec})`);
      assert.match(String(req.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]{43}=$/);
      assert.deepEqual(verifySignature(s.secret, req.headers, req.body), { ok: true });
      // The signature covers the body and the id: changing either breaks it.
      assert.equal(verifySignature(s.secret, req.headers, req.body.replace('Signed', 'Signet')).ok, false);
      assert.equal(verifySignature(s.secret, { ...req.headers, 'webhook-id': 'ntf_other' }, req.body).ok, false);
      assert.equal(verifySignature(`whsec_${randomBytes(24).toString('base64')}`, req.headers, req.body).ok, false);
    });
    assert.equal(JSON.parse(got[0]!.body).alarm.summary, 'ünïcödé 😀 \u2028 "quotes" \\ </script>');
    assert.equal(sink.counts().accepted, 2);
    // The secret itself never appears anywhere.
    const everything = [h.logger.text(), ...sink.requests.map((q) => `${JSON.stringify(q.headers)} ${q.body}`)].join('\n');
    assert.ok(!everything.includes(s.secret) && !everything.includes(s.secret.slice(6)), 'the signing secret leaked');
  } finally {
    await s.close();
  }
});
