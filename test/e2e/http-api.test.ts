/**
 * Ingest over HTTP, end to end through app.fetch (no sockets): status codes and exact JSON bodies,
 * body limits, content types, auth, idempotency, backpressure, unrouted alarms, health endpoints,
 * and a seeded fuzz of random bodies that must never get a 5xx.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkReadBack, fuzzSettings, jsonFuzz, sendInBatches, shownBody, Violations, watchObjectPrototype } from '../support/fuzz.ts';
import { createHarness, prng, type Harness, type PostResult } from './app-harness.ts';

const ALARM_ID = /^alm_[0-9A-HJKMNP-TV-Z]{26}$/;
const NOTIFICATION_ID = /^ntf_[0-9A-HJKMNP-TV-Z]{26}$/;

async function withHarness(yaml: string, fn: (h: Harness) => Promise<void>, opts: { start?: boolean } = {}): Promise<void> {
  const h = await createHarness({ yaml, ...opts });
  try {
    await fn(h);
  } finally {
    await h.cleanup();
  }
}

/** A 202 with `alarms` new alarm ids and `notifications` notification ids (one per alarm unless said). */
function assertAccepted(r: PostResult, alarms: number, notifications = alarms): { alarmIds: string[]; notificationIds: string[] } {
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(Object.keys(r.json).sort(), ['alarm_ids', 'notification_ids']);
  const alarmIds = r.json.alarm_ids as string[];
  const notificationIds = r.json.notification_ids as string[];
  assert.equal(alarmIds.length, alarms);
  assert.equal(notificationIds.length, notifications);
  for (const id of alarmIds) assert.match(id, ALARM_ID);
  for (const id of notificationIds) assert.match(id, NOTIFICATION_ID);
  assert.equal(new Set([...alarmIds, ...notificationIds]).size, alarmIds.length + notificationIds.length, 'ids are unique');
  return { alarmIds, notificationIds };
}

function assertError(r: PostResult, status: number, body: { error: string | RegExp; code: string; field?: string }, what = ''): void {
  const context = `${what ? `${what}: ` : ''}${r.status} ${r.text}`;
  assert.equal(r.status, status, context);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/, context);
  const { error, ...rest } = body;
  const { error: gotError, ...gotRest } = r.json as { error: unknown };
  assert.deepEqual(gotRest, rest, context);
  if (typeof error === 'string') assert.equal(gotError, error, context);
  else assert.match(String(gotError), error, context);
}

// ---- accepted -----------------------------------------------------------------------------------

test('202 for one alarm: ids returned, rows committed before the answer, defaults applied', async () => {
  await withHarness('', async (h) => {
    const before = Date.now();
    const r = await h.post('/v1/alarms', { name: 'DiskFull', labels: { host: 'db1', mount: '/var' } });
    const { alarmIds, notificationIds } = assertAccepted(r, 1);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);

    const alarm = h.app.store.queries.getAlarm(alarmIds[0]!);
    assert.ok(alarm, 'the alarm is in the store when the 202 arrives');
    assert.equal(alarm.source, 'generic');
    assert.equal(alarm.name, 'DiskFull');
    assert.equal(alarm.severity, 'warning');
    assert.equal(alarm.status, 'firing');
    assert.deepEqual(alarm.labels, { host: 'db1', mount: '/var' });
    assert.deepEqual(alarm.annotations, {});
    assert.equal(alarm.summary, undefined);
    assert.ok(alarm.receivedAt >= before && alarm.receivedAt <= Date.now());
    assert.equal(alarm.occurredAt, alarm.receivedAt, 'occurred_at defaults to the receive time');
    assert.match(alarm.dedupKey, /^[0-9a-f]{32}$/);

    const ns = h.app.store.queries.notificationsOf(alarm.id);
    assert.deepEqual(
      ns.map((n) => ({ id: n.id, method: n.method, state: n.state, attempts: n.attempts })),
      [{ id: notificationIds[0], method: 'log', state: 'pending', attempts: 0 }],
    );
    assert.equal(h.count('alarms'), 1);
    assert.equal(h.count('notifications'), 1);
  });
});

test('202 for an array: one alarm per element, in order, all stored', async () => {
  await withHarness('', async (h) => {
    const r = await h.post('/v1/alarms', [
      { name: 'A', severity: 'critical', summary: 'first' },
      { name: 'B', status: 'resolved', occurred_at: '2026-01-02T03:04:05Z' },
      { name: 'C', occurred_at: 1_700_000_000_123, annotations: { runbook: 'https://x.example/rb' } },
    ]);
    // B, a resolved of an alarm never seen firing, is recorded and not notified (alarm lifecycle).
    const { alarmIds } = assertAccepted(r, 3, 2);
    const [a, b, c] = alarmIds.map((id) => h.app.store.queries.getAlarm(id)!);
    assert.deepEqual([a!.name, a!.severity, a!.status, a!.summary], ['A', 'critical', 'firing', 'first']);
    assert.deepEqual([b!.name, b!.severity, b!.status, b!.occurredAt], ['B', 'warning', 'resolved', Date.parse('2026-01-02T03:04:05Z')]);
    assert.deepEqual([c!.name, c!.occurredAt, c!.annotations], ['C', 1_700_000_000_123, { runbook: 'https://x.example/rb' }]);
    assert.equal(h.count('alarms'), 3);
    assert.equal(h.count('notifications'), 2);
  });
});

