import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { defaultDedupKey } from '../domain/dedup-key.ts';
import { sha256Hex } from '../lib/hash.ts';
import { assertIngestError, parsedAlarms } from '../../test/support/parse-outcome.ts';
import { grafanaFormat, parseGrafana, type GrafanaContext } from './grafana.ts';

/** Grafana's documented webhook example (two firing alerts, schema version "1"), unedited. */
const EXAMPLE = readFileSync(new URL('../../test/fixtures/grafana/webhook-payload.json', import.meta.url), 'utf8');
const NOW = Date.parse('2026-03-01T12:00:00Z');
const ctx: GrafanaContext = { source: 'grafana-prod', now: NOW, hash: sha256Hex };

type Json = Record<string, any>;

/** The example with changes applied (safe through JSON: its numbers are small). */
function example(change: (m: Json) => void): string {
  const msg = JSON.parse(EXAMPLE) as Json;
  change(msg);
  return JSON.stringify(msg);
}

/** parseGrafana(body) throws an IngestError with exactly this field and message (and status 400 unless said). */
function throwsOn(body: string, field: string, message: string | RegExp, status = 400): void {
  assertIngestError(() => parseGrafana(body, ctx), field, message, status);
}

test('the format is registered as grafana at POST /v1/grafana, with no options', () => {
  assert.equal(grafanaFormat.name, 'grafana');
  assert.equal(grafanaFormat.path, '/v1/grafana');
  assert.equal(grafanaFormat.defaultSource, 'grafana');
  assert.deepEqual(grafanaFormat.options.parse({}), {});
  assert.equal(grafanaFormat.options.safeParse({ x: 1 }).success, false);
});

test('Grafana\'s documented example: one firing alarm per alert, mapped field by field', () => {
  const items = parsedAlarms(parseGrafana(EXAMPLE, ctx));
  assert.equal(items.length, 2);
  assert.deepEqual(items[0], {
    alarm: {
      source: 'grafana-prod',
      name: 'High memory usage',
      severity: 'warning',
      status: 'firing',
      labels: { alertname: 'High memory usage', team: 'blue', zone: 'us-1' },
      annotations: {
        description: 'The system has high memory usage',
        runbook_url: 'https://myrunbook.com/runbook/1234',
        summary: 'This alert was triggered for zone us-1',
      },
      dedupKey: 'c6eadffa33fcdf37',
      summary: 'This alert was triggered for zone us-1',
      description: 'The system has high memory usage',
      // 2021-10-12T09:51:03.157076+02:00: microseconds are cut to milliseconds.
      occurredAt: Date.parse('2021-10-12T07:51:03.157Z'),
      details: {
        values: { B: 44.23943737541908, C: 1 },
        generatorURL: 'https://play.grafana.org/alerting/1afz29v7z/edit',
        silenceURL: 'https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1',
        orgId: 1,
        groupKey: '{}:{}',
      },
    },
    naturalKey: `grafana:c6eadffa33fcdf37:firing:${Date.parse('2021-10-12T07:51:03.157Z')}`,
  });
  const second = items[1]!.alarm;
  assert.equal(second.name, 'High CPU usage');
  assert.equal(second.dedupKey, 'bc97ff14869b13e3');
  assert.equal(second.occurredAt, Date.parse('2021-10-12T07:56:03.157Z'));
  // endsAt 0001-01-01T00:00:00Z (Go's zero time) is "not ended"; empty dashboardURL/panelURL are left out.
  for (const { alarm } of items) {
    assert.equal(alarm.endsAt, undefined);
    assert.equal('dashboardURL' in alarm.details!, false);
    assert.equal('panelURL' in alarm.details!, false);
  }
});

test('a message mixing firing and resolved alerts: each alarm has its own status', () => {
  const resolvedAt = '2021-10-12T10:01:03.157076+02:00';
  const body = example((m) => {
    m.status = 'firing';
    m.alerts[1].status = 'resolved';
    m.alerts[1].endsAt = resolvedAt;
  });
  const [firing, resolved] = parsedAlarms(parseGrafana(body, ctx));
  assert.equal(firing!.alarm.status, 'firing');
  assert.equal(firing!.alarm.endsAt, undefined);
  assert.equal(resolved!.alarm.status, 'resolved');
  assert.equal(resolved!.alarm.endsAt, Date.parse('2021-10-12T08:01:03.157Z'));
  assert.equal(resolved!.alarm.dedupKey, 'bc97ff14869b13e3', 'the same fingerprint as when it fired: the same alarm');
  assert.equal(resolved!.naturalKey, `grafana:bc97ff14869b13e3:resolved:${Date.parse('2021-10-12T07:56:03.157Z')}`);
  assert.notEqual(resolved!.naturalKey, parsedAlarms(parseGrafana(EXAMPLE, ctx))[1]!.naturalKey, 'its resolve is not a repeat of its firing');
});

