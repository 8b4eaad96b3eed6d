/**
 * Methods created through the admin API, end to end on the in-process app with a webhook sink: auth (401,
 * 403), validation naming the field, masking, 409 and 404; a method created at runtime is kept in SQLite and
 * put in force again after a restart on the same data directory, where a route of the file names it and an
 * alarm reaches the sink through it; a reload of the file keeps it; the start and a reload fail on a route
 * naming a method nobody defines; the test endpoint sends one test notification; no secret in any answer or
 * log line. With a delivery thread, a method created while the relay runs reaches the thread.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app.ts';
import { ConfigError } from '../../src/config/errors.ts';
import { parseConfig } from '../../src/config/parse.ts';
import type { Config } from '../../src/config/types.ts';
import { createUndiciClient } from '../../src/runtime/http-undici.ts';
import { openNodeSqlite } from '../../src/runtime/sqlite-node.ts';
import { startDeliveryThread } from '../../src/runtime/threads.ts';
import { capturingLogger, type CapturingLogger } from './app-harness.ts';
import { startWebhookSink, type WebhookSink } from './webhook-sink.ts';
import { readAnswer } from '../support/http-answer.ts';

const ADMIN = 'adm-token-e2e-1';
const SOURCE = 'src-token-e2e-1';
const API_TOKEN = 'api-bearer-secret-1';
const URL_KEY = 'url-key-secret-1';
const WAIT_MS = 10_000;

const dataDir = mkdtempSync(join(tmpdir(), 'tocsin-method-api-'));
const http = createUndiciClient();
let sink: WebhookSink;
after(async () => {
  await sink?.close();
  await http.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The config file's text; `routes` as YAML list items. */
const yaml = (routes: string) => `
data_dir: ${JSON.stringify(dataDir)}
sources: { ops: { token: ${SOURCE} } }
admin: { tokens: [${ADMIN}] }
delivery: { backoff_base: 50ms, backoff_cap: 200ms }
methods:
  filehook: { type: webhook, url: "http://127.0.0.1:9/file", bearer_token: file-secret-1 }
routes:
${routes}`;

const parse = (text: string): Config => parseConfig(text, {}, (p) => { throw new Error(`unexpected read of ${p}`); }, undefined, { externalMethods: true });

interface Running {
  readonly app: App;
  readonly logger: CapturingLogger;
  req(method: string, path: string, opts?: { token?: string | null; body?: unknown }): Promise<{ status: number; text: string; json: any }>;
}

/** The app on this config (`thread`: delivering on a thread of its own, as the relay does). */
function build(config: Config, opts: { thread?: boolean } = {}): Running {
  const logger = capturingLogger();
  const app = createApp(config, {
    openDatabase: openNodeSqlite, http: http.client, clock: { now: () => Date.now() }, random: Math.random,
    randomBytes: (n) => randomBytes(n), logger, writeLine: () => {},
    ...(opts.thread && { deliveryThread: startDeliveryThread }),
  });
  return {
    app,
    logger,
    async req(method, path, opts = {}) {
      const headers: Record<string, string> = {};
      const token = opts.token === undefined ? ADMIN : opts.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      return readAnswer(await app.fetch(new Request(`http://tocsin${path}`, { method, headers, ...(opts.body !== undefined && { body: JSON.stringify(opts.body) }) })));
    },
  };
}

const noSecrets = (text: string, what: string) => {
  for (const s of [API_TOKEN, URL_KEY, 'file-secret-1', ADMIN]) assert.ok(!text.includes(s), `${what} shows ${s}`);
};

