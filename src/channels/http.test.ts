import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redact, Secret } from '../lib/secret.ts';
import { attemptHttp, basicAuth, basicAuthorization, classifyError, classifyResponse, excerpt, parseRetryAfter, splitUserinfo, urlSecrets } from './http.ts';
import type { HttpClient, HttpResponse } from './types.ts';

const NOW = Date.parse('2024-03-01T12:00:00Z');

function res(status: number, headers: Record<string, string> = {}, body = ''): HttpResponse {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { status, header: (n) => lower[n.toLowerCase()], bodyExcerpt: body };
}

test('status table: 2xx sent; 408/425/429/5xx retry; everything else permanent', () => {
  const table: [number, string][] = [
    ...[200, 201, 204, 299].map((s) => [s, 'sent'] as [number, string]),
    ...[408, 425, 429, 500, 502, 503, 504, 599].map((s) => [s, 'retry'] as [number, string]),
    ...[100, 301, 304, 400, 401, 403, 404, 409, 410, 413, 422, 451].map((s) => [s, 'permanent'] as [number, string]),
  ];
  for (const [status, outcome] of table) {
    const r = classifyResponse(res(status, {}, 'oops'), NOW);
    assert.equal(r.outcome, outcome, `status ${status}`);
    assert.equal(r.status, status);
    if (r.outcome !== 'sent') assert.equal(r.error, `HTTP ${status}: oops`);
  }
});

test('Retry-After table', () => {
  const ahead = new Date(NOW + 30_000).toUTCString();
  const past = new Date(NOW - 3_600_000).toUTCString();
  const table: [string | undefined, number | undefined][] = [
    ['0', 0],
    ['120', 120_000],
    [' 5 ', 5000],
    ['-1', undefined],
    ['abc', undefined],
    ['1.5', undefined],
    ['', undefined],
    [undefined, undefined],
    [ahead, 30_000],
    [past, 0],
    ['Fri, 01 Mar 2024 12:00:30 GMT', 30_000],
    ['Friday, 01-Mar-24 12:00:30 GMT', 30_000], // RFC 850
    ['Fri Mar  1 12:00:30 2024', 30_000], // asctime (GMT, whatever the local zone)
    ['Fri, 01 Mar 2024 12:00:30 PST', undefined],
    ['2024-03-01T12:00:30Z', undefined],
  ];
  for (const [value, ms] of table) assert.equal(parseRetryAfter(value, NOW), ms, `Retry-After ${JSON.stringify(value)}`);
});

test('retryAfterMs is present only with a Retry-After header, as the server asked (capping is the policy\'s)', () => {
  assert.deepEqual(classifyResponse(res(503, { 'Retry-After': '7' }), NOW), {
    outcome: 'retry', status: 503, error: 'HTTP 503', retryAfterMs: 7000,
  });
  const long = classifyResponse(res(429, { 'retry-after': '86400' }), NOW);
  assert.equal(long.outcome === 'retry' && long.retryAfterMs, 86_400_000);
  const none = classifyResponse(res(503), NOW);
  assert.equal(none.outcome === 'retry' && 'retryAfterMs' in none, false);
  const garbage = classifyResponse(res(503, { 'retry-after': 'soon' }), NOW);
  assert.equal(garbage.outcome === 'retry' && 'retryAfterMs' in garbage, false);
});

test('body excerpt: whitespace collapsed, at most 300 chars', () => {
  assert.equal(excerpt('  a \n\t b  '), 'a b');
  const long = excerpt('x'.repeat(1024));
  assert.equal(long.length, 300);
  const r = classifyResponse(res(404, {}, ' not\n  found '), NOW);
  assert.deepEqual(r, { outcome: 'permanent', status: 404, error: 'HTTP 404: not found' });
});

function coded(code: string, message = 'boom'): Error {
  return Object.assign(new Error(message), { code });
}

