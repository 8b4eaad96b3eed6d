/**
 * @module http/metrics
 * Prometheus metrics (prom-client), in a registry of this app's own (no global default registry), and the
 * one place that hears what ingest and delivery report: every hook feeds both prom-client and, when
 * configured, StatsD (a MonascaSink, see app/statsd), so the two never disagree.
 *
 * Counted as it happens: alarms by source and outcome, notifications and attempts by method and outcome,
 * attempt latency per method, group commits. Read at each scrape (from the dependencies given): the outbox
 * depth (total and by method), the age of the oldest undelivered notification, the dead letters, and the
 * heartbeat checks' states.
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
import { coerceError } from '../lib/errors.ts';
import { CANARY_SOURCE } from '../domain/alarm.ts';

/**
 * The same events in monasca-notification's terms (its StatsD names: app/statsd). `type` is a method's
 * channel type (webhook, email, ...). Implementations never throw.
 */
export interface MonascaSink {
  /** Alarms accepted (alarms_finished_count). */
  alarmsFinished(n: number): void;
  /** Requests, messages or batch items rejected as invalid (alarms_failed_parse_count). */
  alarmsFailedParse(n: number): void;
  /** Alarms that made no notification: matched no method, skipped (alarms_no_notification_count). */
  alarmsNoNotification(n: number): void;
  /** Notifications created (created_count). */
  created(n: number): void;
  /** A notification sent (sent_<type>_count). */
  sent(type: string): void;
  /** A delivery attempt that failed (sent_failed_count). */
  sentFailed(type: string): void;
  /** Notifications whose method is not configured (invalid_type_count). */
  invalidType(n: number): void;
  /** One delivery attempt's latency (<type>_time). */
  deliveryTime(type: string, ms: number): void;
  /** One ingest commit: routing and storing the alarms with their notifications (config_db_time). */
  configDbTime(ms: number): void;
}

/** A heartbeat check as the metrics see it (app/checks-api CheckView has these). */
export interface CheckStatusView {
  readonly name: string;
  /** new | up | down | paused */
  readonly status: string;
}

/** Optional sources of the scrape-time gauges, and the StatsD side. Each left out: its metric is not exported. */
export interface MetricsOptions {
  readonly statsd?: MonascaSink;
  /** A method's channel type now (StatsD names are per type); unknown: `unknown`. */
  readonly methodType?: (method: string) => string | undefined;
  /** The outbox's clock, for ages (the clock notifications' created_at is taken on). */
  readonly now?: () => number;
  /** outbox/oldest-pending oldestPendingCreatedAt. */
  readonly oldestPendingCreatedAt?: () => number | undefined;
  /** outbox/oldest-pending undeliveredByMethod. */
  readonly undeliveredByMethod?: () => ReadonlyMap<string, number>;
  /** outbox/oldest-pending deadLettersByMethod. */
  readonly deadLettersByMethod?: () => ReadonlyMap<string, number>;
  /** The heartbeat checks and their states now. */
  readonly checks?: () => readonly CheckStatusView[];
}

export interface Metrics {
  readonly registry: Registry;
  readonly ingest: IngestObserver;
  readonly delivery: DeliveryObserver;
  commit(jobs: number, ms: number): void;
  /** Notifications the lifecycle made outside a request (repeats, expiries, groups, silence ends). */
  lifecycleEnqueued(n: number): void;
  /** A request (or message) refused as invalid: nothing in it was accepted. */
  rejected(source: string, n: number): void;
  /** Notifications left waiting for a method that is no longer configured (e.g. a reload removed it). */
  invalidMethod(method: string, n: number): void;
}

export const CHECK_STATUSES = ['new', 'up', 'down', 'paused'] as const;