test('methods created through the admin API: validated, masked, kept across a restart and a reload, delivering through a file route', { timeout: 60_000 }, async () => {
  sink = await startWebhookSink();
  const pager = { type: 'webhook', url: `${sink.url}?key=${URL_KEY}`, bearer_token: API_TOKEN, backoff_base: '50ms' };

  // ---- first run: no route names it yet ----
  const first = build(parse(yaml('  - methods: [log]\n')));
  await first.app.start();
  const r1 = first.req;

  assert.equal((await r1('GET', '/api/v1/methods', { token: null })).status, 401);
  assert.equal((await r1('GET', '/api/v1/methods', { token: 'unknown-token-1' })).status, 401);
  const forbidden = await r1('GET', '/api/v1/methods', { token: SOURCE });
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.json.code, 'forbidden');
  assert.equal((await r1('POST', '/api/v1/methods', { token: SOURCE, body: { name: 'pager', method: pager } })).status, 403);

  const bad = await r1('POST', '/api/v1/methods', { body: { name: 'pager', method: { ...pager, url: 'ftp://nope' } } });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.json, { error: 'method.url: must be an http(s) URL', code: 'invalid_request', field: 'method.url' });
  const unknownKey = await r1('POST', '/api/v1/methods', { body: { name: 'pager', method: pager, colour: 'red' } });
  assert.deepEqual([unknownKey.status, unknownKey.json.field], [400, 'colour']);
  const noMethod = await r1('POST', '/api/v1/methods', { body: { name: 'pager' } });
  assert.deepEqual([noMethod.status, noMethod.json.field], [400, 'method']);
  const notJson = await first.app.fetch(new Request('http://tocsin/api/v1/methods', { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/plain' }, body: 'x' }));
  assert.equal(notJson.status, 415);

  const created = await r1('POST', '/api/v1/methods', { body: { name: 'pager', by: 'ops@host', method: pager } });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.name, 'pager');
  assert.equal(created.json.origin, 'api');
  assert.equal(created.json.created_by, 'ops@host');
  assert.equal(created.json.settings.url, '***');
  assert.equal(created.json.settings.bearerToken, '***');
  assert.match(created.json.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  noSecrets(created.text, 'POST');

  const taken = await r1('POST', '/api/v1/methods', { body: { name: 'pager', method: { type: 'log' } } });
  assert.deepEqual([taken.status, taken.json.code, taken.json.field], [409, 'conflict', 'name']);
  assert.equal((await r1('POST', '/api/v1/methods', { body: { name: 'filehook', method: { type: 'log' } } })).status, 409);

  const list = await r1('GET', '/api/v1/methods');
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.items.map((m: { name: string; origin: string }) => `${m.name}:${m.origin}`), ['filehook:file', 'log:file', 'pager:api']);
  noSecrets(list.text, 'GET list');
  const one = await r1('GET', '/api/v1/methods/pager');
  assert.deepEqual(one.json, created.json);
  assert.equal((await r1('GET', '/api/v1/methods/nope')).status, 404);
  assert.equal((await r1('DELETE', '/api/v1/methods/nope')).status, 404);
  const fileDelete = await r1('DELETE', '/api/v1/methods/filehook');
  assert.deepEqual([fileDelete.status, fileDelete.json.code], [409, 'conflict']);
  assert.match(fileDelete.json.error, /defined in the config file; edit the file/);

  // The test endpoint: one labelled notification through it now.
  const tested = await r1('POST', '/api/v1/methods/pager/test');
  assert.equal(tested.status, 200, tested.text);
  assert.equal(tested.json.ok, true);
  assert.equal(tested.json.status, 200);
  assert.equal(typeof tested.json.latency_ms, 'number');
  const testCall = sink.requests.find((q) => q.envelope?.alarm?.labels?.tocsin_test === 'true')!;
  assert.equal(testCall.headers.authorization, `Bearer ${API_TOKEN}`);
  assert.equal((await r1('POST', '/api/v1/methods/nope/test')).status, 404);
  noSecrets(first.logger.text(), 'the log');
  await first.app.stop();

  // ---- a route naming a method nobody defines fails the start ----
  const missing = build(parse(yaml('  - methods: [log]\n  - methods: [nobody]\n')));
  await assert.rejects(missing.app.start(), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /^routes\[1\]\.methods\[0\]: unknown method "nobody"/);
    return true;
  });
  await missing.app.stop();

  // ---- a restart on the same data dir: the stored method is in force, and a file route names it ----
  const routed = yaml('  - match: { name: ToPager }\n    methods: [pager]\n  - methods: [log]\n');
  const second = build(parse(routed));
  await second.app.start();
  try {
    const again = await second.req('GET', '/api/v1/methods/pager');
    assert.equal(again.status, 200);
    assert.equal(again.json.created_by, 'ops@host');
    const ingest = async (name: string) => {
      const res = await second.app.fetch(new Request('http://tocsin/v1/alarms', {
        method: 'POST', headers: { authorization: `Bearer ${SOURCE}`, 'content-type': 'application/json' }, body: JSON.stringify({ name }),
      }));
      assert.equal(res.status, 202, await res.text());
    };
    const delivered = (name: string) => sink.requests.some((q) => q.accepted && q.envelope?.alarm?.name === name);
    await ingest('ToPager');
    assert.ok(await sink.waitUntil(() => delivered('ToPager'), WAIT_MS), 'delivered through the runtime method');
    const call = sink.requests.find((q) => q.envelope?.alarm?.name === 'ToPager')!;
    assert.equal(call.envelope?.method, 'pager');

    // Still named by a route: it cannot go.
    const inUse = await second.req('DELETE', '/api/v1/methods/pager');
    assert.deepEqual([inUse.status, inUse.json.code], [409, 'conflict']);
    assert.match(inUse.json.error, /routes\[0\]\.methods\[0\]/);

    // A reload of the file keeps it; one naming a method nobody defines is refused.
    assert.deepEqual(second.app.config.unresolved(parse(`${routed}  - methods: [nobody]\n`)), [
      'routes[2].methods[0]: unknown method "nobody"; define it under methods or create it with `tocsin methods add`',
    ]);
    assert.throws(() => second.app.reload(parse(`${routed}  - methods: [nobody]\n`)), ConfigError);
    const reloaded = second.app.reload(parse(yaml('  - match: { name: AfterReload }\n    methods: [pager]\n')));
    assert.deepEqual(reloaded.methods, { added: [], removed: [], changed: [] });
    await ingest('AfterReload');
    assert.ok(await sink.waitUntil(() => delivered('AfterReload'), WAIT_MS), 'delivered after the reload');

    // No route names it any more: it can be removed; it is gone from the API, and from the next start.
    second.app.reload(parse(yaml('  - methods: [log]\n')));
    assert.equal((await second.req('DELETE', '/api/v1/methods/pager')).status, 204);
    assert.equal((await second.req('GET', '/api/v1/methods/pager')).status, 404);
    noSecrets(second.logger.text(), 'the log');
  } finally {
    await second.app.stop();
  }
  const third = build(parse(yaml('  - methods: [log]\n')));
  await third.app.start();
  try {
    assert.deepEqual((await third.req('GET', '/api/v1/methods')).json.items.map((m: { name: string }) => m.name), ['filehook', 'log']);
  } finally {
    await third.app.stop();
  }
});

