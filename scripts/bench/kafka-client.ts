/**
 * The Kafka side of the Kafka benchmark (scripts/bench-kafka.ts), with kafkajs: the broker of
 * scripts/kafka (started through scripts/kafka-peer.mjs when it is not running, stopped after only if
 * started here), a topic of its own filled before the relays start, and what the broker says of the
 * consumer group meanwhile: its state and members, and its lag (high watermarks − committed offsets).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import { now, root } from './common.ts';

/** scripts/kafka-peer.mjs (plain JavaScript, no declarations: typed here). */
interface KafkaPeer {
  startKafkaForSuite(): { bootstrap?: string; startedHere: boolean; error?: string };
  stopKafkaIfStarted(startedHere: boolean): void;
}

const peer = async (): Promise<KafkaPeer> => (await import(new URL('../kafka-peer.mjs', import.meta.url).href)) as KafkaPeer;

/** The broker of scripts/kafka: the one running, or one started now (`startedHere`). Throws when there is none. */
export async function startBroker(): Promise<{ bootstrap: string; startedHere: boolean }> {
  const r = (await peer()).startKafkaForSuite();
  if (r.bootstrap === undefined) throw new Error(`no Kafka broker: ${r.error ?? 'scripts/kafka gave no address'}`);
  return { bootstrap: r.bootstrap, startedHere: r.startedHere };
}

/** Stops the broker only if startBroker started it. */
export async function stopBroker(startedHere: boolean): Promise<void> {
  (await peer()).stopKafkaIfStarted(startedHere);
}

/** The Kafka version scripts/kafka runs, and kafkajs' own. */
export function kafkaVersions(): { broker: string; kafkajs: string } {
  const script = readFileSync(join(root, 'scripts', 'kafka'), 'utf8');
  const pkg = JSON.parse(readFileSync(join(root, 'node_modules', 'kafkajs', 'package.json'), 'utf8')) as { version: string };
  return { broker: `Kafka ${/KAFKA_VERSION=(\S+)/.exec(script)?.[1] ?? '?'} (scripts/kafka, single-node KRaft)`, kafkajs: pkg.version };
}

export function benchKafka(bootstrap: string): Kafka {
  return new Kafka({ clientId: 'tocsin-bench', brokers: [bootstrap], logLevel: logLevel.ERROR, retry: { retries: 5 } });
}

/** Creates `topic` with `partitions` partitions and waits for their leaders. */
export async function createTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true, timeout: 30_000 });
  if (!created) throw new Error(`topic ${topic} exists already`);
}

export interface ProduceResult {
  readonly messages: number;
  readonly ms: number;
  readonly per_sec: number;
  /** Messages per partition once produced (high watermarks). */
  readonly per_partition: number[];
}

/**
 * Produces `total` alarms in tocsin's `alarm` format, one per message (`{"name":"BenchAlarm","labels":{"i":"<n>","phase":…}}`,
 * n = 0 … total−1), in sends of `batch` messages, `inFlight` sends at a time, keyless (kafkajs' default
 * partitioner spreads them round robin over the partitions), every send acknowledged by all in-sync replicas.
 */
export async function produceAlarms(kafka: Kafka, admin: Admin, topic: string, total: number, batch: number, phase: string, inFlight = 4): Promise<ProduceResult> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  const t0 = now();
  try {
    let next = 0;
    const worker = async () => {
      while (next < total) {
        const from = next;
        const to = Math.min(total, from + batch);
        next = to;
        const messages = [];
        for (let i = from; i < to; i++) messages.push({ value: `{"name":"BenchAlarm","labels":{"i":"${i}","phase":"${phase}"}}` });
        await producer.send({ topic, acks: -1, messages });
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
  } finally {
    await producer.disconnect();
  }
  const ms = now() - t0;
  const offsets = await admin.fetchTopicOffsets(topic);
  const per_partition = offsets.sort((a, b) => a.partition - b.partition).map((o) => Number(o.high) - Number(o.low));
  const stored = per_partition.reduce((a, b) => a + b, 0);
  if (stored !== total) throw new Error(`produced ${total} messages but the topic holds ${stored}`);
  return { messages: total, ms: Math.round(ms), per_sec: Math.round(total / (ms / 1000)), per_partition };
}

/** The group's lag on `topic`: Σ over partitions of high watermark − committed offset (the low watermark when none is committed). */
export async function groupLag(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [highs, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const done = new Map((committed.find((t) => t.topic === topic)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  let lag = 0;
  for (const h of highs) {
    const c = done.get(h.partition) ?? -1;
    lag += Number(h.high) - (c >= 0 ? c : Number(h.low));
  }
  return lag;
}

/** The group's state (`Stable`, `PreparingRebalance`, `Empty`, …) and how many members it has. */
export async function groupState(admin: Admin, groupId: string): Promise<{ state: string; members: number }> {
  const { groups } = await admin.describeGroups([groupId]);
  const g = groups.find((x) => x.groupId === groupId);
  return { state: g?.state ?? 'Unknown', members: g?.members.length ?? 0 };
}

/** Deletes the benchmark's topics and groups (a shared broker keeps nothing of a run); failures are only reported. */
export async function cleanUp(admin: Admin, topics: string[], groups: string[]): Promise<void> {
  if (groups.length > 0) await admin.deleteGroups(groups).catch((e: Error) => console.error(`could not delete the groups ${groups.join(', ')}: ${e.message}`));
  if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 }).catch((e: Error) => console.error(`could not delete the topics ${topics.join(', ')}: ${e.message}`));
}
