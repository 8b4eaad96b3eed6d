/**
 * Kafka helpers for tests against the real broker (scripts/kafka): unique topic and group names, topic
 * creation, producing, reading committed offsets and high watermarks, and reading a topic back.
 */
import { Kafka, logLevel, Partitioners, type IHeaders } from 'kafkajs';
import { randomBytes } from 'node:crypto';

export interface TestKafka {
  readonly kafka: Kafka;
  /** `prefix-<random>`: a name no other test uses. */
  unique(prefix: string): string;
  createTopic(topic: string, partitions: number): Promise<void>;
  /** Produces the values (strings, or objects as JSON) round-robin over `partitions` partitions, or by key. */
  produce(topic: string, values: readonly unknown[], opts?: { partitions?: number; headers?: IHeaders; chunk?: number }): Promise<void>;
  /** The group's committed offset per partition (-1: none). */
  committed(group: string, topic: string): Promise<Map<number, bigint>>;
  /** The high watermark per partition. */
  highs(topic: string): Promise<Map<number, bigint>>;
  /** Every message of a topic (value text and headers), read with a group of its own, waiting until `count` arrived (or the timeout). */
  readAll(topic: string, count: number, timeoutMs?: number): Promise<{ value: string; headers: Record<string, string> }[]>;
  close(): Promise<void>;
}

export async function testKafka(bootstrap: string): Promise<TestKafka> {
  const kafka = new Kafka({ clientId: 'tocsin-test', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  return {
    kafka,
    unique: (prefix) => `${prefix}-${randomBytes(5).toString('hex')}`,
    async createTopic(topic, partitions) {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
    },
    async produce(topic, values, opts = {}) {
      const n = opts.partitions ?? 1;
      // One send is one request: the brokers refuse one over message.max.bytes (1 MB).
      const CHUNK = opts.chunk ?? 1000;
      for (let i = 0; i < values.length; i += CHUNK) {
        await producer.send({
          topic,
          acks: -1,
          messages: values.slice(i, i + CHUNK).map((v, j) => ({
            partition: (i + j) % n,
            value: typeof v === 'string' ? v : JSON.stringify(v),
            ...(opts.headers && { headers: opts.headers }),
          })),
        });
      }
    },
    async committed(group, topic) {
      const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return new Map((t?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    },
    async highs(topic) {
      return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
    },
    async readAll(topic, count, timeoutMs = 20_000) {
      const consumer = kafka.consumer({ groupId: `reader-${randomBytes(5).toString('hex')}`, sessionTimeout: 6000, heartbeatInterval: 1000 });
      const out: { value: string; headers: Record<string, string> }[] = [];
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          void consumer.run({
            eachMessage: async ({ message }) => {
              const headers: Record<string, string> = {};
              for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(Array.isArray(v) ? v[0] : v);
              out.push({ value: message.value?.toString('utf8') ?? '', headers });
              if (out.length >= count) {
                clearTimeout(timer);
                resolve();
              }
            },
          });
        });
      } finally {
        await consumer.disconnect();
      }
      return out;
    },
    async close() {
      await producer.disconnect();
      await admin.disconnect();
    },
  };
}
