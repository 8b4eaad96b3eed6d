import { test } from 'node:test';
import assert from 'node:assert/strict';
import Registry from 'prom-client/lib/registry.js';
import { kafkaMetrics } from './metrics.ts';

test('messages by outcome; lag per partition until released; what the acceptor never sees is passed on', async () => {
  const registry = new Registry();
  const passed: unknown[][] = [];
  const k = kafkaMetrics(registry, {
    rejected: (topic, n) => void passed.push(['rejected', topic, n]),
    skipped: (topic, reason, n) => void passed.push(['skipped', topic, reason, n]),
  });
  k.messages('alarms', 'accepted', 5);
  k.messages('alarms', 'unparseable', 2);
  k.messages('alarms', 'skipped_ttl', 3);
  k.messages('alarms', 'skipped_actions_disabled', 1);
  k.messages('alarms', 'dropped', 1);
  k.lag('alarms', 0, 7);
  k.lag('alarms', 1, 0);
  k.released('alarms', 1);
  const text = await registry.metrics();
  const lines = (name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));
  assert.deepEqual(lines('tocsin_kafka_messages_total'), [
    'tocsin_kafka_messages_total{topic="alarms",outcome="accepted"} 5',
    'tocsin_kafka_messages_total{topic="alarms",outcome="unparseable"} 2',
    'tocsin_kafka_messages_total{topic="alarms",outcome="skipped_ttl"} 3',
    'tocsin_kafka_messages_total{topic="alarms",outcome="skipped_actions_disabled"} 1',
    'tocsin_kafka_messages_total{topic="alarms",outcome="dropped"} 1',
  ]);
  assert.deepEqual(lines('tocsin_kafka_consumer_lag'), ['tocsin_kafka_consumer_lag{topic="alarms",partition="0"} 7']);
  assert.deepEqual(passed, [['rejected', 'alarms', 2], ['skipped', 'alarms', 'ttl', 3]]);
});
