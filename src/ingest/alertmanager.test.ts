import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Alarm } from '../domain/alarm.ts';
import type { AlarmState } from '../lifecycle/state.ts';
import type { StateFilter } from '../outbox/lifecycle-store.ts';
import { alertmanagerApiRoutes, parseMatcher, toGettableAlert, type GettableAlert } from '../http/alertmanager-api-routes.ts';
import type { AuthResult } from '../http/auth.ts';
import { assertIngestError, parsedAlarms } from '../../test/support/parse-outcome.ts';
import { alertmanagerFormat, parseAlertmanager } from './alertmanager.ts';
import { labelSetFingerprint } from './am-fingerprint.ts';
import type { ParsedAlarm } from './types.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/alertmanager/${name}`, import.meta.url), 'utf8');
/** Alertmanager 0.25's webhook: two firing DiskFull alerts (db-1 critical, db-2 warning), endsAt the zero time. */
const FIRING = fixture('webhook-payload.json');
/** The same group: db-1 still firing, db-2 resolved (endsAt 01:00:44.233). */
const MIXED = fixture('webhook-payload-mixed-resolved.json');

const T = (s: string) => Date.parse(s);
const NOW = T('2026-11-22T01:00:50Z');
const ctxAt = (now: number) => ({ source: 'am-lab', now });

/** The firing fixture, changed (built from the fixture, which stays as captured). */
function message(change: (m: Record<string, unknown>, alerts: Record<string, unknown>[]) => void): string {
  const m = JSON.parse(FIRING) as Record<string, unknown>;
  change(m, m.alerts as Record<string, unknown>[]);
  return JSON.stringify(m);
}

/** parseAlertmanager(body) throws a 400 IngestError with exactly this field and message (a RegExp: matching it). */
function throwsOn(body: string, field: string, message: string | RegExp): void {
  assertIngestError(() => parseAlertmanager(body, ctxAt(NOW)), field, message);
}

const DETAILS = {
  receiver: 'sink',
  groupKey: '{}:{alertname="DiskFull"}',
  groupLabels: { alertname: 'DiskFull' },
  externalURL: 'http://127.0.0.1:19093',
  generatorURL: 'http://127.0.0.1:19090/graph?g0.expr=disk_used_ratio+%3E+0.95',
};

test('the firing fixture: one alarm per alert, the fingerprint as dedup key, endsAt 0001-01-01 = not ended', () => {
  const out = parsedAlarms(parseAlertmanager(FIRING, ctxAt(NOW)));
  assert.equal(out.length, 2);
  assert.deepEqual(out[0], {
    alarm: {
      source: 'am-lab',
      name: 'DiskFull',
      severity: 'critical',
      status: 'firing',
      labels: { alertname: 'DiskFull', instance: 'db-1:9100', job: 'node', severity: 'critical' },
      annotations: { runbook_url: 'https://runbooks.example/disk', summary: 'Disk almost full on db-1' },
      dedupKey: '8c77d5865e910658',
      summary: 'Disk almost full on db-1',
      occurredAt: T('2026-11-22T01:00:41.721Z'),
      details: DETAILS,
    },
  });
  assert.equal(out[1]!.alarm.dedupKey, '55b97254facb078e');
  assert.equal(out[1]!.alarm.severity, 'warning');
  assert.equal(out[1]!.alarm.status, 'firing');
  assert.equal(out[1]!.alarm.endsAt, undefined);
  assert.equal(out[1]!.naturalKey, undefined);
});

test('the mixed fixture: each alert keeps its own status (firing and resolved in one message)', () => {
  const [a, b] = parsedAlarms(parseAlertmanager(MIXED, ctxAt(NOW)));
  assert.equal(a!.alarm.status, 'firing');
  assert.equal(a!.alarm.endsAt, undefined);
  assert.equal(b!.alarm.status, 'resolved');
  assert.equal(b!.alarm.endsAt, T('2026-11-22T01:00:44.233Z'));
  assert.equal(b!.alarm.dedupKey, '55b97254facb078e');
  // Firing and resolved of one alert share the dedup key: the lifecycle pairs them.
  assert.equal(parsedAlarms(parseAlertmanager(FIRING, ctxAt(NOW)))[1]!.alarm.dedupKey, b!.alarm.dedupKey);
});