test('endsAt: a passed one resolves (as in Alertmanager), a future one is when a firing alarm ends by itself', () => {
  const past = example((m) => (m.alerts[0].endsAt = new Date(NOW - 1000).toISOString()));
  assert.equal(parsedAlarms(parseGrafana(past, ctx))[0]!.alarm.status, 'resolved');
  const atNow = example((m) => (m.alerts[0].endsAt = new Date(NOW).toISOString()));
  assert.equal(parsedAlarms(parseGrafana(atNow, ctx))[0]!.alarm.status, 'resolved');
  const future = example((m) => (m.alerts[0].endsAt = '2026-03-01T12:05:00.5Z'));
  const a = parsedAlarms(parseGrafana(future, ctx))[0]!.alarm;
  assert.equal(a.status, 'firing');
  assert.equal(a.endsAt, Date.parse('2026-03-01T12:05:00.500Z'));
  assert.equal(parsedAlarms(parseGrafana(future, ctx))[0]!.naturalKey, undefined, 'each re-send reaches the lifecycle, to move endsAt');
  assert.match(parsedAlarms(parseGrafana(past, ctx))[0]!.naturalKey!, /^grafana:c6eadffa33fcdf37:resolved:/);
  // Absent, null or "" are "not ended" too.
  for (const endsAt of [undefined, null, '']) {
    const body = example((m) => (m.alerts[0].endsAt = endsAt));
    assert.equal(parsedAlarms(parseGrafana(body, ctx))[0]!.alarm.endsAt, undefined, String(endsAt));
  }
});

test('severity: a severity label that is one of tocsin\'s (any case), else warning', () => {
  const cases: [string | undefined, string][] = [
    ['critical', 'critical'], ['error', 'error'], ['warning', 'warning'], ['info', 'info'], ['CRITICAL', 'critical'], [' Info ', 'info'],
    ['high', 'warning'], ['page', 'warning'], ['', 'warning'], [undefined, 'warning'],
  ];
  for (const [label, severity] of cases) {
    const body = example((m) => {
      if (label !== undefined) m.alerts[0].labels.severity = label;
    });
    const a = parsedAlarms(parseGrafana(body, ctx))[0]!.alarm;
    assert.equal(a.severity, severity, String(label));
    if (label !== undefined) assert.equal(a.labels.severity, label, 'the label itself is kept');
  }
});

test('name: the alertname label, else the message title; neither is a 400', () => {
  const noAlertname = (title: unknown) =>
    example((m) => {
      delete m.alerts[0].labels.alertname;
      m.title = title;
    });
  const a = parsedAlarms(parseGrafana(noAlertname('[FIRING:2]  (blue)'), ctx))[0]!.alarm;
  assert.equal(a.name, '[FIRING:2]  (blue)');
  // The dedup key comes from the fingerprint, not the name.
  assert.equal(a.dedupKey, 'c6eadffa33fcdf37');
  const long = parsedAlarms(parseGrafana(noAlertname('T'.repeat(300)), ctx))[0]!.alarm.name;
  assert.equal(long.length, 256);
  assert.ok(long.endsWith('…'));
  const empty = example((m) => {
    m.alerts[0].labels.alertname = '';
    m.title = 'Fallback';
  });
  assert.equal(parsedAlarms(parseGrafana(empty, ctx))[0]!.alarm.name, 'Fallback');
  for (const title of [undefined, null, '', '   ']) {
    throwsOn(noAlertname(title), 'alerts[0].labels.alertname', 'is required: the alarm name (or a message title to fall back on)');
  }
  throwsOn(example((m) => (m.alerts[1].labels.alertname = 'A'.repeat(257))), 'alerts[1].labels.alertname', 'must be at most 256 characters (it is the alarm name)');
});

