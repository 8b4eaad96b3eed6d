/**
 * @module app/kafka
 * Wires the optional Kafka consumer into the app. The kafkajs code is imported when the service starts,
 * and only when `kafka:` is configured: without it, no Kafka code is even loaded.
 */
import type { Config } from '../config/types.ts';
import type { Acceptor } from '../ingest/accept.ts';
import type { Scheduler } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Service } from '../lib/service.ts';
import type { CanaryMessage, ClusterDeps, KafkaService } from '../kafka/service.ts';
import type Registry from 'prom-client/lib/registry.js';
import type { KafkaIngestHooks } from '../kafka/metrics.ts';

export interface KafkaWiringDeps {
  readonly config: () => Config;
  readonly accept: Acceptor;
  readonly now: () => number;
  readonly hash: (text: string) => string;
  readonly pending: () => number;
  readonly scheduler: Scheduler;
  readonly random: () => number;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Messages that never reach the acceptor (unparseable, dropped by the format), counted as ingest outcomes by topic. */
  readonly ingestHooks?: KafkaIngestHooks;
  /** Cluster mode's side of the outbox (with durability: cluster). */
  readonly cluster?: ClusterDeps;
}

export interface KafkaWiring {
  readonly service: Service;
  /** Undefined while the consumer is in its group; else why not (reported by /readyz, never failing it: HTTP ingest works without Kafka). */
  state(): string | undefined;
  /** See KafkaService.injectCanary; rejects until the consumer is running. */
  injectCanary(m: CanaryMessage, signal: AbortSignal): Promise<{ alarmId: string; notificationIds: readonly string[] }>;
}

export function wireKafka(deps: KafkaWiringDeps): KafkaWiring | undefined {
  const config = deps.config().kafka;
  if (!config) return undefined;
  let kafka: KafkaService | undefined;
  let stopped = false;
  const service: KafkaWiring['service'] = {
    name: 'kafka',
    async start() {
      const [{ createKafkaService }, { kafkaMetrics }] = await Promise.all([import('../kafka/service.ts'), import('../kafka/metrics.ts')]);
      if (stopped) return;
      kafka = createKafkaService({
        config,
        accept: deps.accept,
        formatOptions: () => deps.config().ingest.formats,
        now: deps.now,
        hash: deps.hash,
        isKafkaCanary: (name) => deps.config().canaries.some((c) => c.name === name && c.via === 'kafka'),
        pending: deps.pending,
        maxPending: deps.config().ingest.maxPending,
        scheduler: deps.scheduler,
        random: deps.random,
        logger: deps.logger,
        observer: kafkaMetrics(deps.registry, deps.ingestHooks),
        ...(deps.cluster && { cluster: deps.cluster }),
      });
      kafka.start();
    },
    async stop() {
      stopped = true;
      await kafka?.stop();
    },
  };
  return {
    service,
    state: () => (kafka ? kafka.ready() : 'starting'),
    injectCanary: (m, signal) => (kafka ? kafka.injectCanary(m, signal) : Promise.reject(new Error('the Kafka consumer is not running yet'))),
  };
}
