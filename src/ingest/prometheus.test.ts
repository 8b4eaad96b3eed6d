import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertIngestError, parsedAlarms } from '../../test/support/parse-outcome.ts';
import { labelSetFingerprint } from './am-fingerprint.ts';
import { GO_ZERO_TIME_MS, parseGoTime, parsePrometheus, prometheusFormat, RESOLVE_TIMEOUT_MS } from './prometheus.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/prometheus/${name}`, import.meta.url), 'utf8');
/** Prometheus 2.42's POST of an always-firing rule: startsAt 00:54:22.534, endsAt 00:59:23.534. */
const FIRING = fixture('prometheus-alerts-post.json');
/** The same for an alert that has just resolved: endsAt 00:54:28.534. */
const RESOLVED = fixture('prometheus-alerts-post-resolved.json');

const T = (s: string) => Date.parse(s);
const ctxAt = (now: number) => ({ source: 'prom-lab', now });
const NOW = T('2026-11-22T00:55:00Z');

/** One alert of the firing fixture, changed (built from the fixture, which stays as captured). */
function alert(change: (a: Record<string, unknown>) => void): Record<string, unknown> {
  const a = (JSON.parse(FIRING) as Record<string, unknown>[])[0]!;
  change(a);
  return a;
}

/** parsePrometheus(body) at `now` throws a 400 IngestError with exactly this field and message (a RegExp: matching it). */
function throwsOn(body: string, field: string, message: string | RegExp, now = NOW): void {
  assertIngestError(() => parsePrometheus(body, ctxAt(now)), field, message);
}

test('the label-set fingerprint is the one Alertmanager computes (its webhook fixture shows two)', () => {
  const am = JSON.parse(readFileSync(new URL('../../test/fixtures/alertmanager/webhook-payload.json', import.meta.url), 'utf8')) as {
    alerts: { labels: Record<string, string>; fingerprint: string }[];
  };
  assert.equal(am.alerts.length, 2);
  for (const a of am.alerts) assert.equal(labelSetFingerprint(a.labels), a.fingerprint);
  assert.equal(labelSetFingerprint({ alertname: 'DiskFull', instance: 'db-1:9100', job: 'node', severity: 'critical' }), '8c77d5865e910658');
  // Key order does not matter (names are sorted); the empty set is FNV-1a's offset basis.
  assert.equal(labelSetFingerprint({ severity: 'critical', job: 'node', instance: 'db-1:9100', alertname: 'DiskFull' }), '8c77d5865e910658');
  assert.equal(labelSetFingerprint({}), 'cbf29ce484222325');
  // The separator keeps name and value apart: {a: "bc"} and {ab: "c"} differ.
  assert.notEqual(labelSetFingerprint({ a: 'bc' }), labelSetFingerprint({ ab: 'c' }));
  // Always 16 lowercase hex digits; non-ASCII hashed as UTF-8 bytes.
  assert.match(labelSetFingerprint({ alertname: 'Ünïcødé ✓ 😀' }), /^[0-9a-f]{16}$/);
});

test('the firing fixture: one firing alarm named by alertname, its labels, annotations, times and fingerprint', () => {
  const [p, ...rest] = parsedAlarms(parsePrometheus(FIRING, ctxAt(NOW)));
  assert.equal(rest.length, 0);
  const labels = { alertname: 'AlwaysFiring', cluster: 'lab', severity: 'warning' };
  assert.deepEqual(p, {
    alarm: {
      source: 'prom-lab',
      name: 'AlwaysFiring',
      severity: 'warning',
      status: 'firing',
      labels,
      annotations: { description: 'value is 1', summary: 'Always firing test alert' },
      dedupKey: labelSetFingerprint(labels),
      summary: 'Always firing test alert',
      description: 'value is 1',
      occurredAt: T('2026-11-22T00:54:22.534Z'),
      endsAt: T('2026-11-22T00:59:23.534Z'),
      details: { generatorURL: 'http://127.0.0.1:19090/graph?g0.expr=vector%281%29+%3E+0&g0.tab=1' },
    },
  });
  // No natural idempotency key: each re-send must reach the lifecycle to refresh endsAt.
  assert.equal(p!.naturalKey, undefined);
});

