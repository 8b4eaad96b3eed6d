import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultDedupKey } from '../domain/dedup-key.ts';
import { sha256Hex } from '../lib/hash.ts';
import { assertIngestError, parsedAlarms } from '../../test/support/parse-outcome.ts';
import { BATCH_TYPE, cloudeventsFormat, parseCloudEvents, STRUCTURED_TYPE, type CloudEventsContext } from './cloudevents.ts';
import type { ParsedAlarm, ParseOutcome } from './types.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');

function ctx(headers: Record<string, string> = {}, over: Partial<CloudEventsContext> = {}): CloudEventsContext {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { source: 'events', sourceIsAuthenticated: false, now: NOW, hash: sha256Hex, header: (n) => lower[n.toLowerCase()], ...over };
}

/** The spec's binary-mode example headers (http-protocol-binding.md 3.1.4). */
const BINARY_HEADERS = {
  'ce-specversion': '1.0',
  'ce-type': 'com.example.someevent',
  'ce-time': '2018-04-05T03:56:24Z',
  'ce-id': '1234-1234-1234',
  'ce-source': '/mycontext/subcontext',
  'Content-Type': 'application/json; charset=utf-8',
};
const STRUCTURED = { 'Content-Type': `${STRUCTURED_TYPE}; charset=utf-8` };
const BATCH = { 'Content-Type': `${BATCH_TYPE}; charset=UTF-8` };

const ALARM = { name: 'DiskFull', severity: 'critical', labels: { host: 'db-1' }, summary: '/var is 97% full' };

/** The JSON format's example event with JSON-object data (json-format.md 3.2, "C234-1234-1234"), its data an alarm. */
function event(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    specversion: '1.0',
    type: 'com.example.someevent',
    source: '/mycontext',
    subject: null,
    id: 'C234-1234-1234',
    time: '2018-04-05T17:31:00Z',
    comexampleextension1: 'value',
    comexampleothervalue: 5,
    datacontenttype: 'application/json',
    data: ALARM,
    ...over,
  };
}

function only(out: ParseOutcome): ParsedAlarm {
  const items = parsedAlarms(out);
  assert.equal(items.length, 1);
  return items[0]!;
}

/** parseCloudEvents throws an IngestError with exactly this field and message (status 400 unless said). */
function throwsOn(body: string, c: CloudEventsContext, field: string, message: string | RegExp, status = 400): void {
  assertIngestError(() => parseCloudEvents(body, c), field, message, status);
}

const EXPECTED_ALARM = {
  source: 'events',
  name: 'DiskFull',
  severity: 'critical',
  status: 'firing',
  labels: { host: 'db-1' },
  annotations: {},
  dedupKey: defaultDedupKey('events', 'DiskFull', { host: 'db-1' }, sha256Hex),
  summary: '/var is 97% full',
};

test('the format is registered as cloudevents at POST /v1/cloudevents, with no options', () => {
  assert.equal(cloudeventsFormat.name, 'cloudevents');
  assert.equal(cloudeventsFormat.path, '/v1/cloudevents');
  assert.equal(cloudeventsFormat.defaultSource, 'cloudevents');
  assert.deepEqual(cloudeventsFormat.options.parse({}), {});
});

test('structured mode: the spec\'s example event, its data an alarm', () => {
  const item = only(parseCloudEvents(JSON.stringify(event()), ctx(STRUCTURED)));
  assert.deepEqual(item, {
    alarm: {
      ...EXPECTED_ALARM,
      occurredAt: Date.parse('2018-04-05T17:31:00Z'),
      details: { type: 'com.example.someevent', source: '/mycontext', id: 'C234-1234-1234' },
    },
    naturalKey: 'ce:["/mycontext","C234-1234-1234"]',
  });
  // Content-Type parameters and case do not matter.
  assert.equal(parsedAlarms(parseCloudEvents(JSON.stringify(event()), ctx({ 'content-type': 'Application/CloudEvents+JSON' }))).length, 1);
});