test('classifyError: network errors, timeouts and aborts retry with short messages', () => {
  const table: [unknown, string][] = [
    [coded('ECONNREFUSED'), 'connection refused (ECONNREFUSED)'],
    [coded('ECONNRESET'), 'connection reset (ECONNRESET)'],
    [coded('ENOTFOUND'), 'host not found (ENOTFOUND)'],
    [new TypeError('fetch failed', { cause: coded('ECONNREFUSED') }), 'connection refused (ECONNREFUSED)'],
    [new TypeError('fetch failed', { cause: new Error('x', { cause: coded('ENOTFOUND') }) }), 'host not found (ENOTFOUND)'],
    [coded('UND_ERR_SOCKET', 'other side closed'), 'socket error (UND_ERR_SOCKET)'],
    [coded('UND_ERR_HEADERS_TIMEOUT'), 'timeout waiting for response headers (UND_ERR_HEADERS_TIMEOUT)'],
    [new Error('socket hang up'), 'connection closed (socket hang up)'],
    [new TypeError('fetch failed'), 'request failed: fetch failed'],
    [coded('EWHATEVER', 'odd'), 'network error (EWHATEVER): odd'],
    [new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'timeout after request deadline'],
    [new DOMException('This operation was aborted', 'AbortError'), 'request aborted'],
    [Object.assign(new Error('aborted'), { name: 'AbortError', cause: new DOMException('t', 'TimeoutError') }), 'timeout after request deadline'],
    ['a string', 'request failed: a string'],
    [undefined, 'request failed: unknown error'],
  ];
  for (const [err, error] of table) assert.deepEqual(classifyError(err), { outcome: 'retry', error }, String(err));
});

test('classifyError: a malformed request is permanent; cause cycles terminate', () => {
  const bad = new TypeError('Failed to parse URL', { cause: coded('ERR_INVALID_URL') });
  assert.deepEqual(classifyError(bad), { outcome: 'permanent', error: 'invalid URL (ERR_INVALID_URL)' });
  const a: { cause?: unknown } & Error = new Error('loop');
  a.cause = a;
  assert.equal(classifyError(a).outcome, 'retry');
});

test('urlSecrets: userinfo, query values and long path segments', () => {
  const parts = urlSecrets('https://u:p4ssw0rd@h.example/hooks/T0000000000000000/x?token=s3cr%2Fet&n=1').map((s) => s.reveal());
  for (const p of ['p4ssw0rd', 'T0000000000000000', 's3cr/et', 's3cr%2Fet']) assert.ok(parts.includes(p), p);
  assert.ok(!parts.includes('hooks'));
  assert.deepEqual(urlSecrets('not a url'), []);
});

const req = { method: 'POST' as const, url: 'https://h.example/x?key=qs-secret-1', headers: {}, body: '{}' };
const now = () => NOW;

test('attemptHttp: never throws, redacts secrets echoed in bodies and errors', async () => {
  const token = new Secret('tok-secret-2');
  const echo: HttpClient = async (r) => res(500, {}, `bad token tok-secret-2 for ${r.url}`);
  const r = await attemptHttp(echo, req, new AbortController().signal, { now, secrets: [new Secret(req.url), token] });
  assert.equal(r.outcome, 'retry');
  const error = r.outcome === 'retry' ? r.error : '';
  assert.equal(error, 'HTTP 500: bad token <secret> for <secret>');

  const throwsSecret: HttpClient = async () => { throw coded('EWHATEVER', 'while fetching qs-secret-1'); };
  const t = await attemptHttp(throwsSecret, req, new AbortController().signal, { now, secrets: [] });
  assert.deepEqual(t, { outcome: 'retry', error: 'network error (EWHATEVER): while fetching <secret>' });

  const sync: HttpClient = () => { throw new Error('sync'); };
  assert.deepEqual(await attemptHttp(sync, req, new AbortController().signal, { now, secrets: [] }), { outcome: 'retry', error: 'request failed: sync' });
});

test('attemptHttp: honours the deadline even when the client ignores the signal', async () => {
  const hang: HttpClient = () => new Promise(() => {});
  const deadline = new AbortController(); // AbortSignal.timeout's timer is unref'd: keep the loop alive here
  const timer = setTimeout(() => deadline.abort(new DOMException('deadline', 'TimeoutError')), 20);
  const r = await attemptHttp(hang, req, deadline.signal, { now, secrets: [] });
  clearTimeout(timer);
  assert.deepEqual(r, { outcome: 'retry', error: 'timeout after request deadline' });
  const ac = new AbortController();
  ac.abort(new Error('shutting down'));
  assert.deepEqual(await attemptHttp(hang, req, ac.signal, { now, secrets: [] }), { outcome: 'retry', error: 'request aborted: shutting down' });
});