test('a missing fingerprint is computed from the labels, as Alertmanager does', () => {
  const body = message((_, alerts) => {
    delete alerts[0]!.fingerprint;
    alerts[1]!.fingerprint = '';
  });
  const [a, b] = parsedAlarms(parseAlertmanager(body, ctxAt(NOW)));
  assert.equal(a!.alarm.dedupKey, '8c77d5865e910658');
  assert.equal(b!.alarm.dedupKey, '55b97254facb078e');
  // A fingerprint given is used as is.
  const c = parsedAlarms(parseAlertmanager(message((_, alerts) => (alerts[0]!.fingerprint = 'abc')), ctxAt(NOW)))[0]!;
  assert.equal(c.alarm.dedupKey, 'abc');
});

test('endsAt: a future one is kept (firing); a firing alert whose endsAt has passed is resolved', () => {
  const future = parsedAlarms(parseAlertmanager(message((_, al) => (al[0]!.endsAt = '2026-11-22T02:00:00Z')), ctxAt(NOW)))[0]!.alarm;
  assert.equal(future.status, 'firing');
  assert.equal(future.endsAt, T('2026-11-22T02:00:00Z'));
  const past = parsedAlarms(parseAlertmanager(message((_, al) => (al[0]!.endsAt = '2026-11-22T01:00:45Z')), ctxAt(NOW)))[0]!.alarm;
  assert.equal(past.status, 'resolved');
  // A resolved alert without endsAt stays resolved.
  const r = parsedAlarms(parseAlertmanager(message((_, al) => (al[0]!.status = 'resolved')), ctxAt(NOW)))[0]!.alarm;
  assert.equal(r.status, 'resolved');
  assert.equal(r.endsAt, undefined);
});

test('message-level fields go into details only when present; no alerts is ignored', () => {
  const body = message((m, al) => {
    delete m.receiver;
    delete m.groupKey;
    delete m.externalURL;
    m.groupLabels = {};
    delete al[0]!.generatorURL;
  });
  assert.deepEqual(parsedAlarms(parseAlertmanager(body, ctxAt(NOW)))[0]!.alarm.details, {});
  assert.deepEqual(parseAlertmanager(message((m) => (m.alerts = [])), ctxAt(NOW)), { kind: 'ignored', reason: 'no alerts in the message' });
});

test('bad input: an IngestError naming the field', () => {
  throwsOn('[]', 'body', /^must be an Alertmanager webhook message/);
  throwsOn('{"alerts":', 'body', /^invalid JSON/);
  throwsOn(message((m) => delete m.version), 'version', 'is required: the Alertmanager webhook payload version, "4"');
  throwsOn(message((m) => (m.version = '3')), 'version', 'must be "4" (the Alertmanager webhook payload version tocsin reads), got "3"');
  throwsOn(message((m) => (m.version = 4)), 'version', 'must be "4" (the Alertmanager webhook payload version tocsin reads), got 4');
  throwsOn(message((m) => delete m.alerts), 'alerts', 'is required: the alerts of the notification');
  throwsOn(message((m) => (m.alerts = {})), 'alerts', 'must be an array of alerts, got an object');
  throwsOn(message((m) => (m.receiver = 1)), 'receiver', 'must be a string, got 1');
  throwsOn(message((m) => (m.groupLabels = { a: 1 })), 'groupLabels.a', 'must be a string, got 1');
  throwsOn(message((_, al) => (al.shift(), (al[0] = 'x' as never))), 'alerts[0]', /^must be an alert object/);
  throwsOn(message((_, al) => (al.shift(), delete al[0]!.labels)), 'alerts[0].labels', 'is required: an object of label names and string values');
  throwsOn(message((_, al) => (al.shift(), delete (al[0]!.labels as Record<string, string>).alertname)), 'alerts[0].labels.alertname', /^is required/);
  throwsOn(message((_, al) => (al.shift(), ((al[0]!.labels as Record<string, unknown>).job = true))), 'alerts[0].labels.job', 'must be a string, got true');
  throwsOn(message((_, al) => (al.shift(), (al[0]!.annotations = []))), 'alerts[0].annotations', 'must be an object of string values, got an array');
  throwsOn(message((_, al) => (al.shift(), delete al[0]!.status)), 'alerts[0].status', 'is required: firing or resolved');
  throwsOn(message((_, al) => (al.shift(), (al[0]!.status = 'pending'))), 'alerts[0].status', 'must be one of firing, resolved, got "pending"');
  throwsOn(message((_, al) => (al.shift(), (al[0]!.startsAt = 'now'))), 'alerts[0].startsAt', /^must be an RFC 3339 time/);
  throwsOn(message((_, al) => (al.shift(), (al[0]!.endsAt = '2026-11-22T01:00:00Z'))), 'alerts[0].endsAt', 'must not be before startsAt');
  throwsOn(message((_, al) => (al.shift(), (al[0]!.fingerprint = 7))), 'alerts[0].fingerprint', 'must be a string, got 7');
  // Best effort: one bad alert of a message does not lose the others (Alertmanager would not retry a 400).
  const mixed = parseAlertmanager(message((_, al) => delete al[1]!.labels), ctxAt(NOW));
  assert.equal(parsedAlarms(mixed).length, 1);
  assert.deepEqual((mixed as { skipped?: unknown }).skipped, { invalid: 1 });
});