test('binary mode: the spec\'s example headers, the body is the alarm', () => {
  const item = only(parseCloudEvents(JSON.stringify(ALARM), ctx(BINARY_HEADERS)));
  assert.deepEqual(item, {
    alarm: {
      ...EXPECTED_ALARM,
      occurredAt: Date.parse('2018-04-05T03:56:24Z'),
      details: { type: 'com.example.someevent', source: '/mycontext/subcontext', id: '1234-1234-1234' },
    },
    naturalKey: 'ce:["/mycontext/subcontext","1234-1234-1234"]',
  });
  // Any JSON Content-Type (or none) is binary mode; the route has already refused non-JSON types.
  for (const type of [undefined, 'application/json', 'application/vnd.example+json']) {
    const headers: Record<string, string> = { ...BINARY_HEADERS };
    delete headers['Content-Type'];
    if (type) headers['content-type'] = type;
    assert.equal(only(parseCloudEvents(JSON.stringify(ALARM), ctx(headers))).alarm.name, 'DiskFull', String(type));
  }
});

test('binary mode: header values are unquoted, then percent-decoded as UTF-8 (the spec\'s "Euro" example)', () => {
  const item = only(
    parseCloudEvents(
      JSON.stringify(ALARM),
      ctx({ ...BINARY_HEADERS, 'ce-subject': 'Euro%20%E2%82%AC%20%F0%9F%98%80', 'ce-id': '"a \\"quoted\\" id"', 'ce-source': 'urn:x%3ay%3Az' }),
    ),
  );
  assert.deepEqual(item.alarm.details, { type: 'com.example.someevent', source: 'urn:x:y:z', id: 'a "quoted" id', subject: 'Euro € 😀' });
  // Raw UTF-8 bytes in a header (Latin-1 characters as HTTP hands them over) read as UTF-8 too.
  const raw = Buffer.from('café', 'utf8').toString('latin1');
  assert.equal(only(parseCloudEvents(JSON.stringify(ALARM), ctx({ ...BINARY_HEADERS, 'ce-subject': raw }))).alarm.details!.subject, 'café');
  const bad: [string, string, string][] = [
    ['ce-id', '%C0%A0', 'is not UTF-8 once percent-decoded'], // overlong U+0020: the spec says MUST be rejected
    ['ce-id', '%FF', 'is not UTF-8 once percent-decoded'],
    ['ce-source', '/a%2', 'has a % not followed by two hex digits: "/a%2"'],
    ['ce-type', '100%', 'has a % not followed by two hex digits: "100%"'],
  ];
  for (const [name, value, message] of bad) throwsOn('{"name":"X"}', ctx({ ...BINARY_HEADERS, [name]: value }), name, message);
});

test('batched mode: an array of structured events, one alarm each; an empty batch is ignored', () => {
  const body = JSON.stringify([
    event({ id: 'A-1', source: '/mycontext/4' }),
    event({ id: 'A-2', source: '/mycontext/9', data: { name: 'CpuHigh', status: 'resolved' }, subject: 'host-9' }),
  ]);
  const items = parsedAlarms(parseCloudEvents(body, ctx(BATCH)));
  assert.deepEqual(items.map((i) => [i.alarm.name, i.alarm.status, i.naturalKey]), [
    ['DiskFull', 'firing', 'ce:["/mycontext/4","A-1"]'],
    ['CpuHigh', 'resolved', 'ce:["/mycontext/9","A-2"]'],
  ]);
  assert.deepEqual(items[1]!.alarm.details, { type: 'com.example.someevent', source: '/mycontext/9', id: 'A-2', subject: 'host-9' });
  assert.deepEqual(parseCloudEvents('[]', ctx(BATCH)), { kind: 'ignored', reason: 'empty batch: no events' });
});

test('the spec\'s own batch example is refused at its data_base64 event', () => {
  const body = JSON.stringify([
    event({ id: 'B234-1234-1234', source: '/mycontext/4', datacontenttype: 'application/vnd.apache.thrift.binary', data: undefined, data_base64: 'AAEC' }),
    event(),
  ]);
  throwsOn(body, ctx(BATCH), '[0].data_base64', 'is not accepted: send data as JSON, an alarm object in tocsin\'s schema (as POST /v1/alarms takes)');
});