export function createMetrics(pending: () => number, logger: Logger, opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  // Process metrics: CPU, memory, event-loop lag, GC pauses (prefixed nodejs_ / process_).
  collectDefaultMetrics({ register: registry });
  const r = [registry];
  const statsd = opts.statsd;
  const typeOf = (method: string) => opts.methodType?.(method) ?? 'unknown';
  const ingested = new Counter({
    name: 'tocsin_alarms_ingested_total',
    help: 'Alarms by source and outcome: accepted (stored), duplicate (a repeat, answered with the original ids), skipped (not notified: see tocsin_alarms_skipped_total), rejected (requests refused as invalid, one per request)',
    labelNames: ['source', 'outcome'],
    registers: r,
  });
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
  const notifications = new Counter({
    name: 'tocsin_notifications_total', help: 'Notifications that left the outbox, by method and outcome: sent, dead', labelNames: ['method', 'outcome'], registers: r,
  });
  const canaryNotifications = new Counter({
    name: 'tocsin_canary_notifications_total',
    help: "The heartbeat canary's delivery attempts and dead letters, by method and outcome (kept out of the sources' counts)",
    labelNames: ['method', 'outcome'],
    registers: r,
  });
  const invalid = new Counter({
    name: 'tocsin_notifications_invalid_method_total', help: 'Notifications left waiting for a method that is no longer configured', labelNames: ['method'], registers: r,
  });
  const attempts = new Counter({ name: 'tocsin_delivery_attempts_total', help: 'Delivery attempts by outcome: sent, retry, permanent', labelNames: ['method', 'outcome'], registers: r });
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
  scrapeGauges(r, opts, logger);

  /** StatsD is best effort: a sink that throws must not reach ingest or delivery. */
  const tell = (fn: (s: MonascaSink) => void) => {
    if (!statsd) return;
    try {
      fn(statsd);
    } catch (e) {
      logger.debug({ err: coerceError(e).message }, 'statsd: could not record a metric');
    }
  };

  return {
    registry,
    ingest: {
      accepted(source, alarms, n) {
        accepted.inc({ source }, alarms);
        ingested.inc({ source, outcome: 'accepted' }, alarms);
        // The canary's are counted under source="canary" above and in tocsin_canary_notifications_total.
        if (source === CANARY_SOURCE) return;
        enqueued.inc(n);
        tell((s) => {
          s.alarmsFinished(alarms);
          if (n > 0) s.created(n);
        });
      },
      duplicate(source, n) {
        duplicates.inc({ source }, n);
        ingested.inc({ source, outcome: 'duplicate' }, n);
      },
      unrouted(source, alarm) {
        unrouted.inc({ source });
        tell((s) => s.alarmsNoNotification(1));
        logger.warn({ alarm_id: alarm.id, source: alarm.source, name: alarm.name }, 'alarm matched no route; stored as unrouted');
      },
      skipped(source, reason, n) {
        skipped.inc({ source, reason }, n);
        ingested.inc({ source, outcome: 'skipped' }, n);
        // Invalid items dropped from a batch are monasca's failed parses; the rest made no notification.
        tell((s) => (reason === 'invalid' ? s.alarmsFailedParse(n) : s.alarmsNoNotification(n)));
      },
    },
    delivery: {
      attempt(method, outcome, latencyMs, canary) {
        // The heartbeat canary's notifications are counted apart: they do not inflate the sources' counts.
        if (canary) {
          canaryNotifications.inc({ method, outcome });
          return;
        }
        attempts.inc({ method, outcome });
        latency.observe({ method }, latencyMs / 1000);
        if (outcome === 'sent') notifications.inc({ method, outcome: 'sent' });
        const type = typeOf(method);
        tell((s) => {
          s.deliveryTime(type, latencyMs);
          if (outcome === 'sent') s.sent(type);
          else s.sentFailed(type);
        });
      },
      dead(method, canary) {
        if (canary) {
          canaryNotifications.inc({ method, outcome: 'dead' });
          return;
        }
        dead.inc({ method });
        notifications.inc({ method, outcome: 'dead' });
      },
    },
    lifecycleEnqueued(n) {
      enqueued.inc(n);
      tell((s) => s.created(n));
    },
    commit(jobs, ms) {
      commits.observe(jobs);
      commitSeconds.observe(ms / 1000);
      tell((s) => s.configDbTime(ms));
    },
    rejected(source, n) {
      ingested.inc({ source, outcome: 'rejected' }, n);
      tell((s) => s.alarmsFailedParse(n));
    },
    invalidMethod(method, n) {
      if (n <= 0) return;
      invalid.inc({ method }, n);
      tell((s) => s.invalidType(n));
    },
  };
}

/** The gauges read at scrape time from the outbox and the checks; a failed read leaves its gauge without samples, or NaN (logged). */
function scrapeGauges(registers: Registry[], opts: MetricsOptions, logger: Logger): void {
  const read = <T>(what: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      logger.warn({ metric: what, err: coerceError(e).message }, 'could not read a metric at scrape');
      return undefined;
    }
  };
  const { oldestPendingCreatedAt, undeliveredByMethod, deadLettersByMethod, checks } = opts;
  const now = opts.now ?? (() => Date.now());
  if (oldestPendingCreatedAt) {
    new Gauge({
      name: 'tocsin_oldest_undelivered_age_seconds',
      help: 'Age of the oldest notification pending or in flight (0: none; NaN: the outbox could not be read)',
      registers,
      collect() {
        const r = read('tocsin_oldest_undelivered_age_seconds', () => ({ at: oldestPendingCreatedAt() }));
        // NaN when it cannot be read: not a 0 that says the backlog is empty.
        this.set(!r ? NaN : r.at === undefined ? 0 : Math.max(0, now() - r.at) / 1000);
      },
    });
  }
  const byLabel = (name: string, help: string, label: string, fn: () => ReadonlyMap<string, number>) =>
    new Gauge({
      name, help, labelNames: [label], registers,
      collect() {
        const m = read(name, fn);
        this.reset();
        for (const [k, v] of m ?? []) this.set({ [label]: k }, v);
      },
    });
  if (undeliveredByMethod) byLabel('tocsin_notifications_undelivered_by_method', 'Notifications pending or in flight, by method', 'method', undeliveredByMethod);
  if (deadLettersByMethod) byLabel('tocsin_dead_letters', 'Dead letters in the outbox now, by method (replay or discard them)', 'method', deadLettersByMethod);
  if (checks) {
    const list = () => read('tocsin_check_status', checks) ?? [];
    new Gauge({
      name: 'tocsin_check_status',
      help: 'Heartbeat check status: 1 for the status it is in (new, up, down, paused), 0 for the others',
      labelNames: ['check', 'status'],
      registers,
      collect() {
        this.reset();
        for (const c of list()) for (const s of CHECK_STATUSES) this.set({ check: c.name, status: s }, c.status === s ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tocsin_check_up',
      help: 'Heartbeat check up (1) or down (0); new and paused checks are left out',
      labelNames: ['check'],
      registers,
      collect() {
        this.reset();
        for (const c of list()) if (c.status === 'up' || c.status === 'down') this.set({ check: c.name }, c.status === 'up' ? 1 : 0);
      },
    });
  }
}