test('dedup key: the fingerprint, else computed from the labels (so not from a title that changes with the status)', () => {
  const noFingerprint = (title: string) =>
    example((m) => {
      m.title = title;
      for (const a of m.alerts) delete a.fingerprint;
      delete m.alerts[0].labels.alertname;
      m.alerts[1].fingerprint = '';
    });
  const firing = parsedAlarms(parseGrafana(noFingerprint('[FIRING:2]'), ctx));
  const resolved = parsedAlarms(parseGrafana(noFingerprint('[RESOLVED]'), ctx));
  assert.equal(firing[0]!.alarm.dedupKey, defaultDedupKey('grafana-prod', '', { team: 'blue', zone: 'us-1' }, sha256Hex));
  assert.equal(firing[0]!.alarm.dedupKey, resolved[0]!.alarm.dedupKey);
  // With an alertname, the key is the one POST /v1/alarms computes for the same name and labels.
  const labels = { alertname: 'High CPU usage', team: 'blue', zone: 'eu-1' };
  assert.equal(firing[1]!.alarm.dedupKey, defaultDedupKey('grafana-prod', 'High CPU usage', labels, sha256Hex));
  assert.match(firing[1]!.alarm.dedupKey, /^[0-9a-f]{32}$/);
});

test('what Grafana\'s own tests send: zero startsAt, values null, orgId per alert, newer fields', () => {
  // Shaped like grafana/alerting receivers/webhook/v1/webhook_test.go expectations, plus fields newer Grafana adds.
  const body = JSON.stringify({
    receiver: 'my_receiver',
    status: 'firing',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'alert1', lbl1: 'val1' },
        annotations: { ann1: 'annv1' },
        startsAt: '0001-01-01T00:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://localhost/test?orgId=1',
        fingerprint: 'fac0861a85de433a',
        silenceURL: 'http://localhost/alerting/silence/new?alertmanager=grafana&matcher=alertname%3Dalert1&matcher=lbl1%3Dval1&orgId=1',
        dashboardURL: 'http://localhost/d/abcd?orgId=1',
        panelURL: 'http://localhost/d/abcd?orgId=1&viewPanel=efgh',
        ruleUID: 'rule-1',
        values: null,
        valueString: '',
        orgId: 1,
        imageURL: 'https://img.example/1.png',
        embeddedImage: '',
        enrichments: { x: 1 },
      },
    ],
    groupLabels: { alertname: '' },
    commonLabels: { alertname: 'alert1', lbl1: 'val1' },
    commonAnnotations: { ann1: 'annv1' },
    externalURL: 'http://localhost',
    appVersion: '12.0.0',
    version: '1',
    groupKey: 'alertname',
    truncatedAlerts: 0,
    orgId: 1,
    title: '[FIRING:1]  (val1)',
    state: 'alerting',
    message: 'Custom message',
  });
  const [item] = parsedAlarms(parseGrafana(body, ctx));
  assert.equal(item!.alarm.occurredAt, undefined, 'a zero startsAt is "when tocsin received it"');
  assert.equal(item!.naturalKey, undefined, 'and without a start time, no occurrence key');
  assert.deepEqual(item!.alarm.details, {
    generatorURL: 'http://localhost/test?orgId=1',
    dashboardURL: 'http://localhost/d/abcd?orgId=1',
    panelURL: 'http://localhost/d/abcd?orgId=1&viewPanel=efgh',
    silenceURL: 'http://localhost/alerting/silence/new?alertmanager=grafana&matcher=alertname%3Dalert1&matcher=lbl1%3Dval1&orgId=1',
    imageURL: 'https://img.example/1.png',
    ruleUID: 'rule-1',
    orgId: 1,
    groupKey: 'alertname',
  });
  assert.equal(item!.alarm.summary, undefined);
  assert.equal(item!.alarm.description, undefined);
});

test('labels: numbers and booleans become text; 64-bit values and org ids keep their digits', () => {
  const body = EXAMPLE.replace('"team": "blue",', '"team": 7, "big": 18446744073709551615, "flag": true,').replace('"orgId": 1', '"orgId": 9007199254740993');
  const a = parsedAlarms(parseGrafana(body, ctx))[0]!.alarm;
  assert.deepEqual(a.labels, { alertname: 'High memory usage', team: '7', big: '18446744073709551615', flag: 'true', zone: 'us-1' });
  assert.equal(a.details!.orgId, '9007199254740993');
});

test('a long summary or description is cut to what tocsin keeps (the annotation itself is whole)', () => {
  const body = example((m) => {
    m.alerts[0].annotations.summary = 's'.repeat(5000);
    m.alerts[0].annotations.description = 'd'.repeat(70_000);
  });
  const a = parsedAlarms(parseGrafana(body, ctx))[0]!.alarm;
  assert.equal(a.summary!.length, 4096);
  assert.equal(a.description!.length, 65_536);
  assert.equal(a.annotations.summary!.length, 5000);
});

test('a message with no alerts is ignored', () => {
  const out = parseGrafana(example((m) => (m.alerts = [])), ctx);
  assert.deepEqual(out, { kind: 'ignored', reason: 'no alerts in the message' });
});