test('dedup_key: stable for the same source+name+labels whatever the label order; different otherwise', async () => {
  await withHarness('', async (h) => {
    const key = async (body: unknown) => {
      const r = await h.post('/v1/alarms', body);
      assert.equal(r.status, 202, r.text);
      return h.app.store.queries.getAlarm(r.json.alarm_ids[0]!)!.dedupKey;
    };
    const k1 = await key({ name: 'DiskFull', labels: { host: 'db1', mount: '/var' } });
    const k2 = await key({ name: 'DiskFull', labels: { mount: '/var', host: 'db1' } });
    const k3 = await key({ name: 'DiskFull', severity: 'critical', status: 'resolved', summary: 'x', labels: { mount: '/var', host: 'db1' } });
    assert.equal(k1, k2, 'label order does not matter');
    assert.equal(k1, k3, 'severity, status and summary are not part of the identity');
    const others = [
      await key({ name: 'DiskFull', labels: { host: 'db2', mount: '/var' } }),
      await key({ name: 'DiskFull', labels: { host: 'db1' } }),
      await key({ name: 'DiskFull', labels: { host: 'db1', mount: '/var', extra: '' } }),
      await key({ name: 'DiskFul', labels: { host: 'db1', mount: '/var' } }),
      await key({ name: 'DiskFull', source: 'other', labels: { host: 'db1', mount: '/var' } }),
      // No ambiguity between label boundaries.
      await key({ name: 'DiskFull', labels: { 'host=db1,mount': '/var' } }),
    ];
    assert.equal(new Set([k1, ...others]).size, others.length + 1, 'every different identity has its own key');
    assert.equal(await key({ name: 'X', dedup_key: 'my-key' }), 'my-key', 'an explicit dedup_key is kept');
  });
});

// ---- 400 ----------------------------------------------------------------------------------------

test('400 names the offending field', async () => {
  await withHarness('', async (h) => {
    const cases: [string, unknown, { error: string | RegExp; field: string }][] = [
      ['invalid JSON', '{"name":', { error: /^invalid JSON: /, field: 'body' }],
      ['empty body', '', { error: /^invalid JSON: /, field: 'body' }],
      ['a scalar', '42', { error: 'must be an alarm object or an array of them', field: 'body' }],
      ['null', 'null', { error: 'must be an alarm object or an array of them', field: 'body' }],
      ['missing name', { severity: 'critical' }, { error: 'is required: a short alarm name like DiskFull', field: 'name' }],
      ['empty name', { name: '' }, { error: 'must not be empty', field: 'name' }],
      ['bad severity', { name: 'A', severity: 'urgent' }, { error: 'must be one of critical, error, warning, info', field: 'severity' }],
      ['bad status', { name: 'A', status: 'open' }, { error: 'must be one of firing, resolved', field: 'status' }],
      ['unknown field', { name: 'A', colour: 'red' }, { error: 'unknown field', field: 'colour' }],
      ['label not a string', { name: 'A', labels: { x: { y: 1 } } }, { error: 'must be a string', field: 'labels.x' }],
      [
        'bad label in an array element',
        [{ name: 'A' }, { name: 'B', labels: { x: [] } }],
        { error: 'must be a string', field: '[1].labels.x' },
      ],
      ['unknown field in an array element', [{ name: 'A' }, { name: 'B' }, { name: 'C', x: 1 }], { error: 'unknown field', field: '[2].x' }],
      ['array element not an object', [{ name: 'A' }, 7], { error: 'must be an alarm object', field: '[1]' }],
      ['empty array', [], { error: 'empty array: send at least one alarm', field: 'body' }],
      [
        'occurred_at garbage',
        { name: 'A', occurred_at: 'yesterday' },
        { error: 'must be an RFC 3339 time like 2026-11-22T01:00:41Z or epoch milliseconds', field: 'occurred_at' },
      ],
      [
        'occurred_at fraction',
        { name: 'A', occurred_at: 1.5 },
        { error: 'must be an RFC 3339 time like 2026-11-22T01:00:41Z or epoch milliseconds', field: 'occurred_at' },
      ],
      ['occurred_at negative', { name: 'A', occurred_at: -1 }, { error: 'must not be negative', field: 'occurred_at' }],
      ['occurred_at leap second', { name: 'A', occurred_at: '2026-12-31T23:59:60Z' }, { error: 'is not a valid time', field: 'occurred_at' }],
      ['duplicate key', '{"name":"A","name":"B"}', { error: /^invalid JSON: Duplicate key 'name'/, field: 'body' }],
    ];
    for (const [what, body, want] of cases) {
      const r = await h.post('/v1/alarms', body);
      assertError(r, 400, { ...want, code: 'invalid_request' }, what);
    }
    assert.equal(h.count('alarms'), 0, 'nothing stored for a bad request');
    // A batch with one bad element stores none of it.
    assertError(await h.post('/v1/alarms', [{ name: 'ok' }, { name: 'ok2', severity: 'x' }]), 400, {
      error: 'must be one of critical, error, warning, info', code: 'invalid_request', field: '[1].severity',
    });
    assert.equal(h.count('alarms'), 0);
  });
});

test('400 for a bad Idempotency-Key header', async () => {
  await withHarness('', async (h) => {
    for (const key of ['', 'k'.repeat(256)]) {
      assertError(await h.post('/v1/alarms', { name: 'A' }, { 'idempotency-key': key }), 400, {
        error: 'Idempotency-Key must be 1 to 255 characters', code: 'invalid_request', field: 'Idempotency-Key',
      });
    }
    assertAccepted(await h.post('/v1/alarms', { name: 'A' }, { 'idempotency-key': 'k'.repeat(255) }), 1);
  });
});

