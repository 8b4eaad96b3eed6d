/**
 * Heartbeat checks end to end (issue #15) with a real relay process and a webhook sink: a check that is not
 * pinged goes down and its firing alarm reaches the sink; a ping resolves it; `/fail` and `/1` fire at once;
 * unknown UUIDs answer 404; slug URLs work with the ping key; HEAD; the body limit header; a restart keeps
 * the state and the generated UUID. Then a seeded fuzz of the ping endpoints: never a 5xx, never a hang.
 * Replay a fuzz failure with FUZZ_SEED (FUZZ_COUNT changes the number of requests).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killAllRelays, sinkRelayConfig, startRelay, type RelayProcess } from './relay-process.ts';
import { startWebhookSink, type WebhookSink } from './webhook-sink.ts';
import { fuzzSettings } from '../support/fuzz.ts';
import { prng } from './prng.ts';

const FIXED = '3f2a9c1e-7b4d-4e8a-9c6f-0d1e2f3a4b5c';
const KEY = 'e2e-ping-key-1';
const WAIT_MS = 15_000;
const { seed: FUZZ_SEED, count: FUZZ_COUNT } = fuzzSettings(2000);

after(() => killAllRelays());

function config(port: number, dataDir: string, sink: string): string {
  return [
    sinkRelayConfig(port, dataDir, sink).trimEnd(),
    'checks:',
    '  short:',
    '    period: 2s',
    '    grace: 1s',
    '    labels: { team: e2e, severity: warning }',
    `    uuid: ${FIXED}`,
    '  generated:',
    '    period: 1h',
    '    grace: 1h',
    '  slugged:',
    '    period: 1h',
    '    grace: 1h',
    'pings:',
    `  ping_key: ${KEY}`,
    '  body_limit: 16',
    '  rate_limit: 50/s',
    '',
  ].join('\n');
}

type Sent = { status: number; text: string; headers: Headers };
async function ping(r: RelayProcess, path: string, init: RequestInit = {}): Promise<Sent> {
  const res = await fetch(`${r.baseUrl}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** The alarms of check `name` the sink has accepted, as "status name". */
function alarmsOf(sink: WebhookSink, name: string): string[] {
  return sink.requests
    .filter((q) => q.accepted && q.envelope?.alarm?.labels?.check === name)
    .map((q) => `${String(q.envelope!.alarm!.status)} ${String(q.envelope!.alarm!.name)}`);
}

test('checks end to end: down, resolved, /fail, /1, 404, slugs, HEAD, body limit, restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-checks-e2e-'));
  const sink = await startWebhookSink();
  const port = await freePort();
  const dataDir = join(dir, 'data');
  let relay = await startRelay({ configYaml: config(port, dataDir, sink.url), dataDir });
  try {
    // Not pinged: a new check has no deadline; its first ping starts the period.
    const ok = await ping(relay, `/ping/${FIXED}`);
    assert.equal(ok.status, 200);
    assert.equal(ok.text, 'OK');
    assert.equal(ok.headers.get('ping-body-limit'), '16');
    // period 2s + grace 1s without a ping: firing reaches the sink.
    assert.ok(await sink.waitUntil(() => alarmsOf(sink, 'short').includes('firing HeartbeatMissing'), WAIT_MS), 'firing');
    const fired = sink.requests.find((q) => q.accepted && q.envelope?.alarm?.labels?.check === 'short')!.envelope!.alarm!;
    assert.equal(fired.source, 'checks');
    assert.equal(fired.severity, 'warning');
    assert.equal(fired.dedup_key, 'short');
    // A ping resolves it.
    assert.equal((await ping(relay, `/ping/${FIXED.toUpperCase()}`, { method: 'POST', body: 'back' })).status, 200);
    assert.ok(await sink.waitUntil(() => alarmsOf(sink, 'short').includes('resolved HeartbeatMissing'), WAIT_MS), 'resolved');

    // Slug URLs with the ping key; /fail with a body fires HeartbeatFailed with it (cut at body_limit).
    const failed = await ping(relay, `/ping/${KEY}/slugged/fail`, { method: 'POST', body: 'x'.repeat(10) + 'ERROR-TAIL-BEYOND' });
    assert.equal(failed.status, 200);
    assert.ok(await sink.waitUntil(() => alarmsOf(sink, 'slugged').includes('firing HeartbeatFailed'), WAIT_MS), '/fail');
    const desc = sink.requests.find((q) => q.accepted && q.envelope?.alarm?.labels?.check === 'slugged')!.envelope!.alarm!.description;
    assert.equal(desc, 'xxxxxxxxxxERROR-');
    assert.equal((await ping(relay, `/ping/${KEY}/slugged/0`)).status, 200);
    assert.ok(await sink.waitUntil(() => alarmsOf(sink, 'slugged').includes('resolved HeartbeatFailed'), WAIT_MS), '/0 resolves');
    // Exit status 1 by slug, on the check whose UUID was generated.
    assert.equal((await ping(relay, `/ping/${KEY}/generated/1`)).status, 200);
    assert.ok(await sink.waitUntil(() => alarmsOf(sink, 'generated').includes('firing HeartbeatFailed'), WAIT_MS), '/1');

    // Not found, bad exit status, bad rid; HEAD answers without a body.
    for (const [path, status, text] of [
      ['/ping/00000000-0000-4000-8000-000000000000', 404, 'not found'],
      [`/ping/wrong-key-123/slugged`, 404, 'not found'],
      [`/ping/${KEY}/nope`, 404, 'not found'],
      [`/ping/${FIXED}/256`, 400, 'invalid url format'],
      [`/ping/${FIXED}/start?rid=not-a-uuid`, 400, 'invalid uuid format'],
      [`/ping/${FIXED}/start?rid=0b5f3e1a-8d2b-4c7e-9a10-2b3c4d5e6f70`, 200, 'OK'],
    ] as const) {
      const r = await ping(relay, path);
      assert.deepEqual([r.status, r.text], [status, text], path);
    }
    const head = await ping(relay, `/ping/${FIXED}`, { method: 'HEAD' });
    assert.deepEqual([head.status, head.text, head.headers.get('ping-body-limit')], [200, '', '16']);
    assert.equal((await ping(relay, `/ping/00000000-0000-4000-8000-000000000000`, { method: 'HEAD' })).status, 404);

    // A restart keeps the state (generated stays down: no second firing) and the generated UUID.
    const uuidBefore = await generatedUuid(dataDir);
    await relay.stop();
    relay = await startRelay({ configYaml: config(port, dataDir, sink.url), dataDir });
    assert.equal(await generatedUuid(dataDir), uuidBefore);
    assert.equal((await ping(relay, `/ping/${uuidBefore}`)).status, 200);
    assert.ok(await sink.waitUntil(() => alarmsOf(sink, 'generated').includes('resolved HeartbeatFailed'), WAIT_MS), 'resolved after restart');
    assert.deepEqual(alarmsOf(sink, 'generated').filter((a) => a.startsWith('firing')), ['firing HeartbeatFailed'], 'fired once');
  } finally {
    await relay.stop();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The UUID generated for the check `generated`, as stored (it is shown by the admin API only). */
async function generatedUuid(dataDir: string): Promise<string> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(dataDir, 'tocsin.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT uuid FROM check_states WHERE name = 'generated'").get() as { uuid: string } | undefined;
    assert.ok(row, 'the generated check has a stored UUID');
    return row.uuid;
  } finally {
    db.close();
  }
}

