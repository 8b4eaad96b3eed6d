/**
 * The same black-box test on every target (`npm start`'s Node command, the `dist/tocsin` binary, `deno run`
 * from source): start tocsin with a config, POST generic and Zeebe alarms, receive them at a webhook sink,
 * SIGKILL the relay while deliveries are in flight, restart it on the same data, and check that every
 * acknowledged alarm arrives, Zeebe's 64-bit keys byte-exact.
 *
 * scripts/run-tests.mjs builds dist/tocsin before running this file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { BINARY, freePort, killAllRelays, RELAY_TARGETS, sinkRelayConfig, startRelay, type RelayProcess } from './relay-process.ts';
import { startWebhookSink, type WebhookSink } from './webhook-sink.ts';

const GENERIC = 120;
const ZEEBE = 40;
const FIXTURES = new URL('../fixtures/zeebe/', import.meta.url);
const ZEEBE_022 = readFileSync(new URL('incident-alerter-readme-created-0.22.json', FIXTURES), 'utf8');
const FIXTURE_KEY = '2251799813685263';

/** Record keys above 2^53: a double would round every one of them. */
const zeebeKey = (i: number): string => (9_223_372_036_854_775_807n - BigInt(i) * 7n).toString();

/** The 0.22 fixture with its record key (the incident's identity) replaced by a 64-bit one, digits in place. */
function zeebeIncident(i: number): string {
  const text = ZEEBE_022.replace(`"key": ${FIXTURE_KEY}`, `"key": ${zeebeKey(i)}`);
  assert.notEqual(text, ZEEBE_022, 'the fixture still has its record key');
  return text;
}

async function post(baseUrl: string, path: string, body: string): Promise<string[]> {
  const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  assert.equal(res.status, 202, `${path}: ${res.status} ${text}`);
  return (JSON.parse(text) as { alarm_ids: string[] }).alarm_ids;
}

for (const target of RELAY_TARGETS) {
  test(`${target}: generic and Zeebe alarms are all delivered across a SIGKILL mid-delivery`, { timeout: 120_000 }, async () => {
    if (target === 'binary') assert.ok(existsSync(BINARY), `${BINARY} is missing: run npm run build`);
    const dataDir = mkdtempSync(join(tmpdir(), `tocsin-target-${target}-`));
    // Slow answers keep deliveries in flight: 4 at a time, 40 ms each.
    let sink: WebhookSink | undefined;
    let relay: RelayProcess | undefined;
    try {
      sink = await startWebhookSink({ behavior: () => ({ status: 200, delayMs: 40 }) });
      const port = await freePort();
      const yaml = sinkRelayConfig(port, dataDir, sink.url, { concurrency: '4', timeout: '5s' });
      relay = await startRelay({ configYaml: yaml, dataDir, target });
      const log = relay.logLines().find((l) => l.msg === 'tocsin listening');
      assert.equal(log?.runtime, target === 'node' ? 'node' : target === 'binary' ? 'bun' : 'deno');

      // ---- ingest: generic alarms in batches and one by one, Zeebe incidents one per request ------
      const generic: string[] = [];
      const batch = (from: number, n: number) =>
        JSON.stringify(
          Array.from({ length: n }, (_, k) => ({ name: 'TargetTest', severity: 'warning', summary: `alarm ${from + k}`, labels: { seq: String(from + k) } })),
        );
      generic.push(...(await post(relay.baseUrl, '/v1/alarms', batch(0, GENERIC / 2))));
      for (let i = GENERIC / 2; i < GENERIC; i++) generic.push(...(await post(relay.baseUrl, '/v1/alarms', batch(i, 1))));
      const zeebe = new Map<string, string>(); // alarm id → record key digits
      for (let i = 0; i < ZEEBE; i++) {
        const [id] = await post(relay.baseUrl, '/v1/zeebe', zeebeIncident(i));
        zeebe.set(id!, zeebeKey(i));
      }
      const all = [...generic, ...zeebe.keys()];
      assert.equal(new Set(all).size, GENERIC + ZEEBE);

      // ---- SIGKILL while deliveries are in flight -------------------------------------------------
      const s = sink;
      const some = await s.waitUntil(() => s.counts().uniqueAlarms >= 20, 30_000);
      assert.ok(some, `deliveries did not start: ${JSON.stringify(s.counts())}`);
      await relay.kill9();
      const before = s.counts().uniqueAlarms;
      assert.ok(before < all.length, `everything was delivered before the kill (${before}); the test proves nothing`);

      // ---- restart on the same data: the rest arrives ---------------------------------------------
      relay = await startRelay({ configYaml: yaml, dataDir, target });
      const done = await s.waitUntil(() => all.every((id) => s.firstAcceptedByAlarm.has(id)), 60_000);
      const missing = all.filter((id) => !s.firstAcceptedByAlarm.has(id));
      assert.ok(done, `${missing.length} acknowledged alarms never arrived (delivered before the kill: ${before})`);

      for (const [id, key] of zeebe) {
        const body = s.firstAcceptedByAlarm.get(id)!.body;
        assert.ok(body.includes(`"key":"${key}"`), `alarm ${id}: record key ${key} is not byte-exact in ${body.slice(0, 400)}`);
      }
      const generic0 = s.firstAcceptedByAlarm.get(generic[0]!)!.envelope!.alarm!;
      assert.equal(generic0.labels?.seq, '0');
      await relay.stop();
      assert.equal(relay.exitInfo()?.code, 0, relay.stderr().slice(-2000));
    } finally {
      await killAllRelays();
      await sink?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

for (const target of RELAY_TARGETS) {
  test(`${target}: SIGTERM stops cleanly even while a client stalls in the middle of a request body`, { timeout: 90_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), `tocsin-stall-${target}-`));
    const port = await freePort();
    let socket: Socket | undefined;
    try {
      const relay = await startRelay({ configYaml: `listen: 127.0.0.1:${port}\ndata_dir: ${JSON.stringify(dataDir)}\n`, dataDir, target });
      socket = connect(port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => socket!.once('connect', resolve).once('error', reject));
      socket.on('error', () => {}); // ECONNRESET when the relay cuts the connection: expected
      socket.write('POST /v1/alarms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na');
      await new Promise((r) => setTimeout(r, 300));
      // SIGTERM, then a generous bounded wait (connections are cut 2 s into the stop, then deliveries drain and
      // the database closes): stop() rejects, after SIGKILLing it, if the relay is still waiting for the stalled
      // body when the bound runs out. How fast it stops is the benchmark's business, not this test's.
      await relay.stop(30_000);
      assert.deepEqual(relay.exitInfo(), { code: 0, signal: null }, `exits cleanly on SIGTERM\n${relay.stderr().slice(-2000)}`);
    } finally {
      socket?.destroy();
      await killAllRelays();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