// The JS Date range ends at 8.64e15 ms; integers up to 2^53 − 1 pass `z.number().int()`.
test('occurred_at beyond the Date range is refused (an accepted alarm must be readable and deliverable)', async () => {
  await withHarness('', async (h) => {
    for (const occurredAt of [8_640_000_000_000_001, Number.MAX_SAFE_INTEGER]) {
      const r = await h.post('/v1/alarms', { name: 'FarFuture', occurred_at: occurredAt });
      if (r.status === 202) {
        const got = await h.get(`/v1/alarms/${r.json.alarm_ids[0]}`);
        assert.equal(got.status, 200, `occurred_at ${occurredAt} was accepted (202) but GET /v1/alarms/:id answers ${got.status} ${got.text}`);
      }
      assertError(r, 400, { error: /./, code: 'invalid_request', field: 'occurred_at' });
    }
    // The last representable instant is fine.
    const edge = await h.post('/v1/alarms', { name: 'Edge', occurred_at: 8_640_000_000_000_000 });
    assert.equal(edge.status, 202, edge.text);
    assert.equal((await h.get(`/v1/alarms/${edge.json.alarm_ids[0]}`)).json.alarm.occurred_at, '+275760-09-13T00:00:00.000Z');
    const z = await h.post(
      '/v1/zeebe',
      { valueType: 'INCIDENT', recordType: 'EVENT', intent: 'CREATED', partitionId: 1, key: 7, timestamp: 8_640_000_000_000_001, value: {} },
    );
    if (z.status === 202) {
      const got = await h.get(`/v1/alarms/${z.json.alarm_ids[0]}`);
      assert.equal(got.status, 200, `Zeebe timestamp beyond the Date range was accepted (202) but GET /v1/alarms/:id answers ${got.status}`);
    }
    assertError(z, 400, { error: /./, code: 'invalid_request', field: 'timestamp' });
  });
});

test('a label named __proto__ is kept or refused, never silently dropped; nothing is polluted', async () => {
  await withHarness('', async (h) => {
    const r = await h.post('/v1/alarms', '{"name":"P","labels":{"__proto__":"x","a":"b"}}');
    assert.equal(({} as Record<string, unknown>).x, undefined);
    if (r.status === 400) {
      assert.equal(r.json.field, 'labels.__proto__');
      return;
    }
    const { alarmIds } = assertAccepted(r, 1);
    const alarm = h.app.store.queries.getAlarm(alarmIds[0]!)!;
    assert.deepEqual(Object.keys(alarm.labels).sort(), ['__proto__', 'a'], `labels stored as ${JSON.stringify(alarm.labels)}`);
  });
});

test('deep nesting: never a 5xx, on either endpoint, at any depth up to the body limit', async () => {
  await withHarness('', async (h) => {
    const record = JSON.parse(readFileSync(new URL('../fixtures/zeebe/incident-alerter-readme-created-0.22.json', import.meta.url), 'utf8'));
    const problems: string[] = [];
    for (const depth of [100, 1000, 2000, 2500, 3000, 3500, 4000, 4500, 5000, 20_000]) {
      const arrays = '['.repeat(depth) + '1' + ']'.repeat(depth);
      const bodies: [string, string][] = [
        ['/v1/alarms', '['.repeat(depth) + ']'.repeat(depth)],
        ['/v1/alarms', `{"name":"Deep","labels":{"x":${arrays}}}`],
        ['/v1/zeebe', arrays],
        // Built from the 0.22 fixture: a valid INCIDENT record with a deeply nested array in its value.
        ['/v1/zeebe', JSON.stringify({ ...record, key: record.key + depth, value: { ...record.value, elementInstancePath: '__DEEP__' } }).replace('"__DEEP__"', arrays)],
      ];
      for (const [path, body] of bodies) {
        const r = await h.post(path, body);
        if (![200, 202, 400, 413].includes(r.status)) problems.push(`${path} depth ${depth}: ${r.status} ${r.text}`);
        else if (r.status === 400) assert.equal(typeof r.json.field, 'string');
      }
    }
    const logged = h.logger.records.filter((x) => x.level === 'error').map((x) => `${x.msg} ${JSON.stringify(x.fields)}`);
    assert.deepEqual(problems, [], `deeply nested bodies answered 5xx; logged: ${[...new Set(logged)].join('; ')}`);
  });
});

// ---- size limits and content types --------------------------------------------------------------

