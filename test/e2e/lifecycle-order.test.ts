/**
 * The lifecycle's ordering promise end to end: for every alarm (dedup key) the receiver sees its state
 * changes in the order they were accepted, a resolved never before its firing, and ends on the last
 * accepted state, while the receiver fails at random and the relay is SIGKILLed and restarted.
 *
 * 1,000 keys each get a random sequence of firing/resolved occurrences, posted in rounds (the n-th
 * occurrence of every key in round n, as batches). Between two rounds, while deliveries are under way,
 * the relay is killed (kill -9) and restarted on the same data_dir. Reproduce a run with
 * ORDER_SEED=<seed printed by the run>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killAllRelays, sinkRelayConfig, startRelay, type RelayProcess } from './relay-process.ts';
import { flakyBehavior, startWebhookSink, type WebhookSink } from './webhook-sink.ts';
import { prng } from './prng.ts';

const KEYS = 1000;
const MAX_SEQUENCE = 6;
const BATCH = 100;
const DELIVERY_WAIT_MS = 90_000;

type Status = 'firing' | 'resolved';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What the relay notifies for a sequence of accepted states: the changes, without a leading resolved. */
function expectedNotifications(seq: readonly Status[]): Status[] {
  const out: Status[] = [];
  let last: Status | undefined;
  for (const s of seq) {
    if (s === last) continue;
    if (last === undefined && s === 'resolved') {
      last = s;
      continue;
    }
    out.push(s);
    last = s;
  }
  return out;
}

/** Consecutive repeats collapsed (a notification delivered twice, at least once, is one). */
function collapse(seq: readonly Status[]): Status[] {
  return seq.filter((s, i) => i === 0 || seq[i - 1] !== s);
}

async function post(relay: RelayProcess, alarms: unknown[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(`${relay.baseUrl}/v1/alarms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alarms),
        signal: AbortSignal.timeout(10_000),
      });
      await res.text();
      if (res.status === 202 || res.status === 200) return;
      if (res.status !== 503 || attempt > 50) throw new Error(`POST answered ${res.status}`);
    } catch (e) {
      if (attempt > 50) throw e;
    }
    await sleep(100);
  }
}

test('firing/resolved order per key holds across random receiver failures and kill -9 (1,000 keys)', { timeout: 240_000 }, async (t) => {
  const seed = process.env.ORDER_SEED ? Number(process.env.ORDER_SEED) >>> 0 : randomInt(2 ** 31);
  t.diagnostic(`seed ${seed} (rerun with ORDER_SEED=${seed})`);
  const rng = prng(seed);
  const sequences = Array.from({ length: KEYS }, () =>
    Array.from({ length: 1 + Math.floor(rng() * MAX_SEQUENCE) }, (): Status => (rng() < 0.5 ? 'firing' : 'resolved')),
  );
  const killAfterRound = 1 + Math.floor(rng() * 2);
  const dataDir = mkdtempSync(join(tmpdir(), 'tocsin-order-'));
  let sink: WebhookSink | undefined;
  let relay: RelayProcess | undefined;
  try {
    sink = await startWebhookSink({ behavior: flakyBehavior(prng(seed ^ 0x9e3779b9), { http500: 0.1, http503: 0.05, slow: 0.02, slowMs: [50, 400], drop: 0.02 }) });
    const port = await freePort();
    const yaml = sinkRelayConfig(port, dataDir, sink.url, { max_attempts: '1000', timeout: '2s' });
    relay = await startRelay({ configYaml: yaml, dataDir });
    /** Once deliveries are under way (some failing, some in flight): kill -9, then start again. */
    const killWhileDelivering = async (r: RelayProcess, when: string): Promise<RelayProcess> => {
      const from = sink!.counts().accepted;
      await sink!.waitUntil(() => sink!.counts().accepted >= from + 50, 10_000);
      await sleep(Math.floor(rng() * 200));
      await r.kill9();
      t.diagnostic(`killed ${when} with ${sink!.counts().accepted} deliveries accepted`);
      return startRelay({ configYaml: yaml, dataDir });
    };
    const key = (i: number) => `k${String(i).padStart(4, '0')}`;
    for (let round = 0; round < MAX_SEQUENCE; round++) {
      const alarms = sequences.flatMap((seq, i) => (round < seq.length ? [{ name: 'OrderTest', labels: { key: key(i) }, status: seq[round] }] : []));
      for (let b = 0; b < alarms.length; b += BATCH) await post(relay, alarms.slice(b, b + BATCH));
      if (round === killAfterRound) relay = await killWhileDelivering(relay, `after round ${round}`);
    }
    // And once more while the rest drains.
    relay = await killWhileDelivering(relay, 'while draining');
    const expected = new Map(sequences.map((seq, i) => [key(i), expectedNotifications(seq)] as const));
    const total = [...expected.values()].reduce((n, e) => n + e.length, 0);
    const deliveredByKey = () => {
      const by = new Map<string, Status[]>();
      for (const r of sink!.requests) {
        if (!r.accepted) continue;
        const alarm = r.envelope?.alarm;
        const k = alarm?.labels?.key;
        if (k === undefined) continue;
        by.set(k, [...(by.get(k) ?? []), alarm!.status as Status]);
      }
      return by;
    };
    const done = () => {
      const by = deliveredByKey();
      for (const [k, e] of expected) if (collapse(by.get(k) ?? []).length < e.length) return false;
      return true;
    };
    assert.ok(await sink.waitUntil(done, DELIVERY_WAIT_MS), `not every state change was delivered within ${DELIVERY_WAIT_MS} ms (seed ${seed})`);
    const by = deliveredByKey();
    let checked = 0;
    for (const [k, e] of expected) {
      const got = collapse(by.get(k) ?? []);
      assert.deepEqual(got, e, `key ${k}: accepted ${JSON.stringify(sequences[Number(k.slice(1))])}, delivered in this order (seed ${seed})`);
      if (e.length > 0) assert.equal(got[got.length - 1], sequences[Number(k.slice(1))]!.at(-1), `key ${k}: the last delivered state is the last accepted one`);
      checked++;
    }
    assert.equal(checked, KEYS);
    t.diagnostic(`${total} state changes over ${KEYS} keys delivered in order; ${sink.counts().failed} failed attempts, ${sink.counts().duplicates} duplicates`);
  } finally {
    await relay?.stop().catch(() => undefined);
    await killAllRelays();
    await sink?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
