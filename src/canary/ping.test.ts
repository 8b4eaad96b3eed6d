import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpClient, HttpRequest } from '../channels/types.ts';
import { Secret } from '../lib/secret.ts';
import type { OutboundHttp } from '../runtime/platform.ts';
import { createFetchClient } from '../runtime/http-fetch.ts';
import { runtimeName } from '../runtime/detect.ts';
import { FakeClock } from '../../test/support/fake-clock.ts';
import { assertNoSecretLeak, fakeReceiver, httpResponse, networkError, type ScriptStep } from '../../test/support/channel-kit.ts';
import { startFakeHealthchecks } from '../../test/support/fake-healthchecks.ts';
import { capPingBody, checkPingUrl, createPinger, MAX_PING_BODY_BYTES, pingUrl, type PingResult } from './ping.ts';

// Runs on Node, Bun and Deno (the last tests send through each runtime's HTTP client to the fake
// healthchecks server); the rest drive the pinger with a fake HTTP client and a fake clock.

const UUID = '5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278';
const RID = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const KEY = 'fqOOd6-F4MMNuCEnzTU01w';
const SLUG = 'relay-canary';

// ---- URLs ---------------------------------------------------------------------------------------

test('pingUrl: both forms, with and without a query, exactly', () => {
  const rows: [string, 'start' | 'success' | 'fail', string][] = [
    [`https://hc-ping.com/${UUID}`, 'start', `https://hc-ping.com/${UUID}/start?rid=${RID}`],
    [`https://hc-ping.com/${UUID}`, 'success', `https://hc-ping.com/${UUID}?rid=${RID}`],
    [`https://hc-ping.com/${UUID}`, 'fail', `https://hc-ping.com/${UUID}/fail?rid=${RID}`],
    [`https://hc-ping.com/${UUID}/`, 'start', `https://hc-ping.com/${UUID}/start?rid=${RID}`],
    [`https://hc-ping.com/${UUID}//`, 'success', `https://hc-ping.com/${UUID}?rid=${RID}`],
    [`https://hc.example.com:8000/ping/${UUID}`, 'fail', `https://hc.example.com:8000/ping/${UUID}/fail?rid=${RID}`],
    [`https://hc-ping.com/${KEY}/${SLUG}`, 'start', `https://hc-ping.com/${KEY}/${SLUG}/start?rid=${RID}`],
    [`https://hc-ping.com/${KEY}/${SLUG}?create=1`, 'start', `https://hc-ping.com/${KEY}/${SLUG}/start?create=1&rid=${RID}`],
    [`https://hc-ping.com/${KEY}/${SLUG}?create=1`, 'success', `https://hc-ping.com/${KEY}/${SLUG}?create=1&rid=${RID}`],
    [`https://hc-ping.com/${KEY}/${SLUG}/?create=1`, 'fail', `https://hc-ping.com/${KEY}/${SLUG}/fail?create=1&rid=${RID}`],
    [`http://127.0.0.1:9/${KEY}/${SLUG}?create=1&x=a%20b+c`, 'fail', `http://127.0.0.1:9/${KEY}/${SLUG}/fail?create=1&x=a%20b+c&rid=${RID}`],
    // A percent-encoded slug is sent as written: neither decoded nor encoded again.
    [`https://hc-ping.com/${KEY}/db%20backup%2Fnightly`, 'start', `https://hc-ping.com/${KEY}/db%20backup%2Fnightly/start?rid=${RID}`],
    [`https://hc-ping.com/${KEY}/caf%C3%A9?create=1`, 'success', `https://hc-ping.com/${KEY}/caf%C3%A9?create=1&rid=${RID}`],
    // A rid already in the query is replaced (any spelling of its name); an empty query and a fragment go.
    [`https://hc-ping.com/${UUID}?rid=old&create=1&r%69d=older&rid2=keep`, 'start', `https://hc-ping.com/${UUID}/start?create=1&rid2=keep&rid=${RID}`],
    [`https://hc-ping.com/${UUID}?`, 'start', `https://hc-ping.com/${UUID}/start?rid=${RID}`],
    [`https://hc-ping.com/${UUID}?create=1#frag`, 'fail', `https://hc-ping.com/${UUID}/fail?create=1&rid=${RID}`],
  ];
  for (const [base, kind, want] of rows) assert.equal(pingUrl(base, kind, RID), want, `${kind} of ${base}`);
});