test('413 for a body over ingest.max_body: with Content-Length, and streamed without one', async () => {
  await withHarness('ingest: { max_body: 1KiB, max_batch: 3 }', async (h) => {
    const tooLarge = { error: 'request body is larger than ingest.max_body (1024 bytes)', code: 'payload_too_large' };
    const body = JSON.stringify({ name: 'Big', summary: 'x'.repeat(1100) });
    assert.ok(Buffer.byteLength(body) > 1024);
    const withLength = await h.request('/v1/alarms', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      body,
    });
    assertError(withLength, 413, tooLarge);

    // Chunked: an endless stream; the reader must stop at the limit and cancel it.
    let pulled = 0;
    let cancelled = false;
    const chunk = new TextEncoder().encode('[' + '{"name":"A"},'.repeat(40));
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
      cancel() {
        cancelled = true;
      },
    });
    const streamed = await h.request('/v1/alarms', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    assertError(streamed, 413, tooLarge);
    assert.ok(cancelled, 'the request stream was cancelled');
    assert.ok(pulled < 64 * 1024, `read ${pulled} bytes of an endless stream`);

    // Multi-byte characters count as bytes, not as characters.
    const unicode = JSON.stringify({ name: 'U', summary: 'é'.repeat(520) });
    assert.ok(unicode.length < 1024 && Buffer.byteLength(unicode) > 1024);
    assertError(await h.post('/v1/alarms', new TextEncoder().encode(unicode)), 413, tooLarge);

    // A streamed body within the limit is fine.
    const small = new TextEncoder().encode(JSON.stringify({ name: 'Small' }));
    const ok = await h.request('/v1/alarms', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(small.slice(0, 5));
          c.enqueue(small.slice(5));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assertAccepted(ok, 1);

    // An array over max_batch.
    assertError(await h.post('/v1/alarms', [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }]), 413, {
      error: 'too many alarms in one request: 4 (max_batch is 3)', code: 'payload_too_large', field: 'body',
    });
    assertAccepted(await h.post('/v1/alarms', [{ name: 'a' }, { name: 'b' }, { name: 'c' }]), 3);
    assert.equal(h.count('alarms'), 4);
  });
});

test('content types: 415 for text/plain; JSON variants and no Content-Type accepted', async () => {
  await withHarness('', async (h) => {
    assertError(await h.post('/v1/alarms', { name: 'A' }, { 'content-type': 'text/plain' }), 415, {
      error: 'Content-Type must be application/json, not "text/plain"', code: 'unsupported_media_type',
    });
    assertError(await h.post('/v1/zeebe', { name: 'A' }, { 'content-type': 'application/x-www-form-urlencoded' }), 415, {
      error: 'Content-Type must be application/json, not "application/x-www-form-urlencoded"', code: 'unsupported_media_type',
    });
    for (const type of ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/cloudevents+json']) {
      assertAccepted(await h.post('/v1/alarms', { name: 'A', labels: { type } }, { 'content-type': type }), 1);
    }
    // A bytes body sets no Content-Type.
    const r = await h.request('/v1/alarms', { method: 'POST', body: new TextEncoder().encode('{"name":"NoType"}') });
    assertAccepted(r, 1);
    assert.equal(h.count('alarms'), 5);
  });
});

// ---- auth ---------------------------------------------------------------------------------------

const ZEEBE_TOKEN = 'zb-tok-8f3a2c1d9e7b6a5f4e3d2c1b';
const SCRIPTS_TOKEN = 'sc-tok-1a2b3c4d5e6f7a8b9c0d1e2f';
const AUTH_YAML = `sources:\n  zeebe: { token: "${ZEEBE_TOKEN}" }\n  scripts: { token: "${SCRIPTS_TOKEN}" }\n`;

test('auth: 401 without or with a wrong token, 202 with the right one, 403 for a foreign source; tokens never leak', async () => {
  await withHarness(AUTH_YAML, async (h) => {
    const seen: string[] = [];
    const keep = (r: PostResult) => {
      seen.push(r.text, ...[...r.headers].map(([k, v]) => `${k}: ${v}`));
      return r;
    };
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

    const none = keep(await h.post('/v1/alarms', { name: 'A' }));
    assertError(none, 401, { error: 'missing Authorization: Bearer <token>', code: 'unauthorized' });
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="tocsin"');
    const wrong = keep(await h.post('/v1/alarms', { name: 'A' }, bearer(`${SCRIPTS_TOKEN}x`)));
    assertError(wrong, 401, { error: 'unknown token', code: 'unauthorized' });
    assert.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="tocsin"');
    const basic = keep(await h.post('/v1/alarms', { name: 'A' }, { authorization: `Basic ${Buffer.from(`u:${SCRIPTS_TOKEN}`).toString('base64')}` }));
    assertError(basic, 401, { error: 'Authorization must be "Bearer <token>"', code: 'unauthorized' });
    const zeebeNoAuth = keep(await h.post('/v1/zeebe', {}));
    assertError(zeebeNoAuth, 401, { error: 'missing Authorization: Bearer <token>', code: 'unauthorized' });
    // Auth comes before everything else: a bad body without a token is still a 401.
    assertError(keep(await h.post('/v1/alarms', 'not json', { 'content-type': 'text/plain' })), 401, {
      error: 'missing Authorization: Bearer <token>', code: 'unauthorized',
    });
    assert.equal(h.count('alarms'), 0);

    const ok = keep(await h.post('/v1/alarms', { name: 'A' }, bearer(SCRIPTS_TOKEN)));
    const { alarmIds } = assertAccepted(ok, 1);
    assert.equal(h.app.store.queries.getAlarm(alarmIds[0]!)!.source, 'scripts');
    const lower = keep(await h.post('/v1/alarms', { name: 'A2', source: 'scripts' }, { authorization: `bearer   ${SCRIPTS_TOKEN}` }));
    assert.equal(h.app.store.queries.getAlarm(assertAccepted(lower, 1).alarmIds[0]!)!.source, 'scripts');
    const viaZeebeToken = keep(await h.post('/v1/alarms', { name: 'B' }, bearer(ZEEBE_TOKEN)));
    assert.equal(h.app.store.queries.getAlarm(assertAccepted(viaZeebeToken, 1).alarmIds[0]!)!.source, 'zeebe');

    const foreign = keep(await h.post('/v1/alarms', [{ name: 'A' }, { name: 'B', source: 'zeebe' }], bearer(SCRIPTS_TOKEN)));
    assertError(foreign, 403, {
      error: 'this token belongs to source "scripts" and cannot post alarms for source "zeebe"', code: 'forbidden', field: '[1].source',
    });
    const foreign1 = keep(await h.post('/v1/alarms', { name: 'B', source: 'zeebe' }, bearer(SCRIPTS_TOKEN)));
    assertError(foreign1, 403, {
      error: 'this token belongs to source "scripts" and cannot post alarms for source "zeebe"', code: 'forbidden', field: 'source',
    });
    assert.equal(h.count('alarms'), 3);

    // Reading an alarm needs a token too.
    const id = alarmIds[0]!;
    assertError(keep(await h.get(`/v1/alarms/${id}`)), 401, { error: 'missing Authorization: Bearer <token>', code: 'unauthorized' });
    // Each source sees only its own alarms.
    assert.equal(keep(await h.get(`/v1/alarms/${id}`, bearer(ZEEBE_TOKEN))).status, 404);
    const read = keep(await h.get(`/v1/alarms/${id}`, bearer(SCRIPTS_TOKEN)));
    assert.equal(read.status, 200);
    assert.equal(read.json.alarm.source, 'scripts');
    keep(await h.get('/metrics'));
    keep(await h.get('/readyz'));

    // Let the log method print, so its lines are checked too.
    h.app.start();
    await h.app.dispatcher.idle();
    const deadline = Date.now() + 5000;
    while (h.lines.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.lines.length, 3);
    await h.app.stop();

    const everything = [...seen, ...h.lines, h.logger.text()].join('\n');
    for (const token of [ZEEBE_TOKEN, SCRIPTS_TOKEN]) {
      assert.ok(!everything.includes(token), 'a token appears in a response or a log line');
      assert.ok(!everything.includes(token.slice(0, 16)), 'part of a token appears in a response or a log line');
    }
  });
});

