/**
 * The admin API's own endpoints in process (alarms, one alarm, notifications, routes, canaries, reload
 * without a config file): 401 without or with an unknown token, 403 with a source token or with no admin
 * token configured, 400 naming the parameter, cursor pagination across pages, 404s, and the answers' shape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { createHarness, type Harness } from './app-harness.ts';

const ADMIN = 'admin-token-api-test-1';
const SRC = 'source-token-api-test-1';
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

const ENDPOINTS: [string, string][] = [
  ['GET', '/api/v1/alarms'],
  ['GET', '/api/v1/alarms/a_x'],
  ['GET', '/api/v1/notifications/n_x'],
  ['GET', '/api/v1/dead-letters'],
  ['POST', '/api/v1/dead-letters/replay'],
  ['POST', '/api/v1/dead-letters/discard'],
  ['GET', '/api/v1/routes'],
  ['GET', '/api/v1/canaries'],
  ['POST', '/-/reload'],
];

function yaml(extra = ''): string {
  return [
    'sources:',
    `  app: { token: ${SRC} }`,
    'admin:',
    `  tokens: [${ADMIN}]`,
    'methods:',
    '  out: { type: log }',
    'routes:',
    '  - match: { severity: critical, labels: { team: "~db|storage", env: "!dev" } }',
    '    methods: [out]',
    '    continue: true',
    '    group_by: [cluster]',
    '    group_wait: 1s',
    '  - methods: [out]',
    '    repeat_interval: 2h',
    '    min_state_interval: 30s',
    extra,
  ].join('\n');
}

const send = (h: Harness, body: unknown) => h.post('/v1/alarms', body, bearer(SRC));

test('every admin endpoint: 401 without or with an unknown token, 403 with a source token', async () => {
  const h = await createHarness({ yaml: yaml() });
  try {
    for (const [method, path] of ENDPOINTS) {
      const init = (headers: Record<string, string>) => ({ method, headers: { ...headers, 'content-type': 'application/json' }, ...(method === 'POST' && { body: '{"ids":["n_1"]}' }) });
      const none = await h.request(path, init({}));
      assert.equal(none.status, 401, `${method} ${path}`);
      assert.equal(none.json.code, 'unauthorized');
      assert.match(none.headers.get('www-authenticate') ?? '', /Bearer/);
      assert.equal((await h.request(path, init(bearer('unknown')))).status, 401, `${method} ${path} unknown`);
      const src = await h.request(path, init(bearer(SRC)));
      assert.equal(src.status, 403, `${method} ${path} source token`);
      assert.equal(src.json.code, 'forbidden');
      assert.ok(!src.text.includes(SRC) && !none.text.includes(ADMIN), 'no token in an answer');
    }
  } finally {
    await h.cleanup();
  }
  // No admin token configured: the admin API is off (403), whatever is sent.
  const off = await createHarness({ yaml: 'methods:\n  out: { type: log }\nroutes:\n  - methods: [out]\n' });
  try {
    for (const [method, path] of ENDPOINTS) {
      const r = await off.request(path, { method, headers: { ...bearer('anything'), 'content-type': 'application/json' }, ...(method === 'POST' && { body: '{}' }) });
      assert.equal(r.status, 403, `${method} ${path}`);
    }
  } finally {
    await off.cleanup();
  }
});

test('GET /api/v1/alarms: filters, pagination newest first, 400 naming the parameter; GET /api/v1/alarms/{id}', async () => {
  const h = await createHarness({ yaml: yaml(), start: true });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await send(h, { name: i % 2 ? 'DiskFull' : 'CpuHigh', severity: 'critical', labels: { host: `h${i}`, team: i < 4 ? 'db' : 'web' } });
      assert.equal(r.status, 202, r.text);
      ids.push(r.json.alarm_ids[0]);
      await new Promise((r) => setTimeout(r, 3)); // distinct last_seen
    }
    // h0 resolves: still one state per alarm.
    const resolved = await send(h, { name: 'CpuHigh', severity: 'critical', status: 'resolved', labels: { host: 'h0', team: 'db' } });
    const all = await h.get('/api/v1/alarms', bearer(ADMIN));
    assert.equal(all.status, 200, all.text);
    assert.equal(all.json.items.length, 7);
    assert.equal(all.json.next_cursor, null);
    const newest = all.json.items[0];
    assert.equal(newest.id, resolved.json.alarm_ids[0], 'newest last_seen first: the resolve of h0');
    assert.equal(newest.status, 'resolved');
    assert.equal(typeof newest.count, 'number');
    assert.deepEqual(Object.keys(newest).sort(), ['count', 'dedup_key', 'id', 'labels', 'last_seen', 'name', 'severity', 'silenced_by', 'since', 'source', 'status']);
    const times = all.json.items.map((a: { last_seen: string }) => Date.parse(a.last_seen));
    assert.deepEqual(times, [...times].sort((a, b) => b - a));

    const q = async (query: string) => (await h.get(`/api/v1/alarms?${query}`, bearer(ADMIN))).json.items as { labels: { host: string }; name: string; status: string }[];
    assert.equal((await q('state=resolved')).length, 1);
    assert.equal((await q('state=firing')).length, 6);
    assert.deepEqual((await q('name=DiskFull')).map((a) => a.name), ['DiskFull', 'DiskFull', 'DiskFull']);
    assert.deepEqual((await q('label.team=web&name=CpuHigh')).map((a) => a.labels.host).sort(), ['h4', 'h6']);
    assert.equal((await q('source=app')).length, 7);
    assert.equal((await q('source=other')).length, 0);
    assert.equal((await q(`since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).length, 0);
    assert.equal((await q(`until=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).length, 7);

    // Pages of 3 cover every alarm once, in order.
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await h.get(`/api/v1/alarms?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, bearer(ADMIN));
      assert.equal(r.status, 200, r.text);
      seen.push(...r.json.items.map((a: { dedup_key: string }) => a.dedup_key));
      cursor = r.json.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(seen, all.json.items.map((a: { dedup_key: string }) => a.dedup_key));

    for (const [query, field] of [
      ['state=on', 'state'], ['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=2.5', 'limit'], ['cursor=zz', 'cursor'],
      ['since=yesterday', 'since'], ['until=2026-13-01T00:00:00Z', 'until'], ['colour=red', 'colour'], ['state=firing&state=resolved', 'state'],
    ] as const) {
      const r = await h.get(`/api/v1/alarms?${query}`, bearer(ADMIN));
      assert.equal(r.status, 400, query);
      assert.equal(r.json.code, 'invalid_request', query);
      assert.equal(r.json.field, field, `${query}: ${r.text}`);
    }

    // One occurrence with its state and notifications.
    // (team web: not grouped, so notified at once.)
    const one = await h.get(`/api/v1/alarms/${ids[5]}`, bearer(ADMIN));
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.alarm.id, ids[5]);
    assert.equal(one.json.alarm.name, 'DiskFull');
    assert.equal(one.json.state.id, ids[5]);
    assert.ok(one.json.notifications.length >= 1);
    for (const n of one.json.notifications) {
      assert.equal(n.method, 'out');
      assert.ok(['pending', 'inflight', 'sent'].includes(n.state), n.state);
      for (const k of ['next_attempt_at', 'sent_at', 'dead_at', 'dead_reason', 'last_status', 'last_error']) assert.ok(k in n, k);
    }
    // An older occurrence: its state is the alarm's latest.
    const old = await h.get(`/api/v1/alarms/${ids[0]}`, bearer(ADMIN));
    assert.equal(old.json.state.id, resolved.json.alarm_ids[0]);
    const missing = await h.get('/api/v1/alarms/a_nope', bearer(ADMIN));
    assert.equal(missing.status, 404);
    assert.equal(missing.json.code, 'not_found');
  } finally {
    await h.cleanup();
  }
});

test('GET /api/v1/notifications/{id}: the notification, its alarms and attempts; 404', async () => {
  const h = await createHarness({ yaml: yaml(), start: true });
  try {
    const r = await send(h, { name: 'DiskFull', labels: { host: 'h1' } });
    const id = r.json.notification_ids[0] as string;
    const deadline = Date.now() + 10_000;
    let n = await h.get(`/api/v1/notifications/${id}`, bearer(ADMIN));
    while (n.json.notification?.state !== 'sent' && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 20));
      n = await h.get(`/api/v1/notifications/${id}`, bearer(ADMIN));
    }
    assert.equal(n.status, 200, n.text);
    assert.equal(n.json.notification.state, 'sent');
    assert.equal(n.json.notification.alarm_id, r.json.alarm_ids[0]);
    assert.deepEqual(n.json.notification.alarm_ids, r.json.alarm_ids);
    assert.equal(n.json.notification.method, 'out');
    assert.equal(n.json.notification.replays, 0);
    assert.equal(n.json.notification.next_attempt_at, null);
    assert.ok(n.json.notification.sent_at);
    assert.deepEqual(n.json.replays, []);
    assert.equal(n.json.attempts.length, 1);
    const [a] = n.json.attempts;
    assert.equal(a.series, 0);
    assert.equal(a.attempt, 1);
    assert.equal(a.outcome, 'sent');
    assert.equal(typeof a.latency_ms, 'number');
    assert.ok(!Number.isNaN(Date.parse(a.at)));
    const missing = await h.get('/api/v1/notifications/n_nope', bearer(ADMIN));
    assert.equal(missing.status, 404);
    assert.equal(missing.json.code, 'not_found');
  } finally {
    await h.cleanup();
  }
});

test('GET /api/v1/routes and /api/v1/canaries; POST /-/reload without a config file is 409', async () => {
  const canary = [
    'canaries:',
    '  beat:',
    '    interval: 60s',
    '    methods: [out]',
    '    ping_url: https://hc-ping.example/0b5f3e1a-8d2b-4c7e-9a10-2b3c4d5e6f70',
    '    max_latency: 30s',
    '',
  ].join('\n');
  const h = await createHarness({ yaml: yaml(canary) });
  try {
    const routes = await h.get('/api/v1/routes', bearer(ADMIN));
    assert.equal(routes.status, 200, routes.text);
    assert.deepEqual(routes.json.items, [
      {
        index: 0, match: { severity: 'critical', labels: { team: '~db|storage', env: '!dev' } }, methods: ['out'], continue: true,
        group_by: ['cluster'], repeat_interval: null, min_state_interval: null,
      },
      { index: 1, match: { labels: {} }, methods: ['out'], continue: false, group_by: null, repeat_interval: '2h', min_state_interval: '30s' },
    ]);

    const none = await h.get('/api/v1/canaries', bearer(ADMIN));
    assert.equal(none.status, 200, none.text);
    assert.deepEqual(none.json.items, [{ name: 'beat', status: 'unknown', interval: '1m', methods: ['out'], last_success_at: null, last_run: null }]);
    assert.ok(!none.text.includes('hc-ping.example'), 'the ping URL is a secret');
    // Runs as the canary service writes them.
    const db = new Database(h.dbFile);
    const ins = db.prepare(
      `INSERT INTO canary_runs (rid, canary, started_at, stage, outcome, reason, finished_at, latency_ms) VALUES (?, 'beat', ?, ?, ?, ?, ?, ?)`,
    );
    ins.run('r1', Date.parse('2026-01-01T00:00:00Z'), 'done', 'succeeded', null, Date.parse('2026-01-01T00:00:02Z'), 2000);
    ins.run('r2', Date.parse('2026-01-01T00:01:00Z'), 'done', 'failed', 'no notification for out', Date.parse('2026-01-01T00:01:30Z'), null);
    db.close();
    const runs = await h.get('/api/v1/canaries', bearer(ADMIN));
    assert.equal(runs.json.items[0].last_success_at, '2026-01-01T00:00:02.000Z');
    assert.deepEqual(runs.json.items[0].last_run, {
      rid: 'r2', started_at: '2026-01-01T00:01:00.000Z', outcome: 'failed', stage: 'done', reason: 'no notification for out',
      finished_at: '2026-01-01T00:01:30.000Z', latency_ms: null,
    });

    const reload = await h.request('/-/reload', { method: 'POST', headers: bearer(ADMIN) });
    assert.equal(reload.status, 409);
    assert.equal(reload.json.code, 'conflict');
  } finally {
    await h.cleanup();
  }
});
