import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeHealthchecks, type FakeHealthchecks } from './fake-healthchecks.ts';

const UUID = '5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278';
const OTHER = 'f618072a-7bde-4eee-af63-71a77c5723bc';
const KEY = 'fqOOd6-F4MMNuCEnzTU01w';
const R1 = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const R2 = '1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e';

async function send(url: string, method = 'POST', body?: string): Promise<[number, string]> {
  const res = await fetch(url, { method, ...(body !== undefined ? { body } : {}) });
  return [res.status, await res.text()];
}

/** Runs fn against a fake with one UUID check and one slug check (created on first ping with create=1). */
async function withFake(fn: (hc: FakeHealthchecks) => Promise<void>, prefix?: string): Promise<void> {
  const hc = await startFakeHealthchecks({
    checks: [{ uuid: UUID }, { pingKey: KEY, slug: 'db backup', query: { create: '1' } }],
    ...(prefix !== undefined ? { prefix } : {}),
  });
  try {
    await fn(hc);
  } finally {
    await hc.close();
  }
}

test('url(): the ping URL of each check, at the root or under a prefix, with its query', async () => {
  await withFake(async (hc) => {
    assert.equal(hc.url(0), `http://127.0.0.1:${hc.port}/${UUID}`);
    assert.equal(hc.url(1), `http://127.0.0.1:${hc.port}/${KEY}/db%20backup?create=1`);
    assert.throws(() => hc.url(2), /no check #2/);
  });
  await withFake(async (hc) => {
    assert.equal(hc.url(0), `${hc.origin}/ping/${UUID}`);
    assert.equal(hc.url(1), `${hc.origin}/ping/${KEY}/db%20backup?create=1`);
    assert.deepEqual(await send(`${hc.url(0)}/start?rid=${R1}`), [200, 'OK']);
    assert.deepEqual(await send(`${hc.origin}/${UUID}/start?rid=${R1}`), [404, 'not found'], 'outside the prefix');
  }, '/ping/');
});

test('a well-formed run: recorded, answered like healthchecks, no violations', async () => {
  await withFake(async (hc) => {
    const t0 = Date.now();
    assert.deepEqual(await send(`${hc.url(0)}/start?rid=${R1}`), [200, 'OK']);
    assert.deepEqual(await send(`${hc.url(0)}?rid=${R1}`, 'POST', 'canary ok'), [200, 'OK']);
    assert.deepEqual(await send(`${hc.url(0)}/start?rid=${R2}`, 'GET'), [200, 'OK']);
    assert.deepEqual(await send(`${hc.url(0)}/fail?rid=${R2}`, 'HEAD'), [200, '']);
    assert.deepEqual(await send(`${hc.url(1).replace('?', '/start?')}&rid=${R1}`), [201, 'Created'], 'create=1 creates the check');
    assert.deepEqual(await send(`${hc.url(1)}&rid=${R1}`, 'POST', 'é'.repeat(50_000)), [200, 'OK']);
    assert.deepEqual(hc.violations, []);
    assert.deepEqual(
      hc.pings.map((p) => [p.check, p.kind, p.rid, p.method, p.body.slice(0, 9), p.bodyBytes, p.status, p.accepted]),
      [
        [0, 'start', R1, 'POST', '', 0, 200, true],
        [0, 'success', R1, 'POST', 'canary ok', 9, 200, true],
        [0, 'start', R2, 'GET', '', 0, 200, true],
        [0, 'fail', R2, 'HEAD', '', 0, 200, true],
        [1, 'start', R1, 'POST', '', 0, 201, true],
        [1, 'success', R1, 'POST', 'ééééééééé', 100_000, 200, true],
      ],
    );
    assert.equal(hc.pings[1]!.target, `/${UUID}?rid=${R1}`);
    assert.ok(hc.pings.every((p) => p.at >= t0 && p.at <= Date.now()));
    const res = await fetch(`${hc.url(0)}?rid=${R1}`, { method: 'POST' });
    assert.equal(res.headers.get('ping-body-limit'), '100000');
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    await res.text();
  });
});

test('unknown checks and endpoints: 404 "not found", and a violation', async () => {
  await withFake(async (hc) => {
    const paths = [
      `/${OTHER}?rid=${R1}`,
      `/${UUID.toUpperCase()}/start?rid=${R1}`,
      `/${UUID}/?rid=${R1}`,
      `/${UUID}/log?rid=${R1}`,
      `/${UUID}/0?rid=${R1}`,
      `/${UUID}/start/?rid=${R1}`,
      `/${KEY}/other-check?rid=${R1}`,
      `/other-key/db%20backup?create=1&rid=${R1}`,
      `/${KEY}/db%20backup/log?create=1&rid=${R1}`,
      `/${KEY}/db%zzbackup?create=1&rid=${R1}`,
      `/?rid=${R1}`,
    ];
    for (const p of paths) assert.deepEqual(await send(hc.origin + p), [404, 'not found'], p);
    assert.equal(hc.violations.length, paths.length);
    assert.ok(hc.violations.every((v, i) => v === `POST ${paths[i]}: no such check or endpoint (healthchecks: 404 not found)`), hc.violations.join('\n'));
    assert.deepEqual(hc.pings, []);
  });
});

test('rid: missing, not a UUID or given twice is a violation; a bad one is answered 400', async () => {
  await withFake(async (hc) => {
    assert.deepEqual(await send(`${hc.url(0)}/start`), [200, 'OK']);
    assert.deepEqual(await send(`${hc.url(0)}/start?rid=12345`), [400, 'invalid uuid format']);
    assert.deepEqual(await send(`${hc.url(0)}/start?rid=${R1}&rid=${R2}`), [200, 'OK']);
    assert.deepEqual(hc.violations, [
      `POST /${UUID}/start: no rid`,
      `POST /${UUID}/start?rid=12345: rid is not a UUID`,
      `POST /${UUID}/start?rid=${R1}&rid=${R2}: rid given 2 times`,
    ]);
    assert.deepEqual(hc.pings.map((p) => [p.rid, p.status]), [[undefined, 200], ['12345', 400], [R2, 200]]);
  });
});

test('a success or fail needs an earlier /start with its rid, to the same check', async () => {
  await withFake(async (hc) => {
    await send(`${hc.url(1).replace('?', '/start?')}&rid=${R1}`);
    assert.deepEqual(await send(`${hc.url(0)}?rid=${R1}`), [200, 'OK'], 'healthchecks takes it all the same');
    await send(`${hc.url(0)}/fail?rid=${R2}`);
    await send(`${hc.url(0)}/start?rid=${R2}`);
    await send(`${hc.url(0)}/fail?rid=${R2}`);
    await send(`${hc.url(1)}&rid=${R1}`);
    assert.deepEqual(hc.violations, [
      `POST /${UUID}?rid=${R1}: success with rid ${R1} has no earlier /start`,
      `POST /${UUID}/fail?rid=${R2}: fail with rid ${R2} has no earlier /start`,
    ]);
  });
});

test('the query a check was registered with must be kept (without create=1, a check not yet created is not found)', async () => {
  await withFake(async (hc) => {
    const plain = `${hc.origin}/${KEY}/db%20backup`;
    assert.deepEqual(await send(`${plain}/start?rid=${R1}`), [404, 'not found']);
    assert.deepEqual(await send(`${plain}/start?create=1&rid=${R1}`), [201, 'Created']);
    assert.deepEqual(await send(`${plain}?create=0&rid=${R1}`), [200, 'OK'], 'created by now');
    assert.deepEqual(hc.violations, [
      `POST /${KEY}/db%20backup/start?rid=${R1}: the ping URL's query was not kept: create=1 missing`,
      `POST /${KEY}/db%20backup?create=0&rid=${R1}: the ping URL's query was not kept: create=1 missing`,
    ]);
  });
});

test('method other than GET, HEAD, POST, and a body over 100 kB: violations', async () => {
  await withFake(async (hc) => {
    await send(`${hc.url(0)}/start?rid=${R1}`, 'PUT', 'x');
    await send(`${hc.url(0)}/start?rid=${R2}`, 'POST', 'x'.repeat(100_001));
    assert.deepEqual(hc.violations, [
      `PUT /${UUID}/start?rid=${R1}: method is not GET, HEAD or POST`,
      `POST /${UUID}/start?rid=${R2}: body of 100001 bytes is over the 100000-byte ping body limit`,
    ]);
    assert.equal(hc.pings[1]!.body.length, 100_001, 'the whole body is recorded');
  });
});

test('setDown: 503, or dropped connections; requests are still checked and recorded', async () => {
  await withFake(async (hc) => {
    hc.setDown(true);
    assert.deepEqual(await send(`${hc.url(0)}/start?rid=${R1}`), [503, 'down']);
    assert.deepEqual(await send(`${hc.url(1).replace('?', '/start?')}&rid=${R1}`), [503, 'down']);
    hc.setDown(true, 'close');
    await assert.rejects(send(`${hc.url(0)}?rid=${R1}`));
    hc.setDown(false);
    assert.deepEqual(await send(`${hc.url(0)}/fail?rid=${R1}`), [200, 'OK']);
    assert.deepEqual(await send(`${hc.url(1).replace('?', '/start?')}&rid=${R2}`), [201, 'Created'], 'not created while down');
    assert.deepEqual(hc.violations, [], 'a /start that reached the server while down still pairs');
    assert.deepEqual(hc.pings.map((p) => [p.check, p.kind, p.status, p.accepted]).slice(0, 4), [
      [0, 'start', 503, false],
      [1, 'start', 503, false],
      [0, 'success', 0, false],
      [0, 'fail', 200, true],
    ]);
    hc.setDown(true);
    assert.deepEqual(await send(`${hc.origin}/nope`), [503, 'down']);
    assert.equal(hc.violations.length, 1);
  });
});

test('waitUntil, and close() twice', async () => {
  const hc = await startFakeHealthchecks({ checks: [{ uuid: UUID }] });
  const waiting = hc.waitUntil(() => hc.pings.length === 1, 5_000);
  await send(`${hc.url(0)}/start?rid=${R1}`);
  assert.equal(await waiting, true);
  assert.equal(await hc.waitUntil(() => hc.pings.length === 2, 60), false);
  await hc.close();
  await hc.close();
  await assert.rejects(startFakeHealthchecks({ checks: [{ uuid: 'not-a-uuid' }] }), /check #0: uuid is not a UUID/);
});
