/**
 * The admin API's checks (src/http/check-admin-routes.ts) against a fake ChecksApi and a fake admin
 * authenticator: every route, and every error it answers (401/403, 400 naming the field, 404, 409, 413,
 * 415, 503).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckView } from '../app/checks-api.ts';
import { fakeChecks } from '../../test/support/fake-checks.ts';
import { StorageUnavailableError } from '../outbox/storage-fault.ts';
import type { AdminAuthResult } from './admin-auth.ts';
import { checkAdminRoutes, READ_ONLY_MESSAGE } from './check-admin-routes.ts';

const ADMIN = 'Bearer admin-token';

function authenticateAdmin(authorization: string | undefined): AdminAuthResult {
  if (authorization === ADMIN) return { ok: true };
  if (authorization === 'Bearer source-token') return { ok: false, status: 403, message: 'this is a source token; the admin API needs one of admin.tokens' };
  if (!authorization) return { ok: false, status: 401, message: 'missing Authorization: Bearer <admin token>' };
  return { ok: false, status: 401, message: 'unknown admin token' };
}

function setup() {
  const checks = fakeChecks();
  const app = checkAdminRoutes({ checks, authenticateAdmin });
  const call = async (method: string, path: string, opts: { body?: string; type?: string | null; auth?: string | null; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.auth !== null) headers.authorization = opts.auth ?? ADMIN;
    if (opts.body !== undefined && opts.type !== null) headers['content-type'] = opts.type ?? 'application/json';
    // A string body would get text/plain from the Request itself: without a type, send bytes.
    const body = opts.body === undefined ? undefined : opts.type === null ? new TextEncoder().encode(opts.body) : opts.body;
    const res = await app.request(path, { method, headers, ...(body !== undefined && { body }) });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, headers: res.headers, text };
  };
  const post = (body: unknown) => call('POST', '/api/v1/checks', { body: JSON.stringify(body) });
  return { checks, call, post };
}

test('every route needs an admin token: 401 without or with an unknown one, 403 with a source token', async () => {
  const { call, checks } = setup();
  const routes: [string, string][] = [
    ['GET', '/api/v1/checks'],
    ['GET', '/api/v1/checks/nightly-backup'],
    ['POST', '/api/v1/checks'],
    ['POST', '/api/v1/checks/nightly-backup/pause'],
    ['POST', '/api/v1/checks/nightly-backup/resume'],
    ['DELETE', '/api/v1/checks/nightly-backup'],
  ];
  for (const [method, path] of routes) {
    const none = await call(method, path, { auth: null, body: method === 'POST' ? '{}' : undefined });
    assert.equal(none.status, 401, `${method} ${path}`);
    assert.deepEqual(none.json, { error: 'missing Authorization: Bearer <admin token>', code: 'unauthorized' });
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="tocsin"');
    const wrong = await call(method, path, { auth: 'Bearer nope' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.error, 'unknown admin token');
    const source = await call(method, path, { auth: 'Bearer source-token' });
    assert.equal(source.status, 403, `${method} ${path}`);
    assert.equal(source.json.code, 'forbidden');
  }
  assert.equal(checks.added.length, 0);
  assert.equal(checks.get('nightly-backup')?.paused, false);
});

test('GET lists the checks and shows one; an unknown one is 404', async () => {
  const { call } = setup();
  const list = await call('GET', '/api/v1/checks');
  assert.equal(list.status, 200);
  assert.match(list.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(list.json.checks.map((c: CheckView) => c.name), ['nightly-backup']);
  const one = await call('GET', '/api/v1/checks/nightly-backup');
  assert.equal(one.status, 200);
  assert.equal(one.json.schedule, '0 3 * * *');
  assert.equal(one.json.origin, 'file');
  const none = await call('GET', '/api/v1/checks/nope');
  assert.equal(none.status, 404);
  assert.deepEqual(none.json, { error: 'no such check', code: 'not_found' });
});

test('POST adds a check with a period, or a schedule and time zone: 201 with the view; durations are parsed', async () => {
  const { post, checks, call } = setup();
  const a = await post({ name: 'db-dump', period: '5m', grace: '1m', labels: { team: 'db' } });
  assert.equal(a.status, 201, a.text);
  assert.equal(a.json.name, 'db-dump');
  assert.equal(a.json.period_ms, 300_000);
  assert.equal(a.json.grace_ms, 60_000);
  assert.deepEqual(checks.added[0], { name: 'db-dump', periodMs: 300_000, graceMs: 60_000, labels: { team: 'db' } });

  const uuid = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
  const b = await post({ name: 'report', schedule: '0 3 * * *', tz: 'Europe/Berlin', grace: '1h', uuid });
  assert.equal(b.status, 201, b.text);
  assert.equal(b.json.ping_path, `/ping/${uuid}`);
  assert.deepEqual(checks.added[1], { name: 'report', schedule: '0 3 * * *', tz: 'Europe/Berlin', graceMs: 3_600_000, uuid });

  // A content type with parameters, or a +json one, is JSON too; none at all is read as JSON.
  const c = await call('POST', '/api/v1/checks', { body: JSON.stringify({ name: 'c', period: '1d', grace: '0s' }), type: 'application/json; charset=utf-8' });
  assert.equal(c.status, 201, c.text);
  const d = await call('POST', '/api/v1/checks', { body: JSON.stringify({ name: 'd', period: '90s', grace: '500ms' }), type: null });
  assert.equal(d.status, 201, d.text);
  assert.equal(checks.added[3]!.graceMs, 500);
});

test('POST: every problem is a 400 that names its field', async () => {
  const { post, checks } = setup();
  const cases: [unknown, string, RegExp][] = [
    [{ period: '5m', grace: '1m' }, 'name', /^name: is required/],
    [{ name: '', period: '5m', grace: '1m' }, 'name', /^name: must not be empty/],
    [{ name: 7, period: '5m', grace: '1m' }, 'name', /^name: must be a string/],
    [{ name: 'x', grace: '1m' }, 'period', /^period: is required: period .* or schedule/],
    [{ name: 'x', period: '5m', schedule: '0 3 * * *', grace: '1m' }, 'schedule', /^schedule: give either period or schedule, not both$/],
    [{ name: 'x', period: 'soon', grace: '1m' }, 'period', /^period: must be a duration like 5m/],
    [{ name: 'x', period: 300, grace: '1m' }, 'period', /^period: must be a duration like 5m/],
    [{ name: 'x', period: '0s', grace: '1m' }, 'period', /^period: must be longer than 0$/],
    [{ name: 'x', period: '5m' }, 'grace', /^grace: is required/],
    [{ name: 'x', period: '5m', grace: '-1m' }, 'grace', /^grace: must be a duration like 1m/],
    [{ name: 'x', period: '5m', grace: '1m', tz: 'Europe/Berlin' }, 'tz', /^tz: goes only with schedule/],
    [{ name: 'x', schedule: '', grace: '1m' }, 'schedule', /^schedule: must not be empty/],
    [{ name: 'x', period: '5m', grace: '1m', labels: ['a'] }, 'labels', /^labels: must be an object/],
    [{ name: 'x', period: '5m', grace: '1m', labels: { team: 1 } }, 'labels.team', /^labels\.team: must be a string/],
    [{ name: 'x', period: '5m', grace: '1m', uuid: 5 }, 'uuid', /^uuid: must be a string/],
    [{ name: 'x', period: '5m', grace: '1m', colour: 'red' }, 'colour', /^colour: unknown field$/],
    [[1, 2], 'body', /^body: must be a check object$/],
    [null, 'body', /^body: must be a check object$/],
  ];
  for (const [body, field, message] of cases) {
    const r = await post(body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.code, 'invalid_request');
    assert.equal(r.json.field, field, JSON.stringify(body));
    assert.match(r.json.error, message, JSON.stringify(body));
  }
  assert.equal(checks.added.length, 0, 'a bad request reached add');
});

test("POST: the problems add finds are 400s naming add's field", async () => {
  const { post, checks } = setup();
  for (const [path, message] of [
    ['schedule', 'is not a cron expression: 5 fields expected'],
    ['tz', 'is not an IANA time zone'],
    ['labels.bad key', 'is not a valid label name'],
    ['name', 'must be a slug: lowercase letters, digits, - and _'],
  ] as const) {
    checks.issuesNext = [{ path, message }, { path: 'other', message: 'second' }];
    const r = await post({ name: 'x', schedule: '0 3 * *', tz: 'Mars/Base', grace: '1m' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error: `${path}: ${message}`, code: 'invalid_request', field: path });
  }
});

test('POST: 409 when the name (or the given uuid) is taken', async () => {
  const { post, checks } = setup();
  const r = await post({ name: 'nightly-backup', period: '5m', grace: '1m' });
  assert.equal(r.status, 409);
  assert.deepEqual(r.json, { error: 'name: a check named "nightly-backup" exists already', code: 'conflict', field: 'name' });
  const u = await post({ name: 'other', period: '5m', grace: '1m', uuid: '9C4D0000-0000-4000-8000-000000000001' });
  assert.equal(u.status, 409);
  assert.equal(u.json.field, 'uuid');
  assert.match(u.json.error, /^uuid: the check "nightly-backup" has this uuid already$/);
  assert.equal(checks.added.length, 0);
});

test('POST: not JSON, the wrong content type, a body too large', async () => {
  const { call } = setup();
  const notJson = await call('POST', '/api/v1/checks', { body: '{"name":' });
  assert.equal(notJson.status, 400);
  assert.deepEqual(notJson.json, { error: 'the body is not JSON', code: 'invalid_request', field: 'body' });
  const empty = await call('POST', '/api/v1/checks', { body: '' });
  assert.equal(empty.status, 400);
  const form = await call('POST', '/api/v1/checks', { body: 'name=x', type: 'application/x-www-form-urlencoded' });
  assert.equal(form.status, 415);
  assert.equal(form.json.code, 'unsupported_media_type');
  const big = await call('POST', '/api/v1/checks', { body: JSON.stringify({ name: 'x', period: '5m', grace: '1m', labels: { a: 'x'.repeat(70_000) } }) });
  assert.equal(big.status, 413);
  assert.equal(big.json.code, 'payload_too_large');
});

test('pause and resume: 200 with the check; 404 unknown; 409 a file check', async () => {
  const { call, post } = setup();
  assert.equal((await post({ name: 'job', period: '5m', grace: '1m' })).status, 201);
  const paused = await call('POST', '/api/v1/checks/job/pause');
  assert.equal(paused.status, 200);
  assert.equal(paused.json.name, 'job');
  assert.equal(paused.json.paused, true);
  assert.equal(paused.json.status, 'paused');
  const resumed = await call('POST', '/api/v1/checks/job/resume');
  assert.equal(resumed.status, 200);
  assert.equal(resumed.json.paused, false);
  for (const action of ['pause', 'resume']) {
    const none = await call('POST', `/api/v1/checks/nope/${action}`);
    assert.equal(none.status, 404);
    assert.deepEqual(none.json, { error: 'no such check', code: 'not_found' });
    const file = await call('POST', `/api/v1/checks/nightly-backup/${action}`);
    assert.equal(file.status, 409);
    assert.deepEqual(file.json, { error: READ_ONLY_MESSAGE, code: 'conflict' });
  }
  assert.equal(READ_ONLY_MESSAGE, 'a check of the config file cannot be changed at runtime; edit the file and restart tocsin');
  // A name that needs escaping in the URL.
  assert.equal((await post({ name: 'a b', period: '5m', grace: '1m' })).status, 201);
  assert.equal((await call('POST', '/api/v1/checks/a%20b/pause')).json.name, 'a b');
});

test('DELETE removes a runtime check (200 with it as it was); 404 unknown; 409 a file check', async () => {
  const { call, post, checks } = setup();
  assert.equal((await post({ name: 'job', period: '5m', grace: '1m' })).status, 201);
  const removed = await call('DELETE', '/api/v1/checks/job');
  assert.equal(removed.status, 200);
  assert.equal(removed.json.name, 'job');
  assert.equal(checks.get('job'), undefined);
  const again = await call('DELETE', '/api/v1/checks/job');
  assert.equal(again.status, 404);
  const file = await call('DELETE', '/api/v1/checks/nightly-backup');
  assert.equal(file.status, 409);
  assert.equal(file.json.error, READ_ONLY_MESSAGE);
  assert.ok(checks.get('nightly-backup'));
});

test('a storage fault while changing a check is 503 with Retry-After; other errors are not swallowed', async () => {
  const { call, post, checks } = setup();
  assert.equal((await post({ name: 'job', period: '5m', grace: '1m' })).status, 201);
  const attempts: [string, string, string | undefined][] = [
    ['POST', '/api/v1/checks', JSON.stringify({ name: 'new', period: '5m', grace: '1m' })],
    ['POST', '/api/v1/checks/job/pause', undefined],
    ['POST', '/api/v1/checks/job/resume', undefined],
    ['DELETE', '/api/v1/checks/job', undefined],
  ];
  for (const [method, path, body] of attempts) {
    checks.failNext = new StorageUnavailableError('the database is locked by another process', 2);
    const r = await call(method, path, { ...(body !== undefined && { body }) });
    assert.equal(r.status, 503, `${method} ${path}`);
    assert.deepEqual(r.json, { error: 'the database is locked by another process', code: 'unavailable' });
    assert.equal(r.headers.get('retry-after'), '2');
  }
  checks.failNext = new Error('a bug');
  const bug = await call('POST', '/api/v1/checks/job/pause');
  assert.equal(bug.status, 500);
});
