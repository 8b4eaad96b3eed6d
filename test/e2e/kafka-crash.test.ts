/**
 * The Kafka consumer under kill -9, with the built relay (dist/tocsin) and the real broker:
 * - 10,000 alarms across 6 partitions, two relays in one group, one killed midway (and started again on
 *   its data directory, where its undelivered notifications wait): every alarm is delivered at least
 *   once, and the duplicates are reported;
 * - offsets never run ahead of the outbox: killed at random instants while it consumes, every offset the
 *   group committed is covered by alarms already in the outbox.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { freePort, killAllRelays, sinkRelayConfig, startRelay, type RelayProcess } from './relay-process.ts';
import { acceptedLabels, startWebhookSink } from './webhook-sink.ts';
import { needs } from '../support/peers.ts';
import { kafkaBootstrap, kafkaMissing } from '../support/kafka-broker.ts';
import { testKafka } from '../support/kafka-client.ts';
import { prng } from './prng.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function kafkaSection(group: string, topic: string): string {
  return ['kafka:', `  brokers: [${kafkaBootstrap()}]`, `  group_id: ${group}`, '  session_timeout: 6s', `  topics: [{ name: ${topic}, format: alarm }]`, ''].join('\n');
}

/** Alarms in the outbox of `dir` (0 before it exists). */
function stored(dir: string): number {
  try {
    const db = new Database(join(dir, 'tocsin.db'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT count(*) AS c FROM alarms').get() as { c: number }).c;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

async function relay(dataDir: string, sinkUrl: string, group: string, topic: string): Promise<RelayProcess> {
  const port = await freePort();
  return startRelay({ target: 'binary', dataDir, configYaml: sinkRelayConfig(port, dataDir, sinkUrl) + kafkaSection(group, topic) });
}

test('10,000 alarms on 6 partitions, two relays in one group, one killed with SIGKILL midway: every alarm delivered at least once', { timeout: 240_000 }, async (t) => {
  if (!needs(t, kafkaMissing())) return;
  const k = await testKafka(kafkaBootstrap()!);
  const sink = await startWebhookSink();
  const dirs = [mkdtempSync(join(tmpdir(), 'tocsin-kafka-a-')), mkdtempSync(join(tmpdir(), 'tocsin-kafka-b-'))];
  try {
    const topic = k.unique('crash');
    const group = k.unique('group');
    await k.createTopic(topic, 6);
    const N = 10_000;
    await k.produce(topic, Array.from({ length: N }, (_, i) => ({ name: 'Crash', labels: { i: String(i) } })), { partitions: 6 });
    const delivered = acceptedLabels(sink, 'i');

    let a = await relay(dirs[0]!, sink.url, group, topic);
    const b = await relay(dirs[1]!, sink.url, group, topic);
    assert.ok(await sink.waitUntil(() => delivered().size >= N / 4, 60_000), `a quarter delivered (${delivered().size})`);
    await a.kill9();
    const atKill = delivered().size;
    // The survivor takes A's partitions after the session timeout and consumes from their committed offsets.
    await sleep(2000);
    a = await relay(dirs[0]!, sink.url, group, topic);
    assert.ok(await sink.waitUntil(() => delivered().size === N, 120_000), `all ${N} delivered (${delivered().size})`);
    const counts = sink.counts();
    t.diagnostic(`killed after ${atKill} alarms delivered; ${counts.accepted} deliveries of ${N} alarms: ${counts.accepted - N} duplicates`);
    assert.ok(counts.accepted >= N);
    await a.stop();
    await b.stop();
    assert.equal(a.exitInfo()?.code, 0);
    assert.equal(b.exitInfo()?.code, 0);
  } finally {
    await killAllRelays();
    await sink.close();
    await k.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

test('offsets never run ahead of the outbox: killed with SIGKILL at random instants, every committed offset is covered by stored alarms', { timeout: 240_000 }, async (t) => {
  if (!needs(t, kafkaMissing())) return;
  const k = await testKafka(kafkaBootstrap()!);
  // A slow receiver keeps the relay busy while it consumes.
  const sink = await startWebhookSink({ behavior: () => ({ status: 200, delayMs: 5 }) });
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-kafka-o-'));
  const random = prng(11);
  try {
    const topic = k.unique('offsets');
    const group = k.unique('group');
    await k.createTopic(topic, 3);
    const N = 30_000;
    await k.produce(topic, Array.from({ length: N }, (_, i) => ({ name: 'Offsets', labels: { i: String(i) } })), { partitions: 3 });
    const sum = (m: Map<number, bigint>) => [...m.values()].reduce((n, o) => n + (o > 0n ? o : 0n), 0n);
    let rounds = 0;
    for (; rounds < 6; rounds++) {
      const r = await relay(dir, sink.url, group, topic);
      // Killed mid-stream: as soon as the outbox or the committed offsets moved (polled every 10 ms; a
      // batch lands in the outbox in one transaction, and its offset is committed after: this often
      // kills in between), or after 10 s.
      const before = [stored(dir), sum(await k.committed(group, topic))] as const;
      const end = Date.now() + 10_000;
      while (Date.now() < end && r.exitInfo() === undefined && stored(dir) === before[0] && sum(await k.committed(group, topic)) === before[1]) await sleep(10);
      await sleep(random() * 20);
      await r.kill9();
      const committed = await k.committed(group, topic);
      const db = new Database(join(dir, 'tocsin.db'), { readonly: true });
      try {
        const has = db.prepare('SELECT 1 FROM idempotency_keys WHERE key = ?');
        for (const [partition, offset] of committed) {
          // Every message before the committed offset has its alarm in the outbox (the newest is enough:
          // a partition is consumed in order, and each batch is one transaction).
          if (offset <= 0n) continue;
          const key = `n:generic:kafka:${topic}:${partition}:${offset - 1n}:0`;
          assert.ok(has.get(key), `partition ${partition}: offset ${offset} committed, but the alarm of ${offset - 1n} is not in the outbox`);
        }
      } finally {
        db.close();
      }
      const total = sum(committed);
      t.diagnostic(`round ${rounds + 1}: ${stored(dir)} alarms stored, ${total} of ${N} offsets committed`);
      if (total >= BigInt(N)) break;
    }
    const last = await relay(dir, sink.url, group, topic);
    const delivered = acceptedLabels(sink, 'i');
    assert.ok(await sink.waitUntil(() => delivered().size === N, 120_000), `all ${N} delivered after the kills (${delivered().size})`);
    await last.stop();
  } finally {
    await killAllRelays();
    await sink.close();
    await k.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