test('the re-send of each cycle (same labels, moving endsAt) is the same alarm: same dedup key', () => {
  const first = parsedAlarms(parsePrometheus(FIRING, ctxAt(NOW)))[0]!.alarm;
  const later = parsedAlarms(parsePrometheus(JSON.stringify([alert((a) => (a.endsAt = '2026-11-22T01:10:00Z'))]), ctxAt(NOW + 60_000)))[0]!.alarm;
  assert.equal(later.dedupKey, first.dedupKey);
  assert.equal(later.endsAt, T('2026-11-22T01:10:00Z'));
  // Another label value: another alarm.
  const other = parsedAlarms(parsePrometheus(JSON.stringify([alert((a) => ((a.labels as Record<string, string>).cluster = 'prod'))]), ctxAt(NOW)))[0]!.alarm;
  assert.notEqual(other.dedupKey, first.dedupKey);
});

test('endsAt in the past (or now) is resolved; in the future firing; the resolved fixture', () => {
  const [r] = parsedAlarms(parsePrometheus(RESOLVED, ctxAt(NOW)));
  assert.equal(r!.alarm.status, 'resolved');
  assert.equal(r!.alarm.name, 'Flapping');
  assert.equal(r!.alarm.severity, 'info');
  assert.equal(r!.alarm.endsAt, T('2026-11-22T00:54:28.534Z'));
  assert.equal(r!.alarm.occurredAt, T('2026-11-22T00:54:22.534Z'));
  assert.equal(r!.alarm.summary, 'fires 8s of every 20s');
  assert.equal(r!.alarm.description, undefined);
  const ends = T('2026-11-22T00:59:23.534Z');
  assert.equal(parsedAlarms(parsePrometheus(FIRING, ctxAt(ends - 1)))[0]!.alarm.status, 'firing');
  assert.equal(parsedAlarms(parsePrometheus(FIRING, ctxAt(ends)))[0]!.alarm.status, 'resolved');
  assert.equal(parsedAlarms(parsePrometheus(FIRING, ctxAt(ends + 1)))[0]!.alarm.status, 'resolved');
});

test('no endsAt (or the zero time, or null): firing, ending resolve_timeout (5 min) after arrival, like Alertmanager', () => {
  for (const endsAt of [undefined, null, '', '0001-01-01T00:00:00Z']) {
    const body = JSON.stringify([alert((a) => (endsAt === undefined ? delete a.endsAt : (a.endsAt = endsAt)))]);
    const x = parsedAlarms(parsePrometheus(body, ctxAt(NOW)))[0]!.alarm;
    assert.equal(x.status, 'firing', String(endsAt));
    assert.equal(x.endsAt, NOW + RESOLVE_TIMEOUT_MS);
  }
  // No startsAt: occurredAt left to the relay (when it was received); the zero time reads the same.
  for (const startsAt of [undefined, '0001-01-01T00:00:00Z']) {
    const body = JSON.stringify([alert((a) => (startsAt === undefined ? delete a.startsAt : (a.startsAt = startsAt)))]);
    assert.equal(parsedAlarms(parsePrometheus(body, ctxAt(NOW)))[0]!.alarm.occurredAt, undefined);
  }
});

test('what amtool alert add / curl may send: labels only', () => {
  const [p] = parsedAlarms(parsePrometheus('[{"labels":{"alertname":"Manual"}}]', ctxAt(NOW)));
  assert.deepEqual(p!.alarm, {
    source: 'prom-lab',
    name: 'Manual',
    severity: 'warning',
    status: 'firing',
    labels: { alertname: 'Manual' },
    annotations: {},
    dedupKey: labelSetFingerprint({ alertname: 'Manual' }),
    endsAt: NOW + RESOLVE_TIMEOUT_MS,
  });
});