// ---- idempotency --------------------------------------------------------------------------------

test('Idempotency-Key: a repeat answers 200 with the same ids and stores nothing new', async () => {
  await withHarness('', async (h) => {
    const key = { 'idempotency-key': 'req-42' };
    const first = await h.post('/v1/alarms', [{ name: 'A' }, { name: 'B' }], key);
    const ids = assertAccepted(first, 2);
    const counts = { alarms: h.count('alarms'), notifications: h.count('notifications') };
    const again = await h.post('/v1/alarms', [{ name: 'A' }, { name: 'B' }], key);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.json, { alarm_ids: ids.alarmIds, notification_ids: ids.notificationIds, duplicates: 2 });
    // The key covers the request whatever its body.
    const changed = await h.post('/v1/alarms', { name: 'Other' }, key);
    assert.equal(changed.status, 200);
    assert.deepEqual(changed.json.alarm_ids, ids.alarmIds);
    assert.deepEqual({ alarms: h.count('alarms'), notifications: h.count('notifications') }, counts);
    // Another key is a new request; the repeats are counted in the metrics.
    assertAccepted(await h.post('/v1/alarms', { name: 'A2' }, { 'idempotency-key': 'req-43' }), 1);
    assert.equal(h.count('alarms'), 3);
    const metrics = (await h.get('/metrics')).text;
    assert.match(metrics, /^tocsin_alarms_duplicate_total\{source="generic"\} 3$/m);
    assert.match(metrics, /^tocsin_alarms_accepted_total\{source="generic"\} 3$/m);
  });
});

test('natural key: same dedup_key+status+occurred_at is a repeat; without occurred_at every POST is new', async () => {
  await withHarness('', async (h) => {
    const occurrence = { name: 'Disk', labels: { host: 'a' }, occurred_at: '2026-03-01T10:00:00Z' };
    const first = assertAccepted(await h.post('/v1/alarms', occurrence), 1);
    const repeat = await h.post('/v1/alarms', { ...occurrence, labels: { host: 'a' }, summary: 'resent' });
    assert.equal(repeat.status, 200, repeat.text);
    assert.deepEqual(repeat.json, { alarm_ids: first.alarmIds, notification_ids: first.notificationIds, duplicates: 1 });
    // The same instant written as epoch ms is the same occurrence.
    const asMs = await h.post('/v1/alarms', { ...occurrence, occurred_at: Date.parse(occurrence.occurred_at) });
    assert.equal(asMs.status, 200, asMs.text);
    assert.equal(h.count('alarms'), 1);

    // Different status or time: a new occurrence.
    assertAccepted(await h.post('/v1/alarms', { ...occurrence, status: 'resolved' }), 1);
    assertAccepted(await h.post('/v1/alarms', { ...occurrence, occurred_at: '2026-03-01T10:00:01Z' }), 1);
    // In a batch: the repeat gives the original ids, the new one new ids; still 202.
    const mixed = await h.post('/v1/alarms', [occurrence, { ...occurrence, labels: { host: 'b' } }]);
    assert.equal(mixed.status, 202, mixed.text);
    assert.equal(mixed.json.alarm_ids[0], first.alarmIds[0]);
    assert.equal(mixed.json.duplicates, 1);
    assert.equal(h.count('alarms'), 4);

    const noTime = { name: 'Disk', labels: { host: 'c' } };
    const a = assertAccepted(await h.post('/v1/alarms', noTime), 1);
    // A new occurrence of the same (still firing) alarm: recorded and counted, not notified again.
    const b = assertAccepted(await h.post('/v1/alarms', noTime), 1, 0);
    assert.notEqual(a.alarmIds[0], b.alarmIds[0]);
    assert.equal(h.count('alarms'), 6);
  });
});