test('time: the alarm\'s occurred_at wins; without either, the alarm is dated on arrival', () => {
  const withOccurred = JSON.stringify(event({ data: { ...ALARM, occurred_at: '2026-02-28T10:00:00Z' } }));
  assert.equal(only(parseCloudEvents(withOccurred, ctx(STRUCTURED))).alarm.occurredAt, Date.parse('2026-02-28T10:00:00Z'));
  for (const time of [undefined, null]) {
    const item = only(parseCloudEvents(JSON.stringify(event({ time })), ctx(STRUCTURED)));
    assert.equal(item.alarm.occurredAt, undefined);
    assert.equal(item.naturalKey, 'ce:["/mycontext","C234-1234-1234"]', 'still identified by source and id');
  }
  const headers: Record<string, string> = { ...BINARY_HEADERS };
  delete headers['ce-time'];
  assert.equal(only(parseCloudEvents(JSON.stringify(ALARM), ctx(headers))).alarm.occurredAt, undefined);
});

test('data keeps the alarm schema\'s own rules: ends_at, dedup_key, an authenticated source', () => {
  const ended = only(parseCloudEvents(JSON.stringify(event({ data: { name: 'X', ends_at: NOW - 1 } })), ctx(STRUCTURED)));
  assert.equal(ended.alarm.status, 'resolved');
  const keyed = only(parseCloudEvents(JSON.stringify(event({ data: { name: 'X', dedup_key: 'k-1' } })), ctx(STRUCTURED)));
  assert.equal(keyed.alarm.dedupKey, 'k-1');
  const authed = ctx(STRUCTURED, { source: 'team-a', sourceIsAuthenticated: true });
  throwsOn(JSON.stringify(event({ data: { name: 'X', source: 'team-b' } })), authed, 'data.source', /cannot post alarms for source "team-b"/, 403);
  // The CloudEvent's own source is a URI of the sender, not a tocsin source: it is only kept in details.
  assert.equal(only(parseCloudEvents(JSON.stringify(event()), authed)).alarm.source, 'team-a');
});

test('structured mode: bad attributes are refused by name', () => {
  const cases: [Record<string, unknown>, string, string | RegExp][] = [
    [{ specversion: undefined }, 'specversion', 'is required: "1.0"'],
    [{ specversion: null }, 'specversion', 'is required: "1.0"'],
    [{ specversion: '0.3' }, 'specversion', 'must be "1.0" (tocsin speaks CloudEvents 1.0), got "0.3"'],
    [{ specversion: 1.0 }, 'specversion', 'must be "1.0" (tocsin speaks CloudEvents 1.0), got 1'],
    [{ id: undefined }, 'id', 'is required'],
    [{ id: '' }, 'id', 'must be a non-empty string, got ""'],
    [{ id: 42 }, 'id', 'must be a non-empty string, got 42'],
    [{ source: undefined }, 'source', 'is required'],
    [{ source: ['x'] }, 'source', 'must be a non-empty string, got an array'],
    [{ type: null }, 'type', 'is required'],
    [{ subject: 7 }, 'subject', 'must be a string, got 7'],
    [{ time: 'yesterday' }, 'time', 'must be an RFC 3339 time like 2018-04-05T17:31:00Z, got "yesterday"'],
    [{ time: 1522949460000 }, 'time', 'must be a string, got 1522949460000'],
    [{ datacontenttype: 'application/xml', data: '<much wow="xml"/>' }, 'datacontenttype', /^must declare JSON \(application\/json or a \+json type\)/],
    [{ data: undefined }, 'data', 'is required: the alarm, an object in tocsin\'s schema (as POST /v1/alarms takes)'],
    [{ data: null }, 'data', 'must be an alarm object in tocsin\'s schema (as POST /v1/alarms takes), got null'],
    [{ data: 'I\'m just a string' }, 'data', /got "I'm just a string"$/],
    [{ data: [ALARM] }, 'data', /got an array$/],
    [{ data: { appinfoA: 'abc', appinfoB: 123, appinfoC: true } }, 'data.name', 'is required: a short alarm name like DiskFull'],
    [{ data: { ...ALARM, appinfoA: 'abc' } }, 'data.appinfoA', 'unknown field'],
    [{ data: { ...ALARM, severity: 'fatal' } }, 'data.severity', 'must be one of critical, error, warning, info'],
    [{ data: { ...ALARM, labels: { host: { a: 1 } } } }, 'data.labels.host', 'must be a string'],
    [{ data: { ...ALARM, labels: JSON.parse('{"__proto__":"x"}') } }, 'data.labels.__proto__', 'is a reserved name and cannot be used as a key'],
    [{ data_base64: 'AAEC' }, 'data_base64', /^is not accepted/],
  ];
  for (const [over, field, message] of cases) {
    const body = JSON.stringify(event(over));
    throwsOn(body, ctx(STRUCTURED), field, message);
    // The same event inside a batch names its place.
    throwsOn(`[${JSON.stringify(event({ id: 'ok' }))},${body}]`, ctx(BATCH), `[1].${field}`, message);
  }
  // data_base64 null is unset (json-format.md 2.2): fine.
  assert.equal(parsedAlarms(parseCloudEvents(JSON.stringify(event({ data_base64: null })), ctx(STRUCTURED))).length, 1);
  // Datacontenttypes that declare JSON.
  for (const t of ['application/json; charset=utf-8', 'text/json', 'application/vnd.tocsin.alarm+json']) {
    assert.equal(parsedAlarms(parseCloudEvents(JSON.stringify(event({ datacontenttype: t })), ctx(STRUCTURED))).length, 1, t);
  }
});

