import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { IngestError } from './errors.ts';
import { formatDuration, monascaFormat, parseMonasca, type MonascaOptions } from './monasca.ts';
import type { ParsedAlarm, ParseOutcome } from './types.ts';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/monasca/${name}`, import.meta.url), 'utf8');
/** From monasca-notification's alarm processor tests: timestamp 2013-08-01, metrics a plain string. */
const EXAMPLE = fixture('alarm-example.json');
const EXAMPLE_TS = 1375346830042;
/** From monasca-notification's webhook test: no actionsEnabled, alarmDefinitionId a number, one metric with dimensions. */
const WEBHOOK = fixture('webhook-test-alarm.json');
const WEBHOOK_TS = 1429023453632;

const HOUR = 3_600_000;
const opts: MonascaOptions = { undetermined: 'firing', alarm_ttl: 4 * HOUR };
const ctxAt = (now: number) => ({ source: 'monasca-prod', now });

/** The webhook fixture with changes applied to its `alarm-transitioned` (safe through JSON: its numbers are small). */
function webhook(change: (t: Record<string, unknown>) => void): string {
  const msg = JSON.parse(WEBHOOK) as Record<string, Record<string, unknown>>;
  change(msg['alarm-transitioned']!);
  return JSON.stringify(msg);
}

function only(out: ParseOutcome): ParsedAlarm {
  assert.equal(out.kind, 'alarms', out.kind === 'ignored' ? out.reason : '');
  assert.equal(out.kind === 'alarms' ? out.items.length : 0, 1);
  return out.kind === 'alarms' ? out.items[0]! : (undefined as never);
}

function ignoredReason(out: ParseOutcome): string {
  assert.equal(out.kind, 'ignored');
  return out.kind === 'ignored' ? out.reason : '';
}

/** parseMonasca(body) throws a 400 IngestError with exactly this field and message. */
function throwsOn(body: string, field: string, message: string): void {
  assert.throws(
    () => parseMonasca(body, ctxAt(WEBHOOK_TS), opts),
    (e: unknown) => {
      assert.ok(e instanceof IngestError, `not an IngestError: ${String(e)}`);
      assert.deepEqual({ field: e.field, message: e.message, status: e.status }, { field, message, status: 400 });
      return true;
    },
  );
}

test('alarm-example.json (2013) is skipped under the 4 h TTL, as monasca-notification does', () => {
  assert.equal(
    ignoredReason(parseMonasca(EXAMPLE, ctxAt(EXAMPLE_TS + 5 * HOUR), opts)),
    'alarm older than alarm_ttl 4h: skipped, as monasca-notification does',
  );
  // At exactly the TTL it is still taken (monasca skips only when strictly older); alarm_ttl 0 turns the check off.
  assert.equal(parseMonasca(EXAMPLE, ctxAt(EXAMPLE_TS + 4 * HOUR), opts).kind, 'alarms');
  assert.equal(parseMonasca(EXAMPLE, ctxAt(Date.parse('2026-12-01T00:00:00Z')), { ...opts, alarm_ttl: 0 }).kind, 'alarms');
  assert.equal(
    ignoredReason(parseMonasca(EXAMPLE, ctxAt(EXAMPLE_TS + 91_000), { ...opts, alarm_ttl: 90_000 })),
    'alarm older than alarm_ttl 90s: skipped, as monasca-notification does',
  );
});

test('alarm-example.json within the TTL → the exact firing alarm (metrics a plain string, actionsEnabled 1)', () => {
  const { alarm, naturalKey } = only(parseMonasca(EXAMPLE, ctxAt(EXAMPLE_TS + 1000), opts));
  assert.deepEqual(alarm, {
    source: 'monasca-prod',
    name: 'test Alarm',
    severity: 'info',
    status: 'firing',
    summary: 'I am alarming!',
    labels: { metric_name: 'cpu_util', tenant_id: '0', alarm_definition_id: '0', alarm_id: '1', lifecycle_state: 'OPEN' },
    annotations: { new_state: 'ALARM', old_state: 'OK', state_change_reason: 'I am alarming!', link: 'http://some-place.com' },
    occurredAt: EXAMPLE_TS,
    dedupKey: 'monasca:1',
    details: JSON.parse(EXAMPLE),
  });
  assert.equal(naturalKey, `monasca:1:${EXAMPLE_TS}:ALARM`);
});

test('webhook-test-alarm.json → alarm with description, dimensions as labels, numeric definition id as text', () => {
  const { alarm, naturalKey } = only(parseMonasca(WEBHOOK, ctxAt(WEBHOOK_TS), opts));
  assert.deepEqual(alarm, {
    source: 'monasca-prod',
    name: 'test Alarm',
    severity: 'info',
    status: 'firing',
    summary: 'I am alarming!',
    description: 'test Alarm description',
    labels: { hostname: 'foo1', service: 'bar1', tenant_id: '0', alarm_definition_id: '0', alarm_id: '0', lifecycle_state: 'OPEN' },
    annotations: { new_state: 'ALARM', old_state: 'OK', state_change_reason: 'I am alarming!', link: 'some-link' },
    occurredAt: WEBHOOK_TS,
    dedupKey: 'monasca:0',
    details: JSON.parse(WEBHOOK),
  });
  assert.equal(naturalKey, `monasca:0:${WEBHOOK_TS}:ALARM`);
});

test('states: ALARM → firing, OK → resolved, both on dedup key monasca:<alarmId>; natural key per transition', () => {
  const firing = only(parseMonasca(webhook((t) => (t.alarmId = 'a-1')), ctxAt(WEBHOOK_TS), opts));
  const resolved = only(
    parseMonasca(webhook((t) => Object.assign(t, { alarmId: 'a-1', oldState: 'ALARM', newState: 'OK', timestamp: WEBHOOK_TS + 60_000 })), ctxAt(WEBHOOK_TS), opts),
  );
  assert.deepEqual([firing.alarm.status, resolved.alarm.status], ['firing', 'resolved']);
  assert.deepEqual([firing.alarm.dedupKey, resolved.alarm.dedupKey], ['monasca:a-1', 'monasca:a-1']);
  assert.deepEqual([firing.naturalKey, resolved.naturalKey], [`monasca:a-1:${WEBHOOK_TS}:ALARM`, `monasca:a-1:${WEBHOOK_TS + 60_000}:OK`]);
  assert.deepEqual(resolved.alarm.annotations, { new_state: 'OK', old_state: 'ALARM', state_change_reason: 'I am alarming!', link: 'some-link' });
  // The same transition sent again has the same natural key (accept answers it as a repeat).
  assert.equal(only(parseMonasca(webhook((t) => (t.alarmId = 'a-1')), ctxAt(WEBHOOK_TS + 5), opts)).naturalKey, firing.naturalKey);
});

test('UNDETERMINED follows ingest.formats.monasca.undetermined', () => {
  const body = webhook((t) => (t.newState = 'UNDETERMINED'));
  const at = ctxAt(WEBHOOK_TS);
  assert.equal(only(parseMonasca(body, at, opts)).alarm.status, 'firing');
  assert.equal(only(parseMonasca(body, at, { ...opts, undetermined: 'resolved' })).alarm.status, 'resolved');
  assert.equal(only(parseMonasca(body, at, opts)).alarm.annotations.new_state, 'UNDETERMINED');
  assert.equal(only(parseMonasca(body, at, opts)).naturalKey, `monasca:0:${WEBHOOK_TS}:UNDETERMINED`);
  assert.equal(
    ignoredReason(parseMonasca(body, at, { ...opts, undetermined: 'ignore' })),
    'newState UNDETERMINED is ignored (ingest.formats.monasca.undetermined: ignore)',
  );
});

test('severity: LOW → info, MEDIUM → warning, HIGH → error, CRITICAL → critical (any case); absent → info', () => {
  const sev = (s: unknown) => only(parseMonasca(webhook((t) => (t.severity = s)), ctxAt(WEBHOOK_TS), opts)).alarm.severity;
  assert.deepEqual(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'critical', null].map(sev), ['info', 'warning', 'error', 'critical', 'critical', 'info']);
  assert.equal(only(parseMonasca(webhook((t) => delete t.severity), ctxAt(WEBHOOK_TS), opts)).alarm.severity, 'info');
});

test('actionsEnabled false (or 0) → recorded, not notified (quiet: actions_disabled); true, 1 or absent → notified', () => {
  for (const v of [false, 0]) {
    const item = only(parseMonasca(webhook((t) => (t.actionsEnabled = v)), ctxAt(WEBHOOK_TS), opts));
    assert.equal(item.quiet, 'actions_disabled');
    assert.equal(item.alarm.annotations.actions_enabled, 'false');
  }
  for (const v of [true, 1, null]) {
    const item = only(parseMonasca(webhook((t) => (t.actionsEnabled = v)), ctxAt(WEBHOOK_TS), opts));
    assert.equal(item.quiet, undefined);
    assert.equal(item.alarm.annotations.actions_enabled, undefined);
  }
});

test('metrics: strings and objects mixed; one dimension with several values is joined with ","; own labels win', () => {
  const { alarm } = only(
    parseMonasca(
      webhook((t) => {
        t.metrics = [
          'mem.free_mb',
          { name: 'cpu.idle_perc', dimensions: { hostname: 'h1', service: 'compute' } },
          { name: 'cpu.idle_perc', dimensions: { hostname: 'h2', service: 'compute', port: 8080 } },
          { name: 'disk', dimensions: { hostname: 'h1', alarm_id: 'not-the-alarm-id' } },
        ];
      }),
      ctxAt(WEBHOOK_TS),
      opts,
    ),
  );
  assert.deepEqual(alarm.labels, {
    hostname: 'h1,h2',
    service: 'compute',
    port: '8080',
    alarm_id: '0',
    metric_name: 'mem.free_mb,cpu.idle_perc,disk',
    tenant_id: '0',
    alarm_definition_id: '0',
    lifecycle_state: 'OPEN',
  });
  // No metrics at all: no metric labels.
  assert.deepEqual(only(parseMonasca(webhook((t) => delete t.metrics), ctxAt(WEBHOOK_TS), opts)).alarm.labels, {
    tenant_id: '0',
    alarm_definition_id: '0',
    alarm_id: '0',
    lifecycle_state: 'OPEN',
  });
});

test('an array of messages: one alarm each; dropped ones are left out and counted by reason; all dropped → the first reason', () => {
  const a = webhook((t) => (t.alarmId = 'a'));
  const off = webhook((t) => Object.assign(t, { alarmId: 'b', actionsEnabled: false }));
  const old = webhook((t) => Object.assign(t, { alarmId: 'd', timestamp: WEBHOOK_TS - 5 * HOUR }));
  const undetermined = webhook((t) => Object.assign(t, { alarmId: 'e', newState: 'UNDETERMINED' }));
  const out = parseMonasca(`[${a},${off},${old},${webhook((t) => (t.alarmId = 'c'))},${old}]`, ctxAt(WEBHOOK_TS), opts);
  assert.equal(out.kind, 'alarms');
  assert.deepEqual(out.kind === 'alarms' && out.items.map((i) => [i.alarm.dedupKey, i.quiet]), [['monasca:a', undefined], ['monasca:b', 'actions_disabled'], ['monasca:c', undefined]]);
  assert.deepEqual(out.kind === 'alarms' && out.skipped, { ttl: 2 });
  const dropped = parseMonasca(`[${old},${undetermined}]`, ctxAt(WEBHOOK_TS), { ...opts, undetermined: 'ignore' });
  assert.equal(ignoredReason(dropped), 'alarm older than alarm_ttl 4h: skipped, as monasca-notification does');
  assert.deepEqual(dropped.kind === 'ignored' && dropped.skipped, { ttl: 1, undetermined: 1 });
  assert.equal(ignoredReason(parseMonasca('[]', ctxAt(WEBHOOK_TS), opts)), 'empty array: no messages');
});

test('invalid bodies → 400 naming the field', () => {
  throwsOn('{"alarm-transitioned": 5', 'body', JSON_ERROR());
  throwsOn('"x"', 'body', 'must be a JSON object {"alarm-transitioned": {…}}, got "x"');
  throwsOn('{"alarm_transitioned": {}}', 'alarm-transitioned', 'is required');
  throwsOn('{"alarm-transitioned": []}', 'alarm-transitioned', 'must be a JSON object, got an array');
  throwsOn(webhook((t) => (t.newState = 'alarm')), 'alarm-transitioned.newState', 'must be one of ALARM, OK, UNDETERMINED, got "alarm"');
  throwsOn(webhook((t) => delete t.newState), 'alarm-transitioned.newState', 'is required');
  throwsOn(webhook((t) => (t.oldState = 'FIRING')), 'alarm-transitioned.oldState', 'must be one of ALARM, OK, UNDETERMINED, got "FIRING"');
  throwsOn(webhook((t) => delete t.alarmId), 'alarm-transitioned.alarmId', 'is required');
  throwsOn(webhook((t) => (t.alarmId = '')), 'alarm-transitioned.alarmId', 'must be a non-empty string or an integer, got ""');
  throwsOn(webhook((t) => (t.tenantId = 1.5)), 'alarm-transitioned.tenantId', 'must be a non-empty string or an integer, got 1.5');
  throwsOn(webhook((t) => (t.alarmName = '')), 'alarm-transitioned.alarmName', 'must be a non-empty string, got ""');
  throwsOn(webhook((t) => delete t.timestamp), 'alarm-transitioned.timestamp', 'is required');
  throwsOn(webhook((t) => (t.timestamp = '1429023453632')), 'alarm-transitioned.timestamp', 'must be epoch milliseconds, got "1429023453632"');
  throwsOn(webhook((t) => (t.timestamp = -1)), 'alarm-transitioned.timestamp', 'must be epoch milliseconds, got -1');
  throwsOn(webhook((t) => (t.severity = 'SEVERE')), 'alarm-transitioned.severity', 'must be one of LOW, MEDIUM, HIGH, CRITICAL, got "SEVERE"');
  throwsOn(webhook((t) => (t.actionsEnabled = 'yes')), 'alarm-transitioned.actionsEnabled', 'must be true or false, got "yes"');
  throwsOn(webhook((t) => (t.metrics = 5)), 'alarm-transitioned.metrics', 'must be a list of metrics or a metric name, got 5');
  throwsOn(webhook((t) => (t.metrics = [5])), 'alarm-transitioned.metrics[0]', 'must be a metric object {name, dimensions} or a metric name, got 5');
  throwsOn(webhook((t) => (t.metrics = [{ dimensions: { host: {} } }])), 'alarm-transitioned.metrics[0].dimensions.host', 'must be a string, got an object');
  throwsOn(webhook((t) => (t.stateChangeReason = 7)), 'alarm-transitioned.stateChangeReason', 'must be a string, got 7');
  throwsOn(`[${WEBHOOK},${webhook((t) => (t.newState = 'x'))}]`, '[1].alarm-transitioned.newState', 'must be one of ALARM, OK, UNDETERMINED, got "x"');
});

/** The JSON syntax message is parseJsonLossless's own; taken from it rather than restated. */
function JSON_ERROR(): string {
  try {
    parseMonasca('{"alarm-transitioned": 5', ctxAt(0), opts);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

test('options: defaults firing and 4h; alarm_ttl in the config duration syntax; bad values named', () => {
  assert.deepEqual(monascaFormat.options.parse({}), { undetermined: 'firing', alarm_ttl: 14_400_000 });
  assert.deepEqual(monascaFormat.options.parse({ undetermined: 'ignore', alarm_ttl: '14400s' }), { undetermined: 'ignore', alarm_ttl: 14_400_000 });
  assert.deepEqual(monascaFormat.options.parse({ alarm_ttl: '30m' }), { undetermined: 'firing', alarm_ttl: 1_800_000 });
  const issue = (v: unknown) => {
    const r = monascaFormat.options.safeParse(v);
    return r.success ? undefined : [r.error.issues[0]!.path.join('.'), r.error.issues[0]!.message];
  };
  assert.deepEqual(issue({ undetermined: 'maybe' }), ['undetermined', 'must be one of: firing, resolved, ignore']);
  assert.deepEqual(issue({ alarm_ttl: 'soon' }), ['alarm_ttl', 'must be a duration like "4h" or "14400s"']);
  assert.deepEqual(issue({ ttl: '4h' }), ['', 'Unrecognized key: "ttl"']);
  assert.deepEqual([4 * HOUR, 90_000, 1500, 86_400_000, 0].map(formatDuration), ['4h', '90s', '1500ms', '1d', '0ms']);
});