test('the format: POST /v1/alertmanager, source alertmanager by default, no options', () => {
  assert.equal(alertmanagerFormat.path, '/v1/alertmanager');
  assert.equal(alertmanagerFormat.defaultSource, 'alertmanager');
  assert.deepEqual(alertmanagerFormat.options.parse({}), {});
});

// ---- the read side: GET /api/v2/alerts and /api/v2/status (src/http/alertmanager-api-routes.ts) ----

function stored(p: ParsedAlarm, receivedAt: number): Alarm {
  return { ...p.alarm, id: `al_${p.alarm.dedupKey}`, occurredAt: p.alarm.occurredAt ?? receivedAt, receivedAt };
}

function stateOf(a: Alarm, over: Partial<AlarmState> = {}): AlarmState {
  return {
    source: a.source, dedupKey: a.dedupKey, status: a.status, since: a.receivedAt, lastSeen: a.receivedAt + 5000, count: 3, alarmId: a.id,
    ...(a.status === 'firing' && a.endsAt !== undefined && { endsAt: a.endsAt }),
    methods: { sink: { st: a.status, at: a.receivedAt, rat: a.receivedAt, n: 0 } },
    ...over,
  };
}

test('gettableAlert: an Alertmanager alarm as Alertmanager would list it', () => {
  const [p] = parsedAlarms(parseAlertmanager(FIRING, ctxAt(NOW)));
  const a = stored(p!, NOW);
  const g = toGettableAlert(stateOf(a, { endsAt: NOW + 300_000, methods: { slack: { st: 'firing', at: NOW, rat: NOW, n: 0 }, hook: { st: 'firing', at: NOW, rat: NOW, n: 0 } } }), a);
  assert.deepEqual(g, {
    labels: { alertname: 'DiskFull', instance: 'db-1:9100', job: 'node', severity: 'critical' },
    annotations: { runbook_url: 'https://runbooks.example/disk', summary: 'Disk almost full on db-1' },
    startsAt: '2026-11-22T01:00:41.721Z',
    endsAt: new Date(NOW + 300_000).toISOString(),
    updatedAt: new Date(NOW + 5000).toISOString(),
    fingerprint: '8c77d5865e910658',
    receivers: [{ name: 'hook' }, { name: 'slack' }],
    status: { state: 'active', silencedBy: [], inhibitedBy: [] },
    generatorURL: DETAILS.generatorURL,
  } satisfies GettableAlert);
});

test('gettableAlert: a tocsin alarm gains alertname and summary; no endsAt is the zero time; silenced is suppressed', () => {
  const a: Alarm = {
    id: 'al_1', source: 'app', name: 'QueueStuck', severity: 'error', status: 'firing', summary: 'queue stuck', description: 'for 10 min',
    labels: { queue: 'mail' }, annotations: { runbook: 'r' }, dedupKey: 'k1', occurredAt: NOW + 1000, receivedAt: NOW + 1000,
  };
  const g = toGettableAlert(stateOf(a, { since: NOW, silencedBy: 'sil_1', methods: {} }), a);
  assert.deepEqual(g.labels, { queue: 'mail', alertname: 'QueueStuck' });
  assert.deepEqual(g.annotations, { runbook: 'r', summary: 'queue stuck', description: 'for 10 min' });
  assert.equal(g.fingerprint, labelSetFingerprint({ queue: 'mail', alertname: 'QueueStuck' }));
  assert.equal(g.startsAt, new Date(NOW).toISOString()); // when the state began, earlier than this occurrence
  assert.equal(g.endsAt, '0001-01-01T00:00:00.000Z');
  assert.deepEqual(g.receivers, []);
  assert.deepEqual(g.status, { state: 'suppressed', silencedBy: ['sil_1'], inhibitedBy: [] });
  assert.equal('generatorURL' in g, false);
  // A label alertname is kept over the name; a resolved state ends at its alarm's endsAt, else when it resolved.
  const b: Alarm = { ...a, labels: { alertname: 'Other' }, status: 'resolved' };
  assert.equal(toGettableAlert(stateOf(b), b).labels.alertname, 'Other');
  assert.equal(toGettableAlert(stateOf(b, { since: NOW + 7000 }), b).endsAt, new Date(NOW + 7000).toISOString());
  assert.equal(toGettableAlert(stateOf({ ...b, endsAt: NOW + 2000 }), { ...b, endsAt: NOW + 2000 }).endsAt, new Date(NOW + 2000).toISOString());
});