test('structured and batched mode: bodies of the wrong shape', () => {
  throwsOn('[]', ctx(STRUCTURED), 'body', `must be one CloudEvent (a JSON object); send an array as ${BATCH_TYPE}`);
  throwsOn('"x"', ctx(STRUCTURED), 'body', 'must be a CloudEvent (a JSON object), got "x"');
  throwsOn('{"specversion":', ctx(STRUCTURED), 'body', /^invalid JSON/);
  throwsOn(JSON.stringify(event()), ctx(BATCH), 'body', `must be a JSON array of CloudEvents (${BATCH_TYPE}), got an object`);
  throwsOn('[1]', ctx(BATCH), '[0]', 'must be a CloudEvent (a JSON object), got 1');
  throwsOn('[null]', ctx(BATCH), '[0]', 'must be a CloudEvent (a JSON object), got null');
});

test('binary mode: bad headers and bodies are refused by name', () => {
  const without = (name: string) => {
    const h: Record<string, string> = { ...BINARY_HEADERS };
    delete h[name];
    return ctx(h);
  };
  const hint = /^is required: send the ce-specversion, ce-id, ce-source and ce-type headers with the alarm as the body \(binary mode\), or the whole event as application\/cloudevents\+json \(structured mode\)$/;
  const body = JSON.stringify(ALARM);
  throwsOn(body, without('ce-specversion'), 'ce-specversion', hint);
  throwsOn(body, ctx({ ...BINARY_HEADERS, 'ce-specversion': '0.3' }), 'ce-specversion', 'must be "1.0" (tocsin speaks CloudEvents 1.0), got "0.3"');
  throwsOn(body, without('ce-id'), 'ce-id', hint);
  throwsOn(body, ctx({ ...BINARY_HEADERS, 'ce-id': '' }), 'ce-id', hint);
  throwsOn(body, without('ce-source'), 'ce-source', hint);
  throwsOn(body, without('ce-type'), 'ce-type', hint);
  throwsOn(body, ctx({ ...BINARY_HEADERS, 'ce-time': 'Thu, 05 Apr 2018 03:56:24 GMT' }), 'ce-time', /^must be an RFC 3339 time/);
  // The body is `data`: its field paths are the body's own, as for POST /v1/alarms.
  throwsOn('', ctx(BINARY_HEADERS), 'body', 'is empty: in binary mode the body is the alarm, an object in tocsin\'s schema');
  throwsOn('{"name":', ctx(BINARY_HEADERS), 'body', /^invalid JSON/);
  throwsOn('[{"name":"X"}]', ctx(BINARY_HEADERS), 'body', /got an array$/);
  throwsOn('"DiskFull"', ctx(BINARY_HEADERS), 'body', /got "DiskFull"$/);
  throwsOn('{"name":"X","labels":{"a":[]}}', ctx(BINARY_HEADERS), 'labels.a', 'must be a string');
  throwsOn('{"name":"X","specversion":"1.0"}', ctx(BINARY_HEADERS), 'specversion', 'unknown field');
  // A structured event posted as application/json without ce-* headers: told how to send it.
  throwsOn(JSON.stringify(event()), ctx({ 'content-type': 'application/json' }), 'ce-specversion', hint);
});

test('structured mode ignores ce-* headers (the body is the event)', () => {
  const item = only(parseCloudEvents(JSON.stringify(event()), ctx({ ...STRUCTURED, 'ce-id': 'other', 'ce-specversion': '0.3' })));
  assert.equal(item.naturalKey, 'ce:["/mycontext","C234-1234-1234"]');
});