test('idempotency keys of different sources do not collide', async () => {
  await withHarness(AUTH_YAML, async (h) => {
    const as = (token: string, key: string) => ({ authorization: `Bearer ${token}`, 'idempotency-key': key });
    const body = { name: 'Same', dedup_key: 'shared', occurred_at: 1_700_000_000_000 };
    const s1 = assertAccepted(await h.post('/v1/alarms', body, as(SCRIPTS_TOKEN, 'k1')), 1);
    const z1 = assertAccepted(await h.post('/v1/alarms', body, as(ZEEBE_TOKEN, 'k1')), 1);
    assert.notEqual(s1.alarmIds[0], z1.alarmIds[0]);
    // Natural keys too (same explicit dedup_key + status + occurred_at, no header).
    const s2 = await h.post('/v1/alarms', body, { authorization: `Bearer ${SCRIPTS_TOKEN}` });
    assert.equal(s2.status, 200);
    assert.deepEqual(s2.json.alarm_ids, s1.alarmIds);
    const z2 = await h.post('/v1/alarms', body, { authorization: `Bearer ${ZEEBE_TOKEN}` });
    assert.equal(z2.status, 200);
    assert.deepEqual(z2.json.alarm_ids, z1.alarmIds);
    // Repeating each source's header key gives that source's ids.
    assert.deepEqual((await h.post('/v1/alarms', { name: 'x' }, as(ZEEBE_TOKEN, 'k1'))).json.alarm_ids, z1.alarmIds);
    assert.deepEqual((await h.post('/v1/alarms', { name: 'x' }, as(SCRIPTS_TOKEN, 'k1'))).json.alarm_ids, s1.alarmIds);
    assert.equal(h.count('alarms'), 2);
  });
});

// ---- backpressure, unrouted ---------------------------------------------------------------------

test('backpressure: 503 overloaded with Retry-After once max_pending notifications wait', async () => {
  const yaml = [
    'ingest: { max_pending: 2 }',
    'methods:',
    '  dead-end: { type: webhook, url: "http://127.0.0.1:9/unreachable", timeout: 200ms, backoff_base: 10s }',
    'routes:',
    '  - methods: [dead-end]',
  ].join('\n');
  await withHarness(
    yaml,
    async (h) => {
      assertAccepted(await h.post('/v1/alarms', { name: 'A' }), 1);
      assertAccepted(await h.post('/v1/alarms', { name: 'B' }), 1);
      const r = await h.post('/v1/alarms', { name: 'C' });
      assertError(r, 503, { error: 'outbox holds 2 undelivered notifications (max_pending 2)', code: 'overloaded' });
      assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      assert.equal(h.count('alarms'), 2, 'the refused alarm is not stored');
      // Zeebe ingest is refused the same way.
      const z = await h.post('/v1/zeebe', { valueType: 'INCIDENT', intent: 'CREATED', partitionId: 1, key: 1, value: {} });
      assert.equal(z.status, 503);
      assert.equal(z.json.code, 'overloaded');
      const ready = await h.get('/readyz');
      assert.equal(ready.json.undelivered, 2);
    },
    { start: true },
  );
});

