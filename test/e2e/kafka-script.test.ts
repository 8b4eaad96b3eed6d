/**
 * scripts/kafka, the single-node Kafka broker of the tests and benchmarks: the broker the runner started
 * answers on the bootstrap address it printed. A new 6-partition topic takes 100 keyed messages (spread
 * over all 6 partitions) and a new consumer group reads every one of them back; `scripts/kafka status`
 * names the same address.
 *
 * Needs the broker (TOCSIN_TEST_KAFKA, see test/support/kafka-broker.ts): scripts/run-tests.mjs starts it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin, type Consumer, type LogEntry, type Producer } from 'kafkajs';
import { kafkaBootstrap, kafkaMissing } from '../support/kafka-broker.ts';
import { needs } from '../support/peers.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/kafka', import.meta.url));
const PARTITIONS = 6;
const MESSAGES = 100;

test('scripts/kafka: its broker takes a 6-partition topic, 100 messages produced are all consumed, and status names it', { timeout: 30_000 }, async (t) => {
  if (!needs(t, kafkaMissing())) return;
  const bootstrap = kafkaBootstrap()!;
  const port = bootstrap.slice(bootstrap.lastIndexOf(':') + 1);

  // `status` of the broker on that port (the same runtime directory as the runner's `start`).
  const status = spawnSync(SCRIPT, ['status'], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, TOCSIN_KAFKA_PORT: port } });
  assert.equal(status.status, 0, `scripts/kafka status: exit ${status.status}\n${status.stdout}${status.stderr}`);
  assert.match(status.stdout.trim(), new RegExp(`^running ${bootstrap.replaceAll('.', '\\.')} \\(pid \\d+\\)$`));

  // kafkajs' own log lines are kept for the failure message rather than printed: on a fresh broker the
  // first consumer group meets "coordinator is loading" (retried) while __consumer_offsets is created.
  const logs: string[] = [];
  const kafka = new Kafka({
    clientId: 'tocsin-kafka-script-test',
    brokers: [bootstrap],
    connectionTimeout: 3000,
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      logs.push(`${entry.label} [${entry.namespace}] ${entry.log.message}${entry.log.error ? `: ${String(entry.log.error)}` : ''}`);
    },
  });
  const context = () => `kafkajs said:\n${logs.slice(-20).join('\n')}`;
  const id = randomUUID();
  const topic = `tocsin-kafka-script-${id}`;
  const groupId = `tocsin-kafka-script-${id}`;
  let admin: Admin | undefined;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    admin = kafka.admin();
    await admin.connect();
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true }), true, context());
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(metadata.topics[0]?.partitions.length, PARTITIONS);

    producer = kafka.producer();
    await producer.connect();
    const sent = Array.from({ length: MESSAGES }, (_, i) => ({ key: `key-${i}`, value: `message ${i} of ${id}` }));
    await producer.send({ topic, messages: sent });

    consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = new Map<string, number>();
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`consumed ${received.size} of ${MESSAGES} messages in 15 s\n${context()}`)), 15_000);
      consumer!
        .run({
          eachMessage: async ({ partition, message }) => {
            received.set(message.value?.toString() ?? '', partition);
            if (received.size === MESSAGES) resolve();
          },
        })
        .catch(reject);
    });
    assert.deepEqual([...received.keys()].sort(), sent.map((m) => m.value).sort());
    assert.equal(new Set(received.values()).size, PARTITIONS, `the 100 keys spread over every partition: ${[...new Set(received.values())].sort().join(',')}`);
  } finally {
    clearTimeout(timer);
    await consumer?.disconnect().catch(() => {});
    await producer?.disconnect().catch(() => {});
    // The broker's data outlives the run: leave neither the topic nor the group behind.
    await admin?.deleteGroups([groupId]).catch(() => {});
    await admin?.deleteTopics({ topics: [topic], timeout: 5000 }).catch(() => {});
    await admin?.disconnect().catch(() => {});
  }
});