test('severity label: one of tocsin severities (any case) is kept, anything else is warning', () => {
  const sev = (s: string | undefined) => {
    const body = JSON.stringify([alert((a) => {
      const l = a.labels as Record<string, string>;
      if (s === undefined) delete l.severity;
      else l.severity = s;
    })]);
    return parsedAlarms(parsePrometheus(body, ctxAt(NOW)))[0]!.alarm.severity;
  };
  assert.equal(sev('critical'), 'critical');
  assert.equal(sev('error'), 'error');
  assert.equal(sev('info'), 'info');
  assert.equal(sev('CRITICAL'), 'critical');
  assert.equal(sev('page'), 'warning');
  assert.equal(sev(''), 'warning');
  assert.equal(sev(undefined), 'warning');
});

test('several alerts in one POST; an empty array is ignored (200), as Alertmanager answers it', () => {
  const body = JSON.stringify([...JSON.parse(FIRING), ...JSON.parse(RESOLVED)]);
  const out = parsedAlarms(parsePrometheus(body, ctxAt(NOW)));
  assert.deepEqual(out.map((p) => [p.alarm.name, p.alarm.status]), [['AlwaysFiring', 'firing'], ['Flapping', 'resolved']]);
  assert.deepEqual(parsePrometheus('[]', ctxAt(NOW)), { kind: 'ignored', reason: 'empty array: no alerts' });
});

test('unknown fields are ignored; empty summary/description annotations are not the alarm summary', () => {
  const body = JSON.stringify([alert((a) => {
    a.somethingNew = { x: 1 };
    a.annotations = { summary: '', description: '' };
  })]);
  const x = parsedAlarms(parsePrometheus(body, ctxAt(NOW)))[0]!.alarm;
  assert.equal(x.summary, undefined);
  assert.equal(x.description, undefined);
  assert.deepEqual(x.annotations, { summary: '', description: '' });
});

test('Go times: fractions to nanoseconds, offsets, the zero time; impossible dates refused', () => {
  assert.equal(parseGoTime('2026-11-22T00:54:22.534Z'), T('2026-11-22T00:54:22.534Z'));
  assert.equal(parseGoTime('2026-11-22T00:54:22.534123456Z'), T('2026-11-22T00:54:22.534Z'));
  assert.equal(parseGoTime('2026-11-22T00:54:22.5Z'), T('2026-11-22T00:54:22.500Z'));
  assert.equal(parseGoTime('2026-11-22T00:54:22Z'), T('2026-11-22T00:54:22Z'));
  assert.equal(parseGoTime('2026-11-22T01:54:22+01:00'), T('2026-11-22T00:54:22Z'));
  assert.equal(parseGoTime('2026-11-21T20:24:22-04:30'), T('2026-11-22T00:54:22Z'));
  assert.equal(parseGoTime('0001-01-01T00:00:00Z'), GO_ZERO_TIME_MS);
  assert.equal(parseGoTime('2024-02-29T00:00:00Z'), T('2024-02-29T00:00:00Z'));
  for (const bad of ['2026-02-29T00:00:00Z', '2026-02-31T00:00:00Z', '2026-04-31T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-22T24:00:00Z',
    '2026-11-22T00:60:00Z', '2026-11-22T00:00:60Z', '2026-11-22 00:00:00', '2026-11-22T00:00:00', '1795305262534', '2026-11-22T00:00:00+24:00',
    '2026-11-22T00:00:00.1234567890Z', 'yesterday']) {
    assert.equal(parseGoTime(bad), undefined, bad);
  }
});

