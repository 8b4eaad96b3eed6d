/**
 * The Kafka consumer's start and stop, against the real broker, in-process:
 * - brokers unreachable at start: the relay starts anyway (HTTP ingest works, /readyz reports why), and
 *   once they answer, the consumer, its producer (dead-letter topic) and everything else work;
 * - a stop in the middle of a stream commits every batch whose alarms are in the outbox (none is left
 *   stored but uncommitted, to be consumed again by the next member).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createHarness, type Harness } from './app-harness.ts';
import { freePort } from './relay-process.ts';
import { needs } from '../support/peers.ts';
import { kafkaBootstrap, kafkaMissing } from '../support/kafka-broker.ts';
import { testKafka } from '../support/kafka-client.ts';

async function until(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A TCP relay on `port` to the broker (bootstrap only: the broker's metadata names its own address). */
function proxy(port: number, to: string): Promise<{ close(): Promise<void> }> {
  const [host, target] = [to.slice(0, to.lastIndexOf(':')), Number(to.slice(to.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s)).on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      }),
    ),
  );
}

test('brokers unreachable at start: the relay serves; once they answer, consuming and the dead-letter producer work', { timeout: 90_000 }, async (t) => {
  if (!needs(t, kafkaMissing())) return;
  const k = await testKafka(kafkaBootstrap()!);
  const port = await freePort();
  let h: Harness | undefined;
  let p: { close(): Promise<void> } | undefined;
  try {
    const topic = k.unique('late');
    const dlt = k.unique('late-dead');
    const group = k.unique('group');
    await k.createTopic(topic, 1);
    await k.createTopic(dlt, 1);
    await k.produce(topic, ['not json', { name: 'Late' }]);
    const yaml = ['kafka:', `  brokers: [127.0.0.1:${port}]`, `  group_id: ${group}`, `  topics: [{ name: ${topic}, format: alarm }]`, `  dead_letter_topic: ${dlt}`].join('\n');
    h = await createHarness({ yaml, start: true });
    const harness = h;
    await until(() => harness.logger.records.some((r) => r.msg === 'Kafka consumer could not start; trying again'), 30_000, 'a failed start');
    const ready = (await h.get('/readyz')).json;
    assert.equal(ready.status, 'ready', 'HTTP ingest does not wait for Kafka');
    assert.match(ready.checks.kafka, /^cannot reach the Kafka brokers/);
    assert.equal((await h.post('/v1/alarms', { name: 'OverHttp' })).status, 202);

    p = await proxy(port, kafkaBootstrap()!);
    await until(() => harness.lines.length >= 2, 60_000, 'the Kafka alarm delivered once the brokers answer');
    const dead = await k.readAll(dlt, 1);
    assert.equal(dead[0]?.value, 'not json', 'the producer connected on a later start works');
    await until(async () => (await k.committed(group, topic)).get(0) === 2n, 10_000, 'the offset committed');
    assert.equal((await h.get('/readyz')).json.checks.kafka, 'ok');
  } finally {
    await h?.cleanup();
    await p?.close();
    await k.close();
  }
});

test('a stop in the middle of a stream commits every batch it stored: committed offset = alarms in the outbox', { timeout: 120_000 }, async (t) => {
  if (!needs(t, kafkaMissing())) return;
  const k = await testKafka(kafkaBootstrap()!);
  try {
    const topic = k.unique('stop');
    await k.createTopic(topic, 1);
    const N = 3000;
    // Large messages make small batches (kafkajs fetches about 1 MB per partition): many batches.
    await k.produce(topic, Array.from({ length: N }, (_, i) => ({ name: 'Stop', description: 'x'.repeat(4000), labels: { i: String(i) } })), { chunk: 100 });
    let midStream = 0;
    for (let round = 0; round < 4 && midStream === 0; round++) {
      const group = k.unique('group');
      const h = await createHarness({ yaml: ['kafka:', `  brokers: [${kafkaBootstrap()}]`, `  group_id: ${group}`, `  topics: [{ name: ${topic}, format: alarm }]`].join('\n'), start: true });
      try {
        await until(() => h.count('alarms') > 0, 30_000, 'the first batch stored');
        await h.app.stop();
        const stored = h.count('alarms');
        const committed = (await k.committed(group, topic)).get(0) ?? -1n;
        assert.equal(committed, BigInt(stored), `stopped with ${stored} alarms stored: each of their offsets is committed`);
        if (stored < N) midStream++;
        t.diagnostic(`round ${round + 1}: stopped after ${stored} of ${N}`);
      } finally {
        await h.cleanup();
      }
    }
    assert.ok(midStream > 0, 'one of the stops came in the middle of the stream');
  } finally {
    await k.close();
  }
});
