/**
 * The new ingest endpoints (`/api/v2/alerts`, `/v1/alertmanager`, `/v1/grafana`, `/v1/cloudevents`) under a
 * seeded fuzz, end to end through app.fetch: random JSON, mutations of the real payloads in test/fixtures,
 * CloudEvents in all three modes with random `ce-*` headers and Content-Types, random bytes, deep nesting.
 * Every answer is a 2xx or a 4xx with a JSON `{error, code}` body: never a 5xx, never a hang, and the app
 * keeps serving. Replay a failure with FUZZ_SEED (and FUZZ_COUNT to change the number of bodies).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkReadBack, fuzzSettings, jsonFuzz, sendInBatches, settle, shownBody, Violations, watchObjectPrototype } from '../support/fuzz.ts';
import { createHarness, prng, type Harness, type PostResult } from './app-harness.ts';

const { seed: FUZZ_SEED, count: FUZZ_COUNT } = fuzzSettings(4000);
/** A request that has not answered after this long is a hang. */
const HANG_MS = 10_000;

const PATHS = ['/api/v2/alerts', '/v1/alertmanager', '/v1/grafana', '/v1/cloudevents'] as const;
type Path = (typeof PATHS)[number];

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const TEMPLATES: Record<Exclude<Path, '/v1/cloudevents'>, readonly string[]> = {
  '/api/v2/alerts': [fixture('prometheus/prometheus-alerts-post.json'), fixture('prometheus/prometheus-alerts-post-resolved.json')],
  '/v1/alertmanager': [fixture('alertmanager/webhook-payload.json'), fixture('alertmanager/webhook-payload-mixed-resolved.json')],
  '/v1/grafana': [fixture('grafana/webhook-payload.json')],
};

type Body = string | Uint8Array<ArrayBuffer>;
interface Request {
  readonly path: Path;
  readonly body: Body;
  readonly headers: Record<string, string>;
}