test('bad input: an IngestError naming the field', () => {
  const one = (change: (a: Record<string, unknown>) => void) => JSON.stringify([alert(change)]);
  throwsOn('{"labels":{"alertname":"X"}}', 'body', 'must be a JSON array of alerts (the Alertmanager v2 API), got an object');
  throwsOn('"x"', 'body', /^must be a JSON array of alerts/);
  throwsOn('[{"labels":', 'body', /^invalid JSON/);
  throwsOn('[1]', '[0]', 'must be an alert object {labels, annotations, startsAt, endsAt, generatorURL}, got 1');
  throwsOn('[null]', '[0]', /^must be an alert object/);
  throwsOn(one((a) => delete a.labels), '[0].labels', 'is required: an object of label names and string values');
  throwsOn(one((a) => (a.labels = ['alertname'])), '[0].labels', 'must be an object of string values, got an array');
  throwsOn(one((a) => (a.labels = { cluster: 'lab' })), '[0].labels.alertname', 'is required: tocsin names the alarm after the alertname label');
  throwsOn(one((a) => (a.labels = { alertname: '' })), '[0].labels.alertname', 'is required: tocsin names the alarm after the alertname label'); // an empty label is no label
  throwsOn(one((a) => (a.labels = { alertname: 'X', port: 9100 })), '[0].labels.port', 'must be a string, got 9100');
  throwsOn(one((a) => (a.labels = { alertname: 'X', '': 'v' })), '[0].labels', 'must not have an empty name');
  throwsOn('[{"labels":{"alertname":"X","__proto__":"v"}}]', '[0].labels.__proto__', 'is a reserved name and cannot be used as a key');
  throwsOn(one((a) => (a.annotations = 'text')), '[0].annotations', 'must be an object of string values, got "text"');
  throwsOn(one((a) => (a.annotations = { summary: null })), '[0].annotations.summary', 'must be a string, got null');
  throwsOn(one((a) => (a.startsAt = 1795305262534)), '[0].startsAt', 'must be an RFC 3339 time like 2026-11-22T01:00:41.721Z, got 1795305262534');
  throwsOn(one((a) => (a.endsAt = '2026-02-30T00:00:00Z')), '[0].endsAt', /^must be an RFC 3339 time/);
  throwsOn(one((a) => (a.endsAt = '2026-11-22T00:00:00Z')), '[0].endsAt', 'must not be before startsAt');
  throwsOn(one((a) => (a.generatorURL = 5)), '[0].generatorURL', 'must be a string, got 5');
  // Labels with an empty value are dropped before the fingerprint, as Alertmanager does.
  const withEmpty = parsedAlarms(parsePrometheus(JSON.stringify([{ labels: { alertname: 'B', x: '' } }]), { source: 'prometheus', now: NOW }))[0]!;
  assert.deepEqual(withEmpty.alarm.labels, { alertname: 'B' });
  assert.equal(withEmpty.alarm.dedupKey, labelSetFingerprint({ alertname: 'B' }));
  // Times outside years 0000–9999 once in UTC (Go clients could not read them back).
  assert.equal(parseGoTime('0000-01-01T00:00:00+23:59'), undefined);
  assert.equal(parseGoTime('9999-12-31T23:59:59-23:59'), undefined);
  // Best effort, like Alertmanager: with readable alerts next to it, a bad one is counted, not fatal.
  const mixed = parsePrometheus(JSON.stringify([JSON.parse(FIRING)[0], alert((a) => delete a.labels)]), { source: 'prometheus', now: NOW });
  assert.equal(parsedAlarms(mixed).length, 1);
  assert.deepEqual((mixed as { skipped?: unknown }).skipped, { invalid: 1 });
});

test('the format: POST /api/v2/alerts, source prometheus by default, no options', () => {
  assert.equal(prometheusFormat.path, '/api/v2/alerts');
  assert.equal(prometheusFormat.defaultSource, 'prometheus');
  assert.deepEqual(prometheusFormat.options.parse({}), {});
  const ctx = { source: 'prometheus', sourceIsAuthenticated: false, now: NOW, header: () => undefined, param: () => undefined, hash: (s: string) => s };
  assert.equal(parsedAlarms(prometheusFormat.parse(FIRING, ctx, {}))[0]!.alarm.source, 'prometheus');
});
