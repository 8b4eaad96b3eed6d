/**
 * The heartbeat canary through Kafka (`via: kafka`), against the real broker, in-process: each run
 * produces its alarm to the topic, the relay's consumer takes it (to the canary's methods, not the
 * routes) and the check is pinged; a stalled consumer (its partitions paused by backpressure) fails the
 * run and pings /fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, type Harness } from './app-harness.ts';
import { needs } from '../support/peers.ts';
import { kafkaBootstrap, kafkaMissing } from '../support/kafka-broker.ts';
import { testKafka } from '../support/kafka-client.ts';
import { startFakeHealthchecks } from '../support/fake-healthchecks.ts';

const UUID = '0b5f3e1a-8d2b-4c7e-9a10-2b3c4d5e6f70';

test('canary via kafka: produced, consumed, delivered to its methods only, pinged; a stalled consumer fails the run with /fail', { timeout: 90_000 }, async (t) => {
  if (!needs(t, kafkaMissing())) return;
  const k = await testKafka(kafkaBootstrap()!);
  const hc = await startFakeHealthchecks({ checks: [{ uuid: UUID }] });
  let h: Harness | undefined;
  try {
    const topic = k.unique('canary');
    await k.createTopic(topic, 2);
    const yaml = [
      // Every other alarm goes to a receiver that is down: its notifications stay pending.
      'methods: { down: { type: webhook, url: "http://127.0.0.1:9/down", backoff_base: 10s, backoff_cap: 10s } }',
      'routes: [{ methods: [down] }]',
      'delivery: { poll_interval: 100ms }',
      'ingest: { max_pending: 3 }',
      'kafka:',
      `  brokers: [${kafkaBootstrap()}]`,
      `  group_id: ${k.unique('group')}`,
      `  topics: [{ name: ${topic}, format: alarm }]`,
      'canaries:',
      '  path:',
      '    interval: 2s',
      '    max_latency: 5s',
      '    methods: [log]',
      `    ping_url: ${JSON.stringify(hc.url(0))}`,
      '    via: kafka',
    ].join('\n');
    h = await createHarness({ yaml, start: true });
    const harness = h;
    const success = () => hc.pings.filter((p) => p.kind === 'success' && p.accepted).length;
    assert.ok(await hc.waitUntil(() => success() >= 2, 30_000), `two successful runs (${JSON.stringify(hc.pings.map((p) => p.kind))})`);
    // The canary alarm came through Kafka: the message is in the topic, and its alarm went to `log` only.
    const messages = await k.readAll(topic, 1);
    assert.equal(messages[0]?.headers['tocsin-canary'], 'path');
    assert.ok(harness.lines.length >= 2, 'the log method printed the canary notifications');
    const printed = JSON.parse(harness.lines[0]!) as { alarm: { source: string; name: string; labels: Record<string, string> } };
    assert.equal(printed.alarm.source, 'canary');
    assert.equal(printed.alarm.labels.tocsin_canary, 'path');
    assert.equal(harness.count('notifications'), 0, 'nothing went to the routes\' method');

    // Stall the consumer: three alarms for the dead receiver fill ingest.max_pending, so the partitions pause.
    await k.produce(topic, [{ name: 'A' }, { name: 'B' }, { name: 'C' }], { partitions: 2 });
    const fails = () => hc.pings.filter((p) => p.kind === 'fail');
    assert.ok(await hc.waitUntil(() => fails().length >= 1, 40_000), 'a failed run pinged /fail');
    assert.match(fails()[0]!.body, /injection/i, fails()[0]!.body);
    assert.match((await harness.get('/readyz')).text, /"canary\.path":"failing/);
    assert.deepEqual(hc.violations, []);
  } finally {
    await h?.cleanup();
    await hc.close();
    await k.close();
  }
});
