/**
 * Monasca `alarm-transitioned` messages over HTTP, end to end through app.fetch (no sockets):
 * POST /v1/monasca → 202 with the alarm and its notification stored; a repeat of the same transition is
 * answered with the original ids; old alarms (alarm_ttl) and UNDETERMINED under `ignore` → 200 ignored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHarness, type Harness, type HarnessOptions } from './app-harness.ts';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/monasca/${name}`, import.meta.url), 'utf8');
const EXAMPLE = fixture('alarm-example.json'); // timestamp 2013-08-01: far older than the 4 h TTL
const WEBHOOK = fixture('webhook-test-alarm.json');
const WEBHOOK_TS = 1429023453632;

async function withHarness(opts: HarnessOptions, fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await createHarness(opts);
  try {
    await fn(h);
  } finally {
    await h.cleanup();
  }
}

test('POST /v1/monasca: 202, the alarm and its notification stored; the same transition again is a repeat', async () => {
  // The fixture's 2015 timestamp is within the TTL for a clock one minute after it.
  await withHarness({ clock: { now: () => WEBHOOK_TS + 60_000 } }, async (h) => {
    const r = await h.post('/v1/monasca', WEBHOOK);
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.alarm_ids.length, 1);
    assert.equal(r.json.notification_ids.length, 1);

    const alarm = h.app.store.queries.getAlarm(r.json.alarm_ids[0]);
    assert.ok(alarm, 'the alarm is in the store when the 202 arrives');
    assert.deepEqual(
      { source: alarm.source, name: alarm.name, severity: alarm.severity, status: alarm.status, dedupKey: alarm.dedupKey, occurredAt: alarm.occurredAt },
      { source: 'monasca', name: 'test Alarm', severity: 'info', status: 'firing', dedupKey: 'monasca:0', occurredAt: WEBHOOK_TS },
    );
    assert.deepEqual(alarm.labels, { hostname: 'foo1', service: 'bar1', tenant_id: '0', alarm_definition_id: '0', alarm_id: '0', lifecycle_state: 'OPEN' });
    assert.deepEqual(alarm.details, JSON.parse(WEBHOOK));
    assert.deepEqual(
      h.app.store.queries.notificationsOf(alarm.id).map((n) => ({ id: n.id, method: n.method, state: n.state })),
      [{ id: r.json.notification_ids[0], method: 'log', state: 'pending' }],
    );

    const again = await h.post('/v1/monasca', WEBHOOK);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.json, { alarm_ids: r.json.alarm_ids, notification_ids: r.json.notification_ids, duplicates: 1 });
    assert.equal(h.count('alarms'), 1);
    assert.equal(h.count('notifications'), 1);
  });
});

test('POST /v1/monasca: an alarm older than alarm_ttl → 200 ignored, nothing stored; alarm_ttl 0 takes it', async () => {
  await withHarness({}, async (h) => {
    const r = await h.post('/v1/monasca', EXAMPLE);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { ignored: 'alarm older than alarm_ttl 4h: skipped, as monasca-notification does' });
    assert.equal(h.count('alarms'), 0);
    assert.equal(h.count('notifications'), 0);
    assert.match((await h.get('/metrics')).text, /tocsin_alarms_skipped_total\{source="monasca",reason="ttl"\} 1/);
  });
  await withHarness({ yaml: 'ingest: { formats: { monasca: { alarm_ttl: 0 } } }' }, async (h) => {
    const r = await h.post('/v1/monasca', EXAMPLE);
    assert.equal(r.status, 202, r.text);
    assert.equal(h.count('notifications'), 1);
  });
});

test('POST /v1/monasca: UNDETERMINED under undetermined: ignore → 200 ignored; a bad field → 400 naming it', async () => {
  const undetermined = WEBHOOK.replace('"newState": "ALARM"', '"newState": "UNDETERMINED"');
  assert.notEqual(undetermined, WEBHOOK);
  await withHarness({ yaml: 'ingest: { formats: { monasca: { undetermined: ignore } } }', clock: { now: () => WEBHOOK_TS } }, async (h) => {
    const r = await h.post('/v1/monasca', undetermined);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { ignored: 'newState UNDETERMINED is ignored (ingest.formats.monasca.undetermined: ignore)' });

    const bad = await h.post('/v1/monasca', WEBHOOK.replace('"newState": "ALARM"', '"newState": "FIRING"'));
    assert.equal(bad.status, 400, bad.text);
    assert.deepEqual(bad.json, {
      error: 'must be one of ALARM, OK, UNDETERMINED, got "FIRING"',
      code: 'invalid_request',
      field: 'alarm-transitioned.newState',
    });
    assert.equal(h.count('alarms'), 0);
  });
});

test('POST /v1/monasca: actionsEnabled false → 202, the alarm recorded with no notification, counted as actions_disabled', async () => {
  const off = WEBHOOK.replace('"alarmId": "0"', '"alarmId": "0", "actionsEnabled": false');
  assert.notEqual(off, WEBHOOK);
  await withHarness({ clock: { now: () => WEBHOOK_TS } }, async (h) => {
    const r = await h.post('/v1/monasca', off);
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(r.json.notification_ids, []);
    assert.equal(r.json.unrouted, undefined, 'not reported as unrouted: it is not notified on purpose');
    const alarm = h.app.store.queries.getAlarm(r.json.alarm_ids[0]);
    assert.equal(alarm?.annotations.actions_enabled, 'false');
    assert.equal(h.count('notifications'), 0);
    const metrics = (await h.get('/metrics')).text;
    assert.match(metrics, /tocsin_alarms_skipped_total\{source="monasca",reason="actions_disabled"\} 1/);
    assert.doesNotMatch(metrics, /tocsin_alarms_unrouted_total\{/);
  });
});