test('matchers as Alertmanager parses them (amtool sends name="value")', () => {
  const m = (s: string) => {
    const r = parseMatcher(s);
    assert.notEqual(typeof r, 'string', String(r));
    return r as Exclude<ReturnType<typeof parseMatcher>, string>;
  };
  assert.equal(m('alertname="DiskFull"').matches('DiskFull'), true);
  assert.equal(m('alertname="DiskFull"').matches('DiskFul'), false);
  assert.equal(m('alertname=DiskFull').matches('DiskFull'), true);
  assert.equal(m(' job != "node" ').matches('node'), false);
  assert.equal(m('instance=~"db-.*"').matches('db-1:9100'), true);
  assert.equal(m('instance=~"db-1"').matches('db-1:9100'), false); // anchored
  assert.equal(m('instance!~"db-2.*"').matches('db-1:9100'), true);
  assert.equal(m('q="say \\"hi\\"\\n"').value, 'say "hi"\n');
  assert.equal(m('q=""').matches(''), true);
  assert.equal(parseMatcher('alertname'), 'bad matcher format: alertname');
  assert.equal(parseMatcher('a="b'), 'matcher value contains unescaped double quote: "b');
  assert.equal(parseMatcher('a=b"c'), 'matcher value contains unescaped double quote: b"c');
  assert.equal(parseMatcher('a=~"("'), 'invalid regular expression: (');
  // RE2, as Alertmanager: Go's flags work, and no pattern backtracks (with a JavaScript RegExp this
  // match would run for days: the test would never finish).
  assert.equal(m('alertname=~"(?i)disk.*"').matches('DiskFull'), true);
  assert.equal(m('v=~"(a+)+"').matches(`${'a'.repeat(40)}!`), false);
});

/** The routes over a fixed list of states (the store's `list` honours status, source, after and limit). */
function api(rows: { state: AlarmState; alarm: Alarm }[], auth: (h: string | undefined) => AuthResult = () => ({ ok: true, source: undefined })) {
  const calls: StateFilter[] = [];
  const list = (f: StateFilter) => {
    calls.push(f);
    const sorted = [...rows].sort((x, y) => (x.state.source + '\0' + x.state.dedupKey < y.state.source + '\0' + y.state.dedupKey ? -1 : 1));
    return sorted
      .filter(({ state: s }) => (f.status === undefined || s.status === f.status) && (f.source === undefined || s.source === f.source))
      .filter(({ state: s }) => !f.after || s.source + '\0' + s.dedupKey > f.after[0] + '\0' + f.after[1])
      .slice(0, f.limit);
  };
  const app = alertmanagerApiRoutes({ states: { list }, authenticate: auth, version: '0.1.0', now: () => NOW });
  return { app, calls };
}

async function getJson(app: ReturnType<typeof api>['app'], path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await app.request(path, { headers });
  return { status: res.status, body: await res.json() };
}

function sampleRows(): { state: AlarmState; alarm: Alarm }[] {
  const [db1, db2] = parsedAlarms(parseAlertmanager(MIXED, ctxAt(NOW))).map((p) => stored(p, NOW));
  const silenced: Alarm = { ...db1!, id: 'al_s', source: 'other', dedupKey: 'ffff000000000000', labels: { alertname: 'Muted', job: 'x' } };
  return [
    { state: stateOf(db1!), alarm: db1! },
    { state: stateOf(db2!), alarm: db2! },
    { state: stateOf(silenced, { silencedBy: 'sil_9' }), alarm: silenced },
  ];
}

