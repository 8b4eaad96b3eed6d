/**
 * @module kafka/metrics
 * The Kafka consumer's metrics, in the app's registry: messages by outcome, consumer lag per partition,
 * paused partitions, and rebalances. Messages the acceptor never sees (unparseable ones, and those their
 * format drops) can be passed on to the app's ingest metrics (and so to StatsD) through `ingest`.
 */
import Counter from 'prom-client/lib/counter.js';
import Gauge from 'prom-client/lib/gauge.js';
import type Registry from 'prom-client/lib/registry.js';
import type { MessageOutcome } from './batch.ts';
import type { SkipReason } from '../ingest/types.ts';

/** The app's ingest metrics, for the messages that never reach the acceptor (by topic). */
export interface KafkaIngestHooks {
  /** Unparseable messages: rejected as invalid. */
  rejected(topic: string, n: number): void;
  /** Messages the format dropped (older than the TTL, an ignored state, invalid items). */
  skipped(topic: string, reason: SkipReason, n: number): void;
}

export interface KafkaObserver {
  messages(topic: string, outcome: MessageOutcome, n: number): void;
  lag(topic: string, partition: number, lag: number): void;
  /** A partition this instance no longer holds: its lag is someone else's now. */
  released(topic: string, partition: number): void;
  paused(n: number): void;
  rebalanced(): void;
}

export function kafkaMetrics(registry: Registry, ingest?: KafkaIngestHooks): KafkaObserver {
  const registers = [registry];
  const messages = new Counter({
    name: 'tocsin_kafka_messages_total',
    help: 'Kafka messages consumed, by outcome: accepted, unparseable, dropped, skipped_ttl, skipped_undetermined, skipped_actions_disabled',
    labelNames: ['topic', 'outcome'],
    registers,
  });
  const lag = new Gauge({ name: 'tocsin_kafka_consumer_lag', help: 'Messages of a partition this instance holds that are not committed yet (high watermark - committed offset)', labelNames: ['topic', 'partition'], registers });
  const paused = new Gauge({ name: 'tocsin_kafka_paused_partitions', help: 'Partitions paused: the outbox is over ingest.max_pending, or the database cannot be written', registers });
  const rebalances = new Counter({ name: 'tocsin_kafka_rebalances_total', help: 'Times this instance joined its consumer group (each rebalance)', registers });
  return {
    messages(topic, outcome, n) {
      messages.inc({ topic, outcome }, n);
      if (!ingest) return;
      if (outcome === 'unparseable') ingest.rejected(topic, n);
      // actions_disabled messages are accepted (recorded quietly): the acceptor reports those.
      else if (outcome.startsWith('skipped_') && outcome !== 'skipped_actions_disabled') ingest.skipped(topic, outcome.slice('skipped_'.length) as SkipReason, n);
    },
    lag: (topic, partition, n) => lag.set({ topic, partition: String(partition) }, n),
    released: (topic, partition) => lag.remove({ topic, partition: String(partition) }),
    paused: (n) => paused.set(n),
    rebalanced: () => rebalances.inc(),
  };
}