function fuzzer(rand: () => number) {
  const HUGE = [
    '1e400', '-1e400', '123456789012345678901234567890', '9007199254740993', '-9223372036854775809', '18446744073709551616',
    '0.000000000000000000000001', '1.7976931348623157e308', '5e-324', '-0', '1E+2', '8640000000000001', String(Number.MAX_SAFE_INTEGER),
  ];
  const TIMES = [
    '0001-01-01T00:00:00Z', '2021-10-12T09:51:03.157076+02:00', '2026-11-22T01:00:41.721Z', '1969-12-31T23:59:59Z', '2016-12-31T23:59:60Z',
    '9999-12-31T23:59:59.999999999Z', '2026-02-30T00:00:00Z', '2026-01-01', 'now', '',
  ];
  const KEYS = [
    // Alertmanager, Prometheus, Grafana
    'version', 'alerts', 'status', 'labels', 'annotations', 'startsAt', 'endsAt', 'fingerprint', 'values', 'generatorURL', 'orgId', 'groupKey',
    'title', 'receiver', 'alertname', 'severity', 'summary',
    // CloudEvents
    'specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'data', 'data_base64',
    // tocsin's alarm
    'name', 'occurred_at', 'ends_at', 'dedup_key', 'description',
    '__proto__', 'constructor', 'prototype',
  ];
  const { int, pick, str, value, mutate: mutateJson, bytes } = jsonFuzz(rand, {
    huge: HUGE,
    chars: ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\u0000', '\u001f', 'é', '中', '😀', '\u202e', '\ufeff', '\ud800', '\udfff', '\u2028', '%', ':'],
    keys: KEYS,
    scalars: ['firing', 'resolved', 'pending', 'critical', 'warning', '1', '4', '1.0', '0.3', 'application/json', 'text/plain', ...TIMES],
  });
  const time = (): string => {
    const r = rand();
    if (r < 0.4) return new Date(Date.now() + (int(7200) - 3600) * 1000).toISOString(); // an hour either side of now
    return pick(TIMES);
  };
  const labels = (): Record<string, unknown> => ({
    ...(rand() < 0.9 && { alertname: `A${int(20)}` }),
    ...(rand() < 0.5 && { severity: pick(['critical', 'error', 'warning', 'info', 'CRITICAL', 'page', '']) }),
    ...(rand() < 0.5 && { instance: `db-${int(5)}` }),
    ...(rand() < 0.1 && { [str() || 'k']: rand() < 0.8 ? str() : int(100) }),
  });

  /** A fixture with its alerts varied: statuses, times, labels, fingerprints (the structure stays valid). */
  const validAlerts = (path: Exclude<Path, '/v1/cloudevents'>): string => {
    const doc = JSON.parse(pick(TEMPLATES[path])) as Record<string, any> | Record<string, any>[];
    const alerts = (Array.isArray(doc) ? doc : doc.alerts) as Record<string, any>[];
    const n = 1 + int(3);
    const out = Array.from({ length: n }, (_, i) => {
      const a = { ...alerts[i % alerts.length]! };
      if (rand() < 0.6) a.labels = labels();
      if (rand() < 0.5) a.startsAt = time();
      if (rand() < 0.5) a.endsAt = rand() < 0.3 ? '0001-01-01T00:00:00Z' : time();
      if (!Array.isArray(doc)) {
        if (rand() < 0.5) a.status = pick(['firing', 'resolved']);
        if (rand() < 0.3) a.fingerprint = rand() < 0.8 ? int(1 << 30).toString(16).padStart(16, '0') : '';
      }
      return a;
    });
    if (Array.isArray(doc)) return JSON.stringify(out);
    return JSON.stringify({ ...doc, alerts: out, ...(rand() < 0.05 && { version: pick(['2', 1, null]) }) });
  };

  // ---- CloudEvents ----
  const alarm = (): Record<string, unknown> => ({
    name: `N${int(50)}`,
    ...(rand() < 0.5 && { severity: pick(['critical', 'error', 'warning', 'info']) }),
    ...(rand() < 0.3 && { status: pick(['firing', 'resolved']) }),
    ...(rand() < 0.5 && { labels: { host: `h${int(5)}` } }),
    ...(rand() < 0.2 && { occurred_at: rand() < 0.5 ? Date.now() - int(100_000) : time() }),
  });
  const structured = (): Record<string, unknown> => ({
    specversion: rand() < 0.95 ? '1.0' : pick(['0.3', 1, null, '']),
    id: rand() < 0.95 ? `e-${int(500)}` : pick(['', 42, null]),
    source: rand() < 0.95 ? pick(['/mycontext', 'https://example.com/x', 'urn:a:b']) : pick(['', null]),
    type: rand() < 0.95 ? 'com.example.alert' : pick(['', 7]),
    ...(rand() < 0.3 && { subject: rand() < 0.9 ? str() : null }),
    ...(rand() < 0.4 && { time: time() }),
    ...(rand() < 0.2 && { datacontenttype: pick(['application/json', 'text/json', 'application/xml', 'application/x+json; charset=utf-8']) }),
    ...(rand() < 0.1 && { comexampleextension1: 'value' }),
    ...(rand() < 0.05 ? { data_base64: 'AAEC' } : rand() < 0.95 ? { data: rand() < 0.9 ? alarm() : JSON.parse(value(1)) } : {}),
  });
  /** A header value: printable ASCII, percent-encodings good and bad, Latin-1 bytes, quotes (never CR, LF or NUL). */
  const headerValue = (): string => {
    const parts = ['a', 'Z', '0', '-', '/', ':', ' ', '"', '\\', '%', '%20', '%E2%82%AC', '%C0%A0', '%FF', '%2', '%zz', 'é', '\u00ff', '1.0'];
    let s = '';
    const n = int(8);
    for (let i = 0; i < n; i++) s += pick(parts);
    return s;
  };
  const CE_HEADERS = ['ce-specversion', 'ce-id', 'ce-source', 'ce-type', 'ce-time', 'ce-subject', 'ce-datacontenttype', 'ce-comexampleextension1'];
  const binaryHeaders = (): Record<string, string> => {
    const h: Record<string, string> = {};
    if (rand() < 0.9) h['ce-specversion'] = rand() < 0.9 ? '1.0' : pick(['0.3', '', '"1.0"', '1.1']);
    if (rand() < 0.9) h['ce-id'] = rand() < 0.8 ? `b-${int(500)}` : headerValue();
    if (rand() < 0.9) h['ce-source'] = rand() < 0.8 ? '/sensor/7' : headerValue();
    if (rand() < 0.9) h['ce-type'] = 'com.example.alert';
    if (rand() < 0.3) h['ce-time'] = rand() < 0.7 ? time() : headerValue();
    for (const name of CE_HEADERS) if (rand() < 0.05) h[name] = headerValue();
    return h;
  };
  const CE_TYPES = [
    'application/cloudevents+json', 'application/cloudevents+json; charset=utf-8', 'APPLICATION/CloudEvents+JSON', 'application/cloudevents-batch+json',
    'application/cloudevents-batch+json; charset=UTF-8', 'application/json', 'application/json; charset=utf-8', 'application/vnd.x+json',
  ];
  const cloudevent = (): { body: Body; headers: Record<string, string> } => {
    const mode = int(3);
    if (mode === 0) {
      // Structured (sometimes with ce-* headers too, which it ignores).
      const body = JSON.stringify(structured());
      return { body: rand() < 0.3 ? mutate(body) : body, headers: { 'content-type': pick(CE_TYPES.slice(0, 3)), ...(rand() < 0.2 && binaryHeaders()) } };
    }
    if (mode === 1) {
      const body = JSON.stringify(Array.from({ length: int(6) }, structured));
      return { body: rand() < 0.3 ? mutate(body) : body, headers: { 'content-type': pick(CE_TYPES.slice(3, 5)) } };
    }
    const body = rand() < 0.9 ? JSON.stringify(alarm()) : value(0);
    const headers: Record<string, string> = { ...binaryHeaders() };
    if (rand() < 0.9) headers['content-type'] = pick(CE_TYPES.slice(5));
    return { body: rand() < 0.3 ? mutate(body) : body, headers };
  };

  // Besides the common edits: an object or array value replaced, a key renamed, a long number made huge.
  const mutate = (s: string): string => mutateJson(s, [
    (out) => { // replace an object or array value with a random one
      const found = [...out.matchAll(/:\s*[{[]/g)];
      if (found.length === 0) return out;
      const f = pick(found);
      return out.slice(0, f.index!) + ':' + value(1) + ',"x' + out.slice(f.index! + f[0].length);
    },
    (out) => out.replace(/"(\w+)":/, `"${pick(['__proto__', 'constructor', ...KEYS])}":`),
    (out) => out.replace(/\d{4,}/, pick(HUGE)),
  ]);
  const deep = (): string => {
    const d = 500 + int(5500);
    const inner = int(2) === 0 ? '['.repeat(d) + ']'.repeat(d) : '{"a":'.repeat(d) + '1' + '}'.repeat(d);
    return pick([inner, `{"version":"1","alerts":[{"status":"firing","labels":{"alertname":"D"},"values":${inner}}]}`, `{"specversion":"1.0","id":"d","source":"/d","type":"t","data":${inner}}`]);
  };
  const OTHER_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp', 'application/cloudevents+json', 'application/json; charset=latin1'];

  return (): Request => {
    const path = pick(PATHS);
    const r = rand();
    if (path === '/v1/cloudevents' && r < 0.55) return { path, ...cloudevent() };
    let body: Body;
    if (r < 0.2) body = value(0);
    else if (r < 0.5) body = mutate(path === '/v1/cloudevents' ? JSON.stringify(structured()) : validAlerts(path));
    else if (r < 0.7) body = path === '/v1/cloudevents' ? JSON.stringify(structured()) : validAlerts(path);
    else if (r < 0.8) body = bytes();
    else if (r < 0.87) body = deep();
    else if (r < 0.94) body = `[${Array.from({ length: 1 + int(3) }, () => value(1)).join(',')}]`;
    else body = pick(HUGE);
    const headers: Record<string, string> = {
      'content-type': path === '/v1/cloudevents' ? pick(CE_TYPES) : rand() < 0.95 ? 'application/json' : pick(OTHER_TYPES),
    };
    if (path === '/v1/cloudevents' && rand() < 0.5) Object.assign(headers, binaryHeaders());
    if (rand() < 0.03) delete headers['content-type'];
    return { path, body, headers };
  };
}

const utf8 = new TextEncoder();

/**
 * POST with exactly these headers (the body goes as bytes, so no Content-Type is added when the request has
 * none); a request that does not answer within HANG_MS rejects.
 */
async function send(h: Harness, q: Request): Promise<PostResult> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HANG_MS} ms`)), HANG_MS);
  });
  try {
    const body = typeof q.body === 'string' ? utf8.encode(q.body) : q.body;
    return await Promise.race([h.request(q.path, { method: 'POST', headers: q.headers, body }), hang]);
  } finally {
    clearTimeout(timer);
  }
}

const GRAFANA = fixture('grafana/webhook-payload.json');

test(`fuzz: ${FUZZ_COUNT} bodies to the Prometheus, Alertmanager, Grafana and CloudEvents endpoints never get a 5xx (seed ${FUZZ_SEED}, rerun with FUZZ_SEED)`, { timeout: 90_000 }, async (t) => {
  const h = await createHarness({ yaml: 'database: { synchronous: "OFF" }\ningest: { max_batch: 4 }' });
  try {
    const byPath = new Map<Path, Map<number, number>>(PATHS.map((p) => [p, new Map()]));
    const violations = new Violations();
    const prototypeUnchanged = watchObjectPrototype();
    const accepted: string[] = [];
    const sent = await sendInBatches(FUZZ_COUNT, fuzzer(prng(FUZZ_SEED)), (q) => settle(send(h, q)), (q, settled) => {
      const about = `${q.path} ${JSON.stringify(q.headers)} ${shownBody(q.body)}`;
      if (settled.status === 'rejected') {
        // A crash in the app (the request threw instead of answering) or a hang.
        violations.add(`no answer: ${String(settled.reason).slice(0, 80)}`, about);
        return;
      }
      const r = settled.value;
      const shown = `→ ${r.status} ${r.text.slice(0, 150)} for ${about}`;
      const counts = byPath.get(q.path)!;
      counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      if (r.status >= 500) violations.add(`status ${r.status}`, shown);
      else if (r.status < 200 || (r.status >= 300 && r.status < 400)) violations.add(`status ${r.status}`, shown);
      // No auth is configured and every path is served: these would mean the endpoint is missing or misrouted.
      else if ([401, 404, 405].includes(r.status)) violations.add(`status ${r.status}`, shown);
      else if (r.status >= 400) {
        if (r.json === undefined || r.json === null || typeof r.json !== 'object') violations.add(`${r.status} body is not a JSON object`, shown);
        else if (!/^application\/json/.test(r.headers.get('content-type') ?? '')) violations.add(`${r.status} content-type is not application/json`, shown);
        else if (typeof r.json.error !== 'string' || typeof r.json.code !== 'string') violations.add(`${r.status} without error/code`, shown);
        else if (r.status === 413 && r.json.code !== 'payload_too_large') violations.add('413 without code payload_too_large', shown);
        else if (r.status === 415 && r.json.code !== 'unsupported_media_type') violations.add('415 without code unsupported_media_type', shown);
      } else if (r.text !== '' && r.json === undefined) violations.add(`${r.status} body is not JSON`, shown);
      else if (r.json && Array.isArray(r.json.alarm_ids)) accepted.push(...(r.json.alarm_ids as string[]));
    });
    await checkReadBack((path) => h.get(path), accepted, violations);
    const stats = Object.fromEntries([...byPath].map(([p, m]) => [p, Object.fromEntries([...m].sort(([a], [b]) => a - b))]));
    t.diagnostic(`${sent} bodies (seed ${FUZZ_SEED}), statuses by path ${JSON.stringify(stats)}, ${new Set(accepted).size} alarms accepted`);
    violations.assertNone(FUZZ_SEED);
    assert.equal(sent, FUZZ_COUNT, 'every fuzzed body was sent and answered');
    prototypeUnchanged();
    // Every endpoint got its share, and the fuzz reaches both the accept and the error paths of the new parsers.
    for (const p of PATHS) {
      const total = [...byPath.get(p)!.values()].reduce((a, b) => a + b, 0);
      assert.ok(total > FUZZ_COUNT / 8, `${p} got ${total} bodies`);
    }
    if (FUZZ_COUNT >= 1000) {
      for (const p of ['/v1/grafana', '/v1/cloudevents'] as const) {
        const m = byPath.get(p)!;
        const total = [...m.values()].reduce((a, b) => a + b, 0);
        assert.ok((m.get(202) ?? 0) > total / 20, `${p}: the fuzz reaches the accept path (${JSON.stringify(Object.fromEntries(m))})`);
        assert.ok((m.get(400) ?? 0) > total / 5, `${p}: the fuzz reaches the error paths (${JSON.stringify(Object.fromEntries(m))})`);
      }
    }

    // The app keeps serving: health, and fresh valid posts to both new parsers.
    assert.equal((await h.get('/healthz')).status, 200);
    assert.equal((await h.get('/readyz')).status, 200);
    const grafana = await h.post('/v1/grafana', GRAFANA.replaceAll('c6eadffa33fcdf37', 'after-fuzz-1').replaceAll('bc97ff14869b13e3', 'after-fuzz-2'));
    assert.equal(grafana.status, 202, grafana.text);
    assert.equal(grafana.json.alarm_ids.length, 2);
    const event = JSON.stringify({ specversion: '1.0', id: 'after-fuzz', source: '/fuzz', type: 'com.example.alert', data: { name: 'StillAlive' } });
    const first = await h.post('/v1/cloudevents', event, { 'content-type': 'application/cloudevents+json' });
    assert.equal(first.status, 202, first.text);
    const again = await h.post('/v1/cloudevents', event, { 'content-type': 'application/cloudevents+json' });
    assert.equal(again.status, 200, `a redelivered CloudEvent is a repeat: ${again.text}`);
    assert.deepEqual(again.json.alarm_ids, first.json.alarm_ids);
    const binary = await h.post('/v1/cloudevents', '{"name":"StillAlive","labels":{"mode":"binary"}}', {
      'content-type': 'application/json; charset=utf-8',
      'ce-specversion': '1.0',
      'ce-id': 'after-fuzz%20binary',
      'ce-source': '/fuzz',
      'ce-type': 'com.example.alert',
    });
    assert.equal(binary.status, 202, binary.text);
    const batch = await h.post('/v1/cloudevents', `[${event.replace('after-fuzz', 'b-1')},${event.replace('after-fuzz', 'b-2')}]`, {
      'content-type': 'application/cloudevents-batch+json',
    });
    assert.equal(batch.status, 202, batch.text);
    assert.equal(batch.json.alarm_ids.length, 2);
    const stored = await h.get(`/v1/alarms/${binary.json.alarm_ids[0]}`);
    assert.equal(stored.status, 200, stored.text);
    assert.deepEqual(stored.json.alarm.details, { type: 'com.example.alert', source: '/fuzz', id: 'after-fuzz binary' }, 'ce-id percent-decoded');
  } finally {
    await h.cleanup();
  }
});