test(`ping endpoints under a seeded fuzz (seed ${FUZZ_SEED}, ${FUZZ_COUNT} requests): never a 5xx, never a hang, the relay keeps serving`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-checks-fuzz-'));
  const sink = await startWebhookSink();
  const port = await freePort();
  const dataDir = join(dir, 'data');
  const relay = await startRelay({ configYaml: config(port, dataDir, sink.url), dataDir });
  const rand = prng(FUZZ_SEED);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const CHARS = ['a', 'Z', '0', '-', '_', '.', '~', '%', '%2F', '%00', '%zz', '%C3%A9', '..', '//', ' ', '中', '😀', '?', '#', ';', '=', '&', '+'];
  const junk = () => Array.from({ length: int(12) }, () => pick(CHARS)).join('');
  const first = () => pick([FIXED, FIXED.toUpperCase(), KEY, '00000000-0000-4000-8000-000000000000', `${FIXED}x`, FIXED.slice(0, 35), junk(), '']);
  const next = () => pick(['start', 'fail', 'log', 'START', '0', '1', '255', '256', '-1', '00', '999999999999999999999', 'slugged', 'generated', 'short', junk(), '']);
  const query = () => pick(['', '?rid=0b5f3e1a-8d2b-4c7e-9a10-2b3c4d5e6f70', '?rid=', '?rid=x', `?rid=${junk()}`, '?rid=a&rid=b', '?create=1', `?${junk()}`]);
  const body = (): string | Uint8Array<ArrayBuffer> | undefined =>
    pick([undefined, '', 'ok', 'x'.repeat(int(100)), junk(), Uint8Array.from({ length: int(64) }, () => int(256)), '\ud800', 'y'.repeat(70_000)]);
  const METHODS = ['GET', 'HEAD', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
  const bad: string[] = [];
  try {
    for (let i = 0; i < FUZZ_COUNT; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, FUZZ_COUNT - i) }, async () => {
          const segs = [first(), ...Array.from({ length: int(4) }, next)];
          const path = `/ping/${segs.join('/')}${query()}`;
          const method = pick(METHODS);
          const b = method === 'POST' || method === 'PUT' || method === 'PATCH' ? body() : undefined;
          try {
            const res = await fetch(`${relay.baseUrl}${path}`, { method, ...(b !== undefined && { body: b }), signal: AbortSignal.timeout(10_000) });
            await res.arrayBuffer();
            if (res.status >= 500) bad.push(`${method} ${path}: ${res.status}`);
            else if (res.status < 400 && res.status !== 200) bad.push(`${method} ${path}: ${res.status}`);
          } catch (e) {
            // fetch refuses some URLs itself (not the relay's doing); a timeout is a hang.
            if (e instanceof Error && e.name === 'TimeoutError') bad.push(`${method} ${path}: hang`);
          }
        }),
      );
    }
    assert.deepEqual(bad.slice(0, 10), [], `${bad.length} bad answers`);
    assert.equal((await ping(relay, `/ping/${FIXED}/log`)).status, 200, 'still serving');
    assert.equal((await fetch(`${relay.baseUrl}/healthz`)).status, 200);
  } finally {
    await relay.stop();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