test('with a delivery thread: a method created while the relay runs reaches the thread, and a reload routes to it', { timeout: 60_000 }, async () => {
  sink ??= await startWebhookSink();
  const r = build(parse(yaml('  - methods: [log]\n')), { thread: true });
  await r.app.start();
  try {
    const created = await r.req('POST', '/api/v1/methods', { body: { name: 'threaded', method: { type: 'webhook', url: sink.url, bearer_token: API_TOKEN } } });
    assert.equal(created.status, 201, created.text);
    r.app.reload(parse(yaml('  - match: { name: OnThread }\n    methods: [threaded]\n')));
    const res = await r.app.fetch(new Request('http://tocsin/v1/alarms', {
      method: 'POST', headers: { authorization: `Bearer ${SOURCE}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'OnThread' }),
    }));
    assert.equal(res.status, 202);
    assert.ok(await sink.waitUntil(() => sink.requests.some((q) => q.accepted && q.envelope?.alarm?.name === 'OnThread' && q.envelope.method === 'threaded'), WAIT_MS));
    // Removed: the thread no longer has it (its notifications stay pending).
    r.app.reload(parse(yaml('  - methods: [log]\n')));
    assert.equal((await r.req('DELETE', '/api/v1/methods/threaded')).status, 204);
    noSecrets(r.logger.text(), 'the log');
  } finally {
    await r.app.stop();
  }
});