test('GET /api/v2/alerts: firing states only, as amtool alert query asks (active, not silenced), sorted by fingerprint', async () => {
  const { app } = api(sampleRows());
  const q = await getJson(app, '/api/v2/alerts?active=true&inhibited=false&silenced=false&unprocessed=false');
  assert.equal(q.status, 200);
  assert.deepEqual((q.body as GettableAlert[]).map((a) => a.labels.instance), ['db-1:9100']);
  const all = (await getJson(app, '/api/v2/alerts')).body as GettableAlert[];
  assert.deepEqual(all.map((a) => a.labels.alertname), ['DiskFull', 'Muted']);
  assert.deepEqual(all.map((a) => a.fingerprint), [...all.map((a) => a.fingerprint)].sort());
  const silencedOnly = (await getJson(app, '/api/v2/alerts?active=false')).body as GettableAlert[];
  assert.deepEqual(silencedOnly.map((a) => a.labels.alertname), ['Muted']);
  assert.deepEqual(silencedOnly[0]!.status, { state: 'suppressed', silencedBy: ['sil_9'], inhibitedBy: [] });
});

test('GET /api/v2/alerts: filter matchers (repeated), receiver regex, bad parameters are 400', async () => {
  const { app } = api(sampleRows());
  const names = async (qs: string) => ((await getJson(app, `/api/v2/alerts?${qs}`)).body as GettableAlert[]).map((a) => a.labels.alertname);
  assert.deepEqual(await names(`filter=${encodeURIComponent('alertname="DiskFull"')}`), ['DiskFull']);
  assert.deepEqual(await names(`filter=${encodeURIComponent('job=~"x|node"')}&filter=${encodeURIComponent('alertname!="DiskFull"')}`), ['Muted']);
  assert.deepEqual(await names(`filter=${encodeURIComponent('constructor=""')}`), ['DiskFull', 'Muted']); // a missing label reads as ""
  assert.deepEqual(await names('receiver=si.*'), ['DiskFull', 'Muted']);
  assert.deepEqual(await names('receiver=slack'), []);
  for (const [qs, field] of [['active=maybe', 'active'], ['inhibited=2', 'inhibited'], ['filter=alertname', 'filter'], ['receiver=(', 'receiver']]) {
    const r = await getJson(app, `/api/v2/alerts?${qs}`);
    assert.equal(r.status, 400, qs);
    assert.equal((r.body as { field: string }).field, field);
  }
});

test('GET /api/v2/alerts pages through the store; with sources configured each source sees its own', async () => {
  const rows = Array.from({ length: 2500 }, (_, i) => {
    const a: Alarm = {
      id: `al_${i}`, source: i % 2 ? 'odd' : 'even', name: 'Many', severity: 'info', status: 'firing', labels: { i: String(i) }, annotations: {},
      dedupKey: `k${String(i).padStart(5, '0')}`, occurredAt: NOW, receivedAt: NOW,
    };
    return { state: stateOf(a), alarm: a };
  });
  const all = api(rows);
  assert.equal(((await getJson(all.app, '/api/v2/alerts')).body as unknown[]).length, 2500);
  assert.deepEqual(all.calls.map((c) => c.limit), [1000, 1000, 1000]);
  const auth = (h: string | undefined): AuthResult => (h === 'Bearer odd-token' ? { ok: true, source: 'odd' } : { ok: false, message: 'unknown token' });
  const mine = api(rows, auth);
  const r = await getJson(mine.app, '/api/v2/alerts', { authorization: 'Bearer odd-token' });
  assert.equal((r.body as unknown[]).length, 1250);
  assert.ok(mine.calls.every((c) => c.source === 'odd' && c.status === 'firing'));
  assert.equal((await getJson(mine.app, '/api/v2/alerts')).status, 401);
  assert.equal((await getJson(mine.app, '/api/v2/status')).status, 401);
});

test('GET /api/v2/status: what amtool reads (cluster disabled, versionInfo, config, uptime)', async () => {
  const { app } = api([]);
  const r = await getJson(app, '/api/v2/status');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, {
    cluster: { status: 'disabled', peers: [] },
    versionInfo: { version: '0.1.0', revision: '', branch: '', buildUser: '', buildDate: '', goVersion: 'none (tocsin)' },
    config: { original: '' },
    uptime: new Date(NOW).toISOString(),
  });
});