test('checkPingUrl: http(s) ping URLs of a check pass; anything else is a problem that never quotes the URL', () => {
  for (const ok of [
    `https://hc-ping.com/${UUID}`,
    `http://hc.internal:8000/ping/${UUID}/`,
    `https://hc-ping.com/${KEY}/${SLUG}?create=1`,
    `https://hc-ping.com/${KEY}/db%20backup`,
    `https://relay:s3cret@hc.example.com/ping/${UUID}`,
    `https://hc-ping.com/${KEY}/start`, // a slug may be called "start"
  ]) {
    assert.equal(checkPingUrl(ok), undefined, ok);
  }
  const bad: [string, RegExp][] = [
    ['', /not a valid URL/],
    [`hc-ping.com/${UUID}`, /not a valid URL/],
    [`ftp://hc-ping.com/${UUID}`, /http:\/\/ or https:\/\//],
    [`file:///${UUID}`, /http:\/\/ or https:\/\//],
    [`javascript:${UUID}`, /http:\/\/ or https:\/\//],
    ['https://hc-ping.com', /no check in its path/],
    ['https://hc-ping.com/', /no check in its path/],
    [`https://hc-ping.com/${UUID}/start`, /ping endpoint/],
    [`https://hc-ping.com/${UUID}/fail?create=1`, /ping endpoint/],
    [`https://hc-ping.com/${UUID}/log`, /ping endpoint/],
    [`https://hc-ping.com/${UUID}/0`, /ping endpoint/],
    [`https://hc-ping.com/${UUID.toUpperCase()}`, /upper-case/],
    [`https://hc-ping.com/${KEY}/Relay-Canary`, /upper-case/],
    [`https://hc-ping.com/${KEY}/bad%zzslug`, /percent-encoding/],
    [`https://relay:%zz@hc.example.com/${UUID}`, /percent-encoding/],
  ];
  for (const [value, want] of bad) {
    const problem = checkPingUrl(value);
    assert.match(problem ?? '(none)', want, value);
    if (value) assertNoSecretLeak([value, UUID, KEY], { problem });
  }
});

test('capPingBody: at most 10 kB of UTF-8, cut between characters and marked', () => {
  assert.equal(MAX_PING_BODY_BYTES, 10_000);
  const short = 'canary ok: 3 alarms relayed in 412 ms';
  assert.equal(capPingBody(short), short);
  assert.equal(capPingBody('x'.repeat(10_000)), 'x'.repeat(10_000), 'exactly the limit is kept');
  const enc = new TextEncoder();
  for (const long of ['x'.repeat(20_000), 'é'.repeat(6_000), '😀'.repeat(3_000), 'ab€'.repeat(3_000)]) {
    const cut = capPingBody(long);
    const bytes = enc.encode(cut).length;
    assert.ok(bytes <= 10_000 && bytes > 9_900, `${bytes} bytes`);
    assert.ok(cut.endsWith('…[truncated]'));
    assert.ok(!cut.includes('\uFFFD'), 'no character cut in half');
    assert.ok(long.startsWith(cut.slice(0, cut.indexOf('\n…[truncated]'))));
  }
});

// ---- the pinger, with a fake client and a fake clock ---------------------------------------------

const URL_UUID = new Secret(`https://hc-ping.com/${UUID}`);

/** Settles the pinger's promise, moving the fake clock 100 ms at a time; records when each request came. */
async function drive(clock: FakeClock, p: Promise<PingResult>, maxMs = 120_000): Promise<PingResult> {
  let result: PingResult | undefined;
  void p.then((r) => (result = r));
  for (let t = 0; result === undefined && t <= maxMs; t += 100) {
    await new Promise((r) => setTimeout(r, 0));
    if (result === undefined) clock.advance(100);
  }
  assert.ok(result, 'the ping settled');
  return result;
}

/** A strict fake client (channel-kit) that also notes the fake clock's time of each request. */
function timedReceiver(clock: FakeClock, script: readonly ScriptStep[]) {
  const receiver = fakeReceiver(script);
  const times: number[] = [];
  const start = clock.now();
  const client: HttpClient = (req, signal) => {
    times.push(clock.now() - start);
    return receiver.client(req, signal);
  };
  return { ...receiver, client, times };
}

function pinger(clock: FakeClock, http: HttpClient, extra: { attempts?: number; timeoutMs?: number } = {}) {
  return createPinger({ http, version: '1.2.3', scheduler: clock, now: () => clock.now(), ...extra });
}

test('a ping: POST to the exact URL, with User-Agent, text/plain and the body; ok on 2xx', async () => {
  const clock = new FakeClock();
  const rx = timedReceiver(clock, [{ status: 200, body: 'OK' }, { status: 201, body: 'Created' }, { status: 200 }]);
  const p = pinger(clock, rx.client);
  assert.deepEqual(await drive(clock, p.ping(URL_UUID, 'start', RID)), { ok: true, attempts: 1, status: 200 });
  const slugUrl = new Secret(`https://hc-ping.com/${KEY}/${SLUG}?create=1`);
  assert.deepEqual(await drive(clock, p.ping(slugUrl, 'success', RID, 'canary ok')), { ok: true, attempts: 1, status: 201 });
  assert.deepEqual(await drive(clock, p.ping(slugUrl, 'fail', RID, 'no delivery within 60 s')), { ok: true, attempts: 1, status: 200 });
  rx.assertDone();
  const headers = { 'content-type': 'text/plain; charset=utf-8', 'user-agent': 'tocsin/1.2.3' };
  assert.deepEqual(rx.requests, [
    { url: `https://hc-ping.com/${UUID}/start?rid=${RID}`, method: 'POST', headers, body: '' },
    { url: `https://hc-ping.com/${KEY}/${SLUG}?create=1&rid=${RID}`, method: 'POST', headers, body: 'canary ok' },
    { url: `https://hc-ping.com/${KEY}/${SLUG}/fail?create=1&rid=${RID}`, method: 'POST', headers, body: 'no delivery within 60 s' },
  ]);
  assert.equal(clock.pending, 0, 'no timer left behind');
});

test('retries network errors, 408, 425, 429 and 5xx after 1 s then 3 s; ok once answered', async () => {
  const clock = new FakeClock();
  const rx = timedReceiver(clock, [{ throws: networkError('ECONNREFUSED') }, { status: 503, body: 'busy' }, { status: 200 }]);
  const r = await drive(clock, pinger(clock, rx.client).ping(URL_UUID, 'success', RID, 'ok'));
  assert.deepEqual(r, { ok: true, attempts: 3, status: 200 });
  assert.deepEqual(rx.times, [0, 1_000, 4_000]);
  rx.assertDone();
  for (const status of [408, 425, 429, 500, 502, 504]) {
    const c = new FakeClock();
    const again = timedReceiver(c, [{ status }, { status: 200 }]);
    assert.deepEqual(await drive(c, pinger(c, again.client).ping(URL_UUID, 'start', RID)), { ok: true, attempts: 2, status: 200 }, `HTTP ${status}`);
    assert.deepEqual(again.times, [0, 1_000]);
  }
});

test('gives up after 3 attempts and says why, without the URL', async () => {
  const clock = new FakeClock();
  const rx = timedReceiver(clock, [{ status: 503 }, { status: 502 }, { status: 503 }]);
  const r = await drive(clock, pinger(clock, rx.client).ping(URL_UUID, 'start', RID));
  assert.deepEqual(r, { ok: false, attempts: 3, status: 503, error: 'start ping failed after 3 attempts: HTTP 503' });
  assert.deepEqual(rx.times, [0, 1_000, 4_000]);
  rx.assertDone();

  const c2 = new FakeClock();
  const refused = timedReceiver(c2, Array(3).fill({ throws: networkError('ECONNREFUSED', `connect ECONNREFUSED for https://hc-ping.com/${UUID}`) }));
  const r2 = await drive(c2, pinger(c2, refused.client).ping(URL_UUID, 'fail', RID, 'why'));
  assert.deepEqual(r2, { ok: false, attempts: 3, error: 'fail ping failed after 3 attempts: connection refused (ECONNREFUSED)' });

  const c4 = new FakeClock();
  const mixed = timedReceiver(c4, [{ status: 503 }, { status: 500 }, { throws: networkError('ECONNRESET', 'read ECONNRESET') }]);
  const r4 = await drive(c4, pinger(c4, mixed.client).ping(URL_UUID, 'start', RID));
  assert.deepEqual(r4, { ok: false, attempts: 3, error: 'start ping failed after 3 attempts: connection reset (ECONNRESET)' }, 'the status is the last attempt\'s');

  const c3 = new FakeClock();
  const once = timedReceiver(c3, [{ status: 500, body: 'oops' }]);
  const r3 = await drive(c3, pinger(c3, once.client, { attempts: 1 }).ping(URL_UUID, 'success', RID));
  assert.deepEqual(r3, { ok: false, attempts: 1, status: 500, error: 'success ping failed after 1 attempt: HTTP 500: oops' });
});

test('other 4xx end the ping at once', async () => {
  for (const [status, body] of [[404, 'not found'], [400, 'invalid uuid format'], [409, 'ambiguous slug'], [401, '']] as const) {
    const clock = new FakeClock();
    const rx = timedReceiver(clock, [{ status, body }]);
    const r = await drive(clock, pinger(clock, rx.client).ping(URL_UUID, 'start', RID));
    const want = `start ping failed after 1 attempt: HTTP ${status}${body ? `: ${body}` : ''}`;
    assert.deepEqual(r, { ok: false, attempts: 1, status, error: want });
    rx.assertDone();
    assert.equal(clock.pending, 0);
  }
});

test('Retry-After: waits for it when longer than the backoff; gives up at once when beyond 10 s', async () => {
  const clock = new FakeClock();
  const rx = timedReceiver(clock, [{ status: 429, headers: { 'Retry-After': '2' } }, { status: 503, headers: { 'Retry-After': '0' } }, { status: 200 }]);
  assert.deepEqual(await drive(clock, pinger(clock, rx.client).ping(URL_UUID, 'start', RID)), { ok: true, attempts: 3, status: 200 });
  assert.deepEqual(rx.times, [0, 2_000, 5_000]);

  const c2 = new FakeClock();
  const late = timedReceiver(c2, [{ status: 429, headers: { 'Retry-After': '60' }, body: 'slow down' }]);
  const r = await drive(c2, pinger(c2, late.client).ping(URL_UUID, 'start', RID));
  assert.deepEqual(r, { ok: false, attempts: 1, status: 429, error: 'start ping failed after 1 attempt: HTTP 429: slow down; Retry-After 60 s is longer than a ping waits' });
  late.assertDone();
});

test('each attempt has a 10 s deadline, even with a client that ignores the abort', async () => {
  const clock = new FakeClock();
  const times: number[] = [];
  let signals = 0;
  const hanging: HttpClient = (_req, signal) => {
    times.push(clock.now() - 1_700_000_000_000);
    if (times.length === 1) {
      signals++;
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    }
    return new Promise(() => {}); // never settles, never listens
  };
  const r = await drive(clock, pinger(clock, hanging).ping(URL_UUID, 'success', RID));
  assert.deepEqual(r, { ok: false, attempts: 3, error: 'success ping failed after 3 attempts: timeout after request deadline' });
  assert.deepEqual(times, [0, 11_000, 24_000]);
  assert.equal(signals, 1);
  assert.equal(clock.pending, 0);

  const c2 = new FakeClock();
  const quick = pinger(c2, () => new Promise(() => {}), { timeoutMs: 2_000, attempts: 2 });
  const r2 = await drive(c2, quick.ping(URL_UUID, 'start', RID));
  assert.equal(r2.attempts, 2);
  assert.equal(c2.now() - 1_700_000_000_000, 5_000, '2 s + 1 s + 2 s');
});

test('error texts never hold the URL or its parts, whatever the peer or the client says', async () => {
  const urls = [
    `https://hc-ping.com/${UUID}?token=t0k3n-0f-the-pr0xy`,
    `https://hc-ping.com/${KEY}/${SLUG}?create=1&token=t0k3n-0f-the-pr0xy`,
    `https://hc.example.com/ping/${KEY}/db%20backup-n%C3%AFghtly?create=1`,
    `https://relay:pr0xy-pa55word@hc.example.com/ping/${UUID}`,
  ];
  for (const raw of urls) {
    const u = new URL(raw);
    const parts = [raw, u.pathname, ...u.pathname.split('/').filter((s) => s.length >= 4 && s !== 'ping'), ...u.searchParams.values()].filter((s) => s.length >= 4);
    for (const s of [...parts]) parts.push(decodeURIComponent(s));
    if (u.password) parts.push(u.password, `${u.username}:${u.password}`);
    const echo: ScriptStep = (req: HttpRequest) => ({ status: 500, body: `no: ${req.url} ${raw} ${decodeURIComponent(req.url)} ${req.headers.authorization ?? ''} ${parts.join(' ')}` });
    const script: ScriptStep[] = [
      echo,
      { throws: Object.assign(new Error(`getaddrinfo EAI_FAIL ${raw} ${parts.join(' ')}`), { code: 'EAI_FAIL' }) },
      { throws: new Error(`fetch failed: ${raw} ${parts.join(' ')}`) },
      (req) => ({ status: 404, body: `not found: ${req.url}` }),
    ];
    for (const step of script) {
      const clock = new FakeClock();
      const rx = timedReceiver(clock, [step]);
      const r = await drive(clock, pinger(clock, rx.client, { attempts: 1 }).ping(new Secret(raw), 'fail', RID, 'reason'));
      assert.equal(r.ok, false);
      assert.match(r.error ?? '', /^fail ping failed after 1 attempt: /);
      assertNoSecretLeak([...new Set(parts)], { error: r.error, json: JSON.stringify(r) });
    }
  }
});

test('userinfo in the URL is sent as Basic auth, not in the URL', async () => {
  const clock = new FakeClock();
  const rx = timedReceiver(clock, [{ status: 200 }]);
  const url = new Secret(`https://relay%40ops:pa55%3Aword@hc.example.com/ping/${UUID}?create=1`);
  assert.equal((await drive(clock, pinger(clock, rx.client).ping(url, 'start', RID))).ok, true);
  assert.equal(rx.requests[0]!.url, `https://hc.example.com/ping/${UUID}/start?create=1&rid=${RID}`);
  assert.equal(rx.requests[0]!.headers.authorization, `Basic ${Buffer.from('relay@ops:pa55:word').toString('base64')}`);
});

test('bodies are cut to 10 kB', async () => {
  const clock = new FakeClock();
  const rx = timedReceiver(clock, [{ status: 200 }]);
  await drive(clock, pinger(clock, rx.client).ping(URL_UUID, 'fail', RID, 'ü'.repeat(50_000)));
  const sent = rx.requests[0]!.body;
  assert.ok(new TextEncoder().encode(sent).length <= 10_000);
  assert.ok(sent.startsWith('üüü') && sent.endsWith('…[truncated]'));
});

test('never throws: a throwing client, a bad rid, a bad URL, a non-Secret', async () => {
  const clock = new FakeClock();
  const throwing: HttpClient = () => {
    throw new TypeError(`cannot send to https://hc-ping.com/${UUID}`);
  };
  const p = pinger(clock, throwing, { attempts: 2 });
  const r = await drive(clock, p.ping(URL_UUID, 'start', RID));
  assert.deepEqual(r, { ok: false, attempts: 2, error: 'start ping failed after 2 attempts: request failed: cannot send to <secret>' });
  const fine = pinger(clock, async () => httpResponse(200));
  assert.deepEqual(await fine.ping(URL_UUID, 'start', 'not-a-uuid'), { ok: false, attempts: 0, error: 'start ping not sent: the run id is not a UUID' });
  const badUserinfo = await fine.ping(new Secret(`https://u:%zz@hc.example.com/${UUID}`), 'start', RID);
  assert.deepEqual(badUserinfo, { ok: false, attempts: 0, error: 'start ping not sent: the user name or password in the URL is not valid percent-encoding' });
  assert.deepEqual(await fine.ping(URL_UUID, 'log' as 'start', RID), { ok: false, attempts: 0, error: 'ping not sent: unknown kind' });
  const notSecret = await fine.ping(`https://hc-ping.com/${UUID}` as unknown as Secret, 'start', RID);
  assert.equal(notSecret.ok, false);
  assert.ok(!notSecret.error?.includes(UUID));
  const garbage = await drive(clock, pinger(clock, async () => httpResponse(200)).ping(new Secret('::not a url::'), 'start', RID));
  assert.deepEqual(garbage, { ok: true, attempts: 1, status: 200 }, 'no crash: what to do with it is the client\'s business');
});

test('stop(): a ping under way or waiting to retry ends at once as failed; later pings are not sent', async () => {
  const clock = new FakeClock();
  const rx = timedReceiver(clock, [{ status: 503 }]);
  const p = pinger(clock, rx.client);
  const waiting = p.ping(URL_UUID, 'start', RID);
  const inFlight = createPinger({ http: (_r, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), version: '1', scheduler: clock });
  const hanging = inFlight.ping(URL_UUID, 'success', RID);
  await new Promise((r) => setTimeout(r, 0));
  p.stop();
  inFlight.stop();
  assert.deepEqual(await waiting, { ok: false, attempts: 1, status: 503, error: 'start ping failed after 1 attempt: HTTP 503; the pinger was stopped' });
  assert.deepEqual(await hanging, { ok: false, attempts: 1, error: 'success ping failed after 1 attempt: request aborted: the pinger was stopped' });
  assert.deepEqual(await p.ping(URL_UUID, 'fail', RID), { ok: false, attempts: 0, error: 'fail ping not sent: the pinger is stopped' });
  assert.equal(clock.pending, 0);
  rx.assertDone();
});

// ---- against the fake healthchecks server, through this runtime's HTTP clients ------------------

const clients: [string, () => OutboundHttp][] = [['fetch', () => createFetchClient()]];
if (runtimeName() === 'node') {
  const { createUndiciClient } = await import('../runtime/http-undici.ts');
  clients.unshift(['undici', () => createUndiciClient()]);
}

const realTimers = { after: (ms: number, fn: () => void) => {
  const t = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(t) };
} };

for (const [name, make] of clients) {
  test(`${name} on ${runtimeName()}: start, success and fail reach a strict fake healthchecks, both URL forms`, async () => {
    const hc = await startFakeHealthchecks({
      checks: [{ uuid: UUID }, { pingKey: KEY, slug: 'db backup', query: { create: '1' } }],
      prefix: '/ping',
    });
    const http = make();
    try {
      const p = createPinger({ http: http.client, version: '9.9.9', scheduler: realTimers, backoffMs: [20] });
      for (const check of [0, 1]) {
        const url = new Secret(hc.url(check));
        const rid1 = crypto.randomUUID();
        const rid2 = crypto.randomUUID();
        assert.deepEqual(await p.ping(url, 'start', rid1), { ok: true, attempts: 1, status: check === 1 ? 201 : 200 });
        assert.deepEqual(await p.ping(url, 'success', rid1, 'canary ok'), { ok: true, attempts: 1, status: 200 });
        assert.deepEqual(await p.ping(url, 'start', rid2), { ok: true, attempts: 1, status: 200 });
        hc.setDown(true);
        const down = await p.ping(url, 'fail', rid2, 'x'.repeat(30_000));
        assert.deepEqual(down, { ok: false, attempts: 3, status: 503, error: 'fail ping failed after 3 attempts: HTTP 503: down' });
        hc.setDown(true, 'close');
        const dropped = await p.ping(url, 'fail', rid2, 'dropped');
        assert.equal(dropped.ok, false);
        assert.equal(dropped.attempts, 3);
        assertNoSecretLeak([hc.url(check), UUID, KEY], { error: dropped.error });
        hc.setDown(false);
        assert.deepEqual(await p.ping(url, 'fail', rid2, 'no delivery'), { ok: true, attempts: 1, status: 200 });
      }
      assert.deepEqual(hc.violations, []);
      const accepted = hc.pings.filter((x) => x.accepted);
      assert.deepEqual(accepted.map((x) => [x.check, x.kind, x.method, x.body.length]), [
        [0, 'start', 'POST', 0], [0, 'success', 'POST', 9], [0, 'start', 'POST', 0], [0, 'fail', 'POST', 11],
        [1, 'start', 'POST', 0], [1, 'success', 'POST', 9], [1, 'start', 'POST', 0], [1, 'fail', 'POST', 11],
      ]);
      for (const x of hc.pings) {
        assert.equal(x.headers['user-agent'], 'tocsin/9.9.9');
        assert.equal(x.headers['content-type'], 'text/plain; charset=utf-8');
        assert.ok(x.bodyBytes <= 10_000);
      }
      assert.equal(hc.pings.filter((x) => x.status === 503).length, 6);
      // Deno's fetch sends a request again, once, when a kept-alive connection closes under it: at least 3 per check.
      assert.ok(hc.pings.filter((x) => x.status === 0).length >= 6);
    } finally {
      await http.close();
      await hc.close();
    }
  });
}