test('unrouted: stored with zero notifications, listed under unrouted, warned and counted', async () => {
  await withHarness('routes: []', async (h) => {
    const r = await h.post('/v1/alarms', { name: 'Nobody', labels: { team: 'none' } });
    assert.equal(r.status, 202, r.text);
    const id = r.json.alarm_ids[0] as string;
    assert.match(id, ALARM_ID);
    assert.deepEqual(r.json, { alarm_ids: [id], notification_ids: [], unrouted: [id] });
    assert.ok(h.app.store.queries.getAlarm(id), 'the unrouted alarm is stored');
    assert.deepEqual(h.app.store.queries.notificationsOf(id), []);
    const warn = h.logger.records.find((x) => x.level === 'warn' && x.fields.alarm_id === id);
    assert.ok(warn, 'a warning names the alarm');
    assert.match(warn.msg, /no route/);
    const metrics = await h.get('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^tocsin_alarms_unrouted_total\{source="generic"\} 1$/m);
    assert.match(metrics.text, /^tocsin_alarms_accepted_total\{source="generic"\} 1$/m);
    const read = await h.get(`/v1/alarms/${id}`);
    assert.deepEqual(read.json.notifications, []);
  });
});

// ---- health and lookup --------------------------------------------------------------------------

test('healthz, readyz (503 after stop), alarm lookup with notification states, 404 JSON', async () => {
  await withHarness('', async (h) => {
    const health = await h.get('/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.json.status, 'ok');
    assert.equal(health.json.version, JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
    const ready = await h.get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.json.status, 'ready');
    assert.deepEqual(ready.json.checks, { housekeeping: 'ok', dispatcher: 'ok', ingest: 'ok', database: 'ok' }, 'every service contributes its check');

    const { alarmIds, notificationIds } = assertAccepted(await h.post('/v1/alarms', { name: 'Look', summary: 'here' }), 1);
    const pending = await h.get(`/v1/alarms/${alarmIds[0]}`);
    assert.equal(pending.status, 200);
    assert.equal(pending.json.alarm.id, alarmIds[0]);
    assert.equal(pending.json.alarm.name, 'Look');
    assert.equal(pending.json.alarm.summary, 'here');
    assert.equal(pending.json.notifications.length, 1);
    assert.deepEqual(
      { id: pending.json.notifications[0].id, method: pending.json.notifications[0].method, state: pending.json.notifications[0].state },
      { id: notificationIds[0], method: 'log', state: 'pending' },
    );

    h.app.start();
    const deadline = Date.now() + 5000;
    let sent: PostResult | undefined;
    while (Date.now() < deadline) {
      sent = await h.get(`/v1/alarms/${alarmIds[0]}`);
      if (sent.json.notifications[0]?.state === 'sent') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(sent!.json.notifications.length, 1);
    assert.equal(sent!.json.notifications[0].state, 'sent');
    assert.equal(sent!.json.notifications[0].id, notificationIds[0]);
    assert.equal(sent!.json.notifications[0].attempts, 1);
    assert.equal(h.lines.length, 1);
    assert.equal(JSON.parse(h.lines[0]!).notification_id, notificationIds[0]);

    assertError(await h.get('/v1/alarms/alm_nope'), 404, { error: 'no such alarm (it may have passed its retention)', code: 'not_found' });
    assertError(await h.get('/nope'), 404, { error: 'no route for GET /nope', code: 'not_found' });
    assertError(await h.request('/v1/alarms', { method: 'PUT', body: '{}' }), 404, { error: 'no route for PUT /v1/alarms', code: 'not_found' });

    await h.app.stop();
    const stopped = await h.get('/readyz');
    assert.equal(stopped.status, 503);
    assert.equal(stopped.json.status, 'not ready');
    assert.deepEqual(stopped.json.checks, { housekeeping: 'ok', dispatcher: 'stopped', ingest: 'stopped', database: 'shutting down' });
    assert.equal(stopped.json.error, 'dispatcher: stopped');
    assert.equal((await h.get('/healthz')).status, 200, 'healthz is liveness only');
  });
});

// ---- fuzz ---------------------------------------------------------------------------------------

const { seed: FUZZ_SEED, count: FUZZ_COUNT } = fuzzSettings(2000); // speed belongs in `npm run bench`

type Body = string | Uint8Array;

function fuzzer(rand: () => number) {
  const HUGE = [
    '1e400', '-1e400', '123456789012345678901234567890', '9007199254740993', '-9223372036854775809', '9223372036854775808',
    '18446744073709551616', '0.000000000000000000000001', '1.7976931348623157e308', '5e-324', '-0', '1E+2', '8640000000000001',
    '11258999068426283', '1.1258999068426283e16', String(Number.MAX_SAFE_INTEGER), '4294967296',
  ];
  const { int, pick, str, value, mutate: mutateJson, bytes } = jsonFuzz(rand, {
    huge: HUGE,
    chars: ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\u0000', '\u001f', 'é', '中', '😀', '\u202e', '\ufeff', '\ud800', '\udfff', '\u2028'],
    keys: ['name', 'source', 'severity', 'status', 'labels', 'annotations', 'occurred_at', 'dedup_key', 'summary', '__proto__', 'constructor', 'prototype', 'key', 'value', 'valueType', 'intent', 'partitionId'],
    scalars: ['critical', 'warning', 'firing', 'resolved', 'INCIDENT', 'CREATED', 'RESOLVED', '2026-01-01T00:00:00Z', ''],
  });
  const validGeneric = (): string =>
    JSON.stringify({
      name: `N${int(50)}`,
      ...(rand() < 0.5 && { severity: pick(['critical', 'error', 'warning', 'info']) }),
      ...(rand() < 0.3 && { status: pick(['firing', 'resolved']) }),
      ...(rand() < 0.5 && { labels: { host: `h${int(5)}`, [str() || 'k']: str() } }),
      ...(rand() < 0.3 && { occurred_at: rand() < 0.5 ? 1_700_000_000_000 + int(1000) : '2026-05-01T00:00:00.5+02:00' }),
      ...(rand() < 0.2 && { summary: str() }),
    });
  const zeebeTemplate = readFileSync(new URL('../fixtures/zeebe/incident-alerter-readme-created-0.22.json', import.meta.url), 'utf8');
  const validZeebe = (): string => {
    const rec = JSON.parse(zeebeTemplate) as Record<string, unknown>;
    rec.key = 2251799813685263 + int(1000);
    rec.intent = pick(['CREATED', 'RESOLVED', 'CREATE', 'CREATED']);
    rec.partitionId = int(8);
    return JSON.stringify(rec);
  };
  // Besides the common edits: a key renamed __proto__, a long number made huge.
  const mutate = (s: string): string => mutateJson(s, [(out) => out.replace(/"(\w+)":/, `"__proto__":`), (out) => out.replace(/\d{6,}/, pick(HUGE))]);
  const deep = (): string => {
    const d = 500 + int(5500);
    const kind = int(4);
    const inner = kind === 0 ? '['.repeat(d) + ']'.repeat(d) : kind === 1 ? '{"a":'.repeat(d) + '1' + '}'.repeat(d) : '['.repeat(d) + '1' + ']'.repeat(d);
    if (kind === 3) {
      // Nesting inside an otherwise valid Zeebe incident.
      const rec = JSON.parse(zeebeTemplate) as Record<string, Record<string, unknown>>;
      rec.value!.elementInstancePath = '__DEEP__';
      return JSON.stringify(rec).replace('"__DEEP__"', inner);
    }
    return rand() < 0.5 ? inner : `{"name":"Deep","labels":{"x":${inner}}}`;
  };

  return (): { path: string; body: Body } => {
    const path = rand() < 0.5 ? '/v1/alarms' : '/v1/zeebe';
    const r = rand();
    let body: Body;
    if (r < 0.25) body = value(0);
    else if (r < 0.55) body = mutate(path === '/v1/alarms' ? validGeneric() : validZeebe());
    else if (r < 0.7) body = path === '/v1/alarms' ? validGeneric() : validZeebe();
    else if (r < 0.8) body = bytes();
    else if (r < 0.86) body = deep();
    else if (r < 0.93) body = `[${Array.from({ length: 1 + int(5) }, () => (rand() < 0.5 ? validGeneric() : value(1))).join(',')}]`;
    else body = pick(HUGE);
    return { path, body };
  };
}

test(`fuzz: ${FUZZ_COUNT} random bodies never get a 5xx (seed ${FUZZ_SEED}, rerun with FUZZ_SEED)`, { timeout: 60_000 }, async (t) => {
  const yaml = 'database: { synchronous: "OFF" }\ningest: { max_batch: 4 }';
  await withHarness(yaml, async (h) => {
    const byStatus = new Map<number, number>();
    const violations = new Violations();
    const prototypeUnchanged = watchObjectPrototype();
    const accepted: string[] = [];
    // A request that throws instead of answering (a crash in the app) fails the test here.
    const sent = await sendInBatches(FUZZ_COUNT, fuzzer(prng(FUZZ_SEED)), (q) => h.post(q.path, q.body), (q, r) => {
      const shown = `${q.path} → ${r.status} ${r.text.slice(0, 150)} for ${shownBody(q.body)}`;
      byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
      if (![200, 202, 400, 413].includes(r.status)) violations.add(`status ${r.status}`, shown);
      if (r.json === undefined || r.json === null || typeof r.json !== 'object') violations.add('body is not a JSON object', shown);
      else if (!/^application\/json/.test(r.headers.get('content-type') ?? '')) violations.add('content-type is not application/json', shown);
      else if (r.status >= 400 && (typeof r.json.error !== 'string' || typeof r.json.code !== 'string')) violations.add(`${r.status} without error/code`, shown);
      else if (r.status === 400 && (typeof r.json.field !== 'string' || r.json.code !== 'invalid_request')) violations.add('400 without field/code invalid_request', shown);
      else if (r.status === 413 && r.json.code !== 'payload_too_large') violations.add('413 without code payload_too_large', shown);
      else if ((r.status === 202 || r.status === 200) && Array.isArray(r.json.alarm_ids)) accepted.push(...(r.json.alarm_ids as string[]));
    });
    await checkReadBack((path) => h.get(path), accepted, violations, () => JSON.stringify(h.logger.records.at(-1)));
    t.diagnostic(`${sent} bodies, statuses ${JSON.stringify(Object.fromEntries(byStatus))}, ${new Set(accepted).size} alarms accepted`);
    assert.equal(sent, FUZZ_COUNT, 'every fuzzed body was sent and answered');
    prototypeUnchanged();
    assert.equal((await h.get('/healthz')).status, 200);
    assert.equal((await h.get('/readyz')).status, 200);
    assertAccepted(await h.post('/v1/alarms', { name: 'StillAlive' }), 1);
    assert.ok((byStatus.get(202) ?? 0) > sent / 20, 'the fuzz reaches the accept path');
    assert.ok((byStatus.get(400) ?? 0) > sent / 5, 'the fuzz reaches the error paths');
    violations.assertNone(FUZZ_SEED);
  });
});

test('notifications for a method removed from the config are kept and reported once started', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tocsin-orphan-'));
  try {
    const first = await createHarness({
      yaml: `data_dir: ${JSON.stringify(dataDir)}\nmethods:\n  pager: { type: webhook, url: "http://127.0.0.1:9/x" }\nroutes:\n  - methods: [pager]\n`,
    });
    const res = await first.post('/v1/alarms', { name: 'Orphan' });
    assert.equal(res.status, 202);
    await first.cleanup();

    const second = await createHarness({ yaml: `data_dir: ${JSON.stringify(dataDir)}\n`, start: true });
    try {
      const report = () => second.logger.records.find((r) => r.level === 'error' && r.fields.method === 'pager');
      // Counting and reporting the backlog run just after start (they grow with it, so never before listening).
      for (let i = 0; i < 200 && !report(); i++) await new Promise((r) => setTimeout(r, 5));
      const rec = report();
      assert.ok(rec, second.logger.text());
      assert.equal(rec.fields.undelivered, 1);
      assert.equal(second.app.store.pendingCount, 1, 'still waiting, not dropped');
    } finally {
      await second.cleanup();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the app knows where a local client reaches its listener (a wildcard host becomes loopback)', async () => {
  await withHarness('', async (h) => {
    assert.equal(h.app.address, undefined, 'not before it listens');
    h.app.listening({ host: '0.0.0.0', port: 9095 });
    assert.deepEqual(h.app.address, { host: '127.0.0.1', port: 9095 });
    h.app.listening({ host: '::', port: 9096 });
    assert.deepEqual(h.app.address, { host: '::1', port: 9096 });
    h.app.listening({ host: '10.1.2.3', port: 9097 });
    assert.deepEqual(h.app.address, { host: '10.1.2.3', port: 9097 });
  });
});
