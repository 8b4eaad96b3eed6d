/**
 * Cluster mode (`durability: cluster`) with the built relay and the real broker: the receiver is down,
 * so every notification fails and waits on the retry topic; one of two relays is killed with SIGKILL
 * and its data directory deleted; once the receiver is back, the survivor delivers every alarm.
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
import { testKafka, type TestKafka } from '../support/kafka-client.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Undelivered notifications in the outbox of `dir`. */
function pendingIn(dir: string): number {
  const db = new Database(join(dir, 'tocsin.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT count(*) AS c FROM notifications WHERE state != 'dead'").get() as { c: number }).c;
  } finally {
    db.close();
  }
}

async function allCommitted(k: TestKafka, group: string, topic: string): Promise<boolean> {
  const [done, highs] = await Promise.all([k.committed(group, topic), k.highs(topic)]);
  return [...highs].every(([p, high]) => high === 0n || done.get(p) === high);
}

test('cluster mode: receiver down, one of two relays killed with SIGKILL and its data dir deleted, receiver back → the survivor delivers every alarm', { timeout: 240_000 }, async (t) => {
  if (!needs(t, kafkaMissing())) return;
  const k = await testKafka(kafkaBootstrap()!);
  const sink = await startWebhookSink({ behavior: () => 503 });
  const dirs = [mkdtempSync(join(tmpdir(), 'tocsin-cluster-a-')), mkdtempSync(join(tmpdir(), 'tocsin-cluster-b-'))];
  const relays: RelayProcess[] = [];
  try {
    const topic = k.unique('cluster');
    const retry = k.unique('retry');
    const group = k.unique('group');
    await k.createTopic(topic, 6);
    await k.createTopic(retry, 6);
    const kafka = [
      'kafka:',
      `  brokers: [${kafkaBootstrap()}]`,
      `  group_id: ${group}`,
      '  session_timeout: 6s',
      `  topics: [{ name: ${topic}, format: alarm }]`,
      '  durability: cluster',
      `  retry_topic: ${retry}`,
      '',
    ].join('\n');
    const start = async (dir: string) =>
      startRelay({
        target: 'binary',
        dataDir: dir,
        configYaml: sinkRelayConfig(await freePort(), dir, sink.url, { backoff_base: '300ms', backoff_cap: '2s', max_attempts: '1000', max_age: '1h' }) + kafka,
      });
    relays.push(await start(dirs[0]!));
    relays.push(await start(dirs[1]!));
    const N = 600;
    await k.produce(topic, Array.from({ length: N }, (_, i) => ({ name: 'Cluster', labels: { i: String(i) } })), { partitions: 6 });

    // Every source message is committed once its notification failed and is on the retry topic.
    const end = Date.now() + 60_000;
    while (!(await allCommitted(k, group, topic))) {
      assert.ok(Date.now() < end, 'the source offsets were not all committed while the receiver was down');
      await sleep(200);
    }
    const onRetry = [...(await k.highs(retry)).values()].reduce((a, b) => a + b, 0n);
    assert.ok(onRetry >= BigInt(N), `at least ${N} records on the retry topic (${onRetry})`);
    assert.equal(acceptedLabels(sink, 'i')().size, 0, 'nothing delivered yet');

    // One instance is lost for good, with its disk, while notifications wait in it.
    await relays[0]!.kill9();
    const waiting = pendingIn(dirs[0]!);
    assert.ok(waiting > 0, 'the killed instance held notifications (taken from the retry topic) when it died');
    rmSync(dirs[0]!, { recursive: true, force: true });
    sink.setBehavior(() => 200);
    const delivered = acceptedLabels(sink, 'i');
    if (!(await sink.waitUntil(() => delivered().size === N, 60_000))) {
      const missing = Array.from({ length: N }, (_, i) => String(i)).filter((i) => !delivered().has(i));
      assert.fail(`all ${N} delivered by the survivor (${delivered().size}); missing ${missing.slice(0, 20).join(',')}; survivor holds ${pendingIn(dirs[1]!)}\n--- survivor's log ---\n${relays[1]!.stderr().slice(-3000)}`);
    }
    const counts = sink.counts();
    t.diagnostic(`${N} alarms, ${counts.accepted} deliveries accepted: ${counts.accepted - N} duplicates; ${onRetry} retry records while the receiver was down; ${waiting} notifications lost with the killed instance's disk`);
    await relays[1]!.stop();
    assert.equal(relays[1]!.exitInfo()?.code, 0);
  } finally {
    await killAllRelays();
    await sink.close();
    await k.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