test('a version other than "1" is refused, naming version', () => {
  throwsOn(example((m) => (m.version = '2')), 'version', 'must be "1" (the schema version of Grafana\'s webhook), got "2"');
  throwsOn(example((m) => (m.version = 1)), 'version', 'must be "1" (the schema version of Grafana\'s webhook), got 1');
  throwsOn(example((m) => delete m.version), 'version', 'is required: "1", the schema version of Grafana\'s webhook');
  // An Alertmanager webhook (version "4") posted here by mistake.
  throwsOn(example((m) => (m.version = '4')), 'version', /got "4"/);
});

test('bad input: every case names its field', () => {
  const cases: [string, string, string | RegExp][] = [
    ['[]', 'body', 'must be a Grafana webhook message (a JSON object), got an array'],
    ['"x"', 'body', 'must be a Grafana webhook message (a JSON object), got "x"'],
    ['null', 'body', 'must be a Grafana webhook message (a JSON object), got null'],
    ['{"version":"1"', 'body', /^invalid JSON/],
    [example((m) => delete m.alerts), 'alerts', 'is required'],
    [example((m) => (m.alerts = {})), 'alerts', 'must be a list of alerts, got an object'],
    [example((m) => (m.alerts[1] = 'x')), 'alerts[1]', 'must be an alert object, got "x"'],
    [example((m) => delete m.alerts[0].status), 'alerts[0].status', 'is required'],
    [example((m) => (m.alerts[0].status = 'pending')), 'alerts[0].status', 'must be firing or resolved, got "pending"'],
    [example((m) => (m.alerts[0].labels = ['a'])), 'alerts[0].labels', 'must be an object of string values, got an array'],
    [example((m) => (m.alerts[0].labels.team = { x: 1 })), 'alerts[0].labels.team', 'must be a string, got an object'],
    [example((m) => (m.alerts[0].labels[''] = 'x')), 'alerts[0].labels', 'must not have an empty name as a key'],
    [example((m) => (m.alerts[1].annotations.summary = null)), 'alerts[1].annotations.summary', 'must be a string, got null'],
    [example((m) => (m.alerts[0].startsAt = 'yesterday')), 'alerts[0].startsAt', /^must be an RFC 3339 time like .*, got "yesterday"$/],
    [example((m) => (m.alerts[0].startsAt = 1634025063157)), 'alerts[0].startsAt', /got 1634025063157$/],
    [example((m) => (m.alerts[0].startsAt = '1969-12-31T23:59:59Z')), 'alerts[0].startsAt', /got "1969-12-31T23:59:59Z"$/],
    [example((m) => (m.alerts[0].startsAt = '2016-12-31T23:59:60Z')), 'alerts[0].startsAt', /^must be an RFC 3339 time/],
    [example((m) => (m.alerts[0].endsAt = '2021-10-12')), 'alerts[0].endsAt', /^must be an RFC 3339 time/],
    [example((m) => (m.alerts[0].fingerprint = 42)), 'alerts[0].fingerprint', 'must be a string, got 42'],
    [example((m) => (m.alerts[0].fingerprint = 'f'.repeat(513))), 'alerts[0].fingerprint', 'must be at most 512 characters'],
    [example((m) => (m.alerts[0].values = [1])), 'alerts[0].values', 'must be an object of numbers, got an array'],
    [example((m) => (m.alerts[0].values.B = 'high')), 'alerts[0].values.B', 'must be a number, got "high"'],
    [example((m) => (m.alerts[0].generatorURL = 5)), 'alerts[0].generatorURL', 'must be a string, got 5'],
    [example((m) => (m.alerts[0].orgId = 1.5)), 'alerts[0].orgId', 'must be an integer, got 1.5'],
    [example((m) => (m.orgId = 'one')), 'orgId', 'must be an integer, got "one"'],
    [example((m) => (m.groupKey = {})), 'groupKey', 'must be a string, got an object'],
    [example((m) => (m.title = 3)), 'title', 'must be a string, got 3'],
  ];
  for (const [body, field, message] of cases) throwsOn(body, field, message);
});

test('a __proto__ label or annotation is refused, not silently dropped', () => {
  throwsOn(EXAMPLE.replace('"team": "blue",', '"__proto__": "x", "team": "blue",'), 'alerts[0].labels.__proto__', 'is a reserved name and cannot be used as a key');
  throwsOn(EXAMPLE.replace('"runbook_url"', '"__proto__": "x", "runbook_url"'), 'alerts[0].annotations.__proto__', 'is a reserved name and cannot be used as a key');
  assert.equal(({} as Record<string, unknown>).x, undefined, 'Object.prototype untouched');
});
