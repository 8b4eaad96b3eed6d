/**
 * @module http/metrics
 * Prometheus metrics (prom-client), in a registry of this app's own (no global default registry).
 */
// One by one: prom-client's index also loads the Pushgateway and the cluster aggregator (see prom-client-parts.d.ts).
import Registry from 'prom-client/lib/registry.js';
import Counter from 'prom-client/lib/counter.js';
import Gauge from 'prom-client/lib/gauge.js';
import Histogram from 'prom-client/lib/histogram.js';
import collectDefaultMetrics from 'prom-client/lib/defaultMetrics.js';
import type { IngestObserver } from '../ingest/accept.ts';
import type { DeliveryObserver } from '../dispatch/dispatcher.ts';
import type { Logger } from '../lib/logger.ts';

export interface Metrics {
  readonly registry: Registry;
  readonly ingest: IngestObserver;
  readonly delivery: DeliveryObserver;
  commit(jobs: number, ms: number): void;
  /** Notifications the lifecycle made outside a request (repeats, expiries, groups, silence ends). */
  lifecycleEnqueued(n: number): void;
}

export function createMetrics(pending: () => number, logger: Logger): Metrics {
  const registry = new Registry();
  // Process metrics: CPU, memory, event-loop lag, GC pauses (prefixed nodejs_ / process_).
  collectDefaultMetrics({ register: registry });
  const r = [registry];
  const accepted = new Counter({ name: 'tocsin_alarms_accepted_total', help: 'Alarms accepted and stored', labelNames: ['source'], registers: r });
  const duplicates = new Counter({ name: 'tocsin_alarms_duplicate_total', help: 'Repeats answered with the original ids', labelNames: ['source'], registers: r });
  const unrouted = new Counter({ name: 'tocsin_alarms_unrouted_total', help: 'Alarms that matched no method (stored, not delivered)', labelNames: ['source'], registers: r });
  const skipped = new Counter({
    name: 'tocsin_alarms_skipped_total',
    help: 'Messages not notified: older than the alarm TTL or an ignored state (dropped), or actions disabled (recorded)',
    labelNames: ['source', 'reason'],
    registers: r,
  });
  const enqueued = new Counter({ name: 'tocsin_notifications_enqueued_total', help: 'Notifications enqueued', registers: r });
  const attempts = new Counter({ name: 'tocsin_delivery_attempts_total', help: 'Delivery attempts by outcome', labelNames: ['method', 'outcome'], registers: r });
  const dead = new Counter({ name: 'tocsin_notifications_dead_total', help: 'Notifications dead-lettered', labelNames: ['method'], registers: r });
  const latency = new Histogram({
    name: 'tocsin_delivery_seconds', help: 'Delivery attempt latency', labelNames: ['method'], registers: r,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const commits = new Histogram({
    name: 'tocsin_commit_batch_size', help: 'Ingest jobs per group commit', registers: r, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024],
  });
  const commitSeconds = new Histogram({
    name: 'tocsin_commit_seconds', help: 'Time to run and commit one ingest group commit', registers: r,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
  });
  new Gauge({
    name: 'tocsin_notifications_undelivered', help: 'Notifications pending or in flight', registers: r,
    collect() {
      this.set(pending());
    },
  });
  return {
    registry,
    ingest: {
      accepted(source, alarms, notifications) {
        accepted.inc({ source }, alarms);
        enqueued.inc(notifications);
      },
      duplicate(source, n) {
        duplicates.inc({ source }, n);
      },
      unrouted(source, alarm) {
        unrouted.inc({ source });
        logger.warn({ alarm_id: alarm.id, source: alarm.source, name: alarm.name }, 'alarm matched no route; stored as unrouted');
      },
      skipped(source, reason, n) {
        skipped.inc({ source, reason }, n);
      },
    },
    delivery: {
      attempt(method, outcome, latencyMs) {
        attempts.inc({ method, outcome });
        latency.observe({ method }, latencyMs / 1000);
      },
      dead(method) {
        dead.inc({ method });
      },
    },
    lifecycleEnqueued(n) {
      enqueued.inc(n);
    },
    commit(jobs, ms) {
      commits.observe(jobs);
      commitSeconds.observe(ms / 1000);
    },
  };
}