test('urlSecrets: the normalised form of the URL, as some clients quote it in errors', () => {
  const parts = urlSecrets('HTTP://Hooks.Example:80/a/../k/tok').map((s) => s.reveal());
  assert.ok(parts.includes('http://hooks.example/k/tok'), parts.join(' '));
  assert.ok(!urlSecrets('https://hooks.example/k/tok').map((s) => s.reveal()).includes('https://hooks.example/k/tok'), 'an already canonical URL is redacted through the configured value');
});

test('attemptHttp: inspect turns a 2xx that reports a failure in its body into that failure, redacted', async () => {
  const slackish: HttpClient = async () => res(200, {}, '{"ok":false,"error":"invalid_auth for qs-secret-1"}');
  const inspect = (r: HttpResponse) => {
    const body = JSON.parse(r.bodyExcerpt) as { ok: boolean; error?: string };
    return body.ok ? undefined : { outcome: 'permanent' as const, status: r.status, error: `receiver said: ${body.error}` };
  };
  assert.deepEqual(await attemptHttp(slackish, req, new AbortController().signal, { now, secrets: [], inspect }), {
    outcome: 'permanent', status: 200, error: 'receiver said: invalid_auth for <secret>',
  });
  const fine: HttpClient = async () => res(200, {}, '{"ok":true}');
  assert.deepEqual(await attemptHttp(fine, req, new AbortController().signal, { now, secrets: [], inspect }), { outcome: 'sent', status: 200 });
  const plain: HttpClient = async () => res(204);
  assert.deepEqual(await attemptHttp(plain, req, new AbortController().signal, { now, secrets: [] }), { outcome: 'sent', status: 204 });
});

test('splitUserinfo: the URL without its userinfo, and the userinfo percent-decoded as Basic credentials', () => {
  const { url, auth } = splitUserinfo('https://relay%40ops:p%40ss%3Aw%2Frd%20%C3%BC@Hooks.Example:443/a?k=1#f');
  assert.equal(url, 'https://hooks.example/a?k=1#f');
  assert.equal(auth?.username, 'relay@ops');
  assert.equal(auth?.password.reveal(), 'p@ss:w/rd ü');
  // RFC 7617: base64 of the UTF-8 of "user:password"; the colons in the password stay as they are.
  assert.equal(basicAuthorization(auth!), 'Basic cmVsYXlAb3BzOnBAc3M6dy9yZCDDvA==');
  assert.equal(Buffer.from('cmVsYXlAb3BzOnBAc3M6dy9yZCDDvA==', 'base64').toString('utf8'), 'relay@ops:p@ss:w/rd ü');

  const token = splitUserinfo('http://tok-abcdef@127.0.0.1:8080/x'); // a user name alone: an empty password, as Go sends it
  assert.equal(token.url, 'http://127.0.0.1:8080/x');
  assert.equal(basicAuthorization(token.auth!), `Basic ${Buffer.from('tok-abcdef:').toString('base64')}`);
  assert.equal(basicAuthorization(splitUserinfo('http://:pw-only@h/').auth!), `Basic ${Buffer.from(':pw-only').toString('base64')}`);

  for (const plain of ['https://h.example/x?to=a@b', 'http://@h/', 'not a url @ all']) assert.deepEqual(splitUserinfo(plain), { url: plain });
  assert.throws(() => splitUserinfo('https://u:p%zz-secret@h/'), (e: Error) => e.message === 'the user name or password in the URL is not valid percent-encoding');
});

test('basicAuth: the password also redacts "user:password" and the header it makes', () => {
  const auth = basicAuth('ops', 'hunter2-hunter2');
  const header = basicAuthorization(auth);
  assert.equal(header, `Basic ${Buffer.from('ops:hunter2-hunter2').toString('base64')}`);
  assert.equal(redact(`echo ${header} ops:hunter2-hunter2 hunter2-hunter2`, [auth.password]), 'echo Basic <secret> <secret> <secret>');
});
