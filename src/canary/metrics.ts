/**
 * @module canary/metrics
 * The canaries' metrics, in the app's registry: last success (its time, and its age at scrape), latency of
 * successful runs, failures by reason, ping errors and skipped runs, each per canary.
 */
import Counter from 'prom-client/lib/counter.js';
import Gauge from 'prom-client/lib/gauge.js';
import Histogram from 'prom-client/lib/histogram.js';
import type Registry from 'prom-client/lib/registry.js';
import type { CanaryObserver } from './service.ts';

/** `now`: the clock the runs' success times are read on (ms), for the age at scrape. */
export function canaryMetrics(registry: Registry, now: () => number = () => Date.now()): CanaryObserver {
  const registers = [registry];
  const lastSuccess = new Gauge({ name: 'tocsin_canary_last_success_timestamp_seconds', help: 'When a run of the canary last succeeded (Unix time)', labelNames: ['canary'], registers });
  const succeededAt = new Map<string, number>();
  new Gauge({
    name: 'tocsin_canary_last_success_age_seconds',
    help: 'How long ago a run of the canary last succeeded (absent until one has, since the start)',
    labelNames: ['canary'],
    registers,
    collect() {
      const t = now();
      for (const [canary, at] of succeededAt) this.set({ canary }, Math.max(0, t - at) / 1000);
    },
  });
  const latency = new Histogram({
    name: 'tocsin_canary_run_seconds',
    help: 'Injection to the last notification sent, of successful canary runs',
    labelNames: ['canary'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  });
  const failures = new Counter({ name: 'tocsin_canary_failures_total', help: 'Canary runs that failed, by reason', labelNames: ['canary', 'reason'], registers });
  const pingErrors = new Counter({ name: 'tocsin_canary_ping_errors_total', help: 'Canary pings given up after their retries', labelNames: ['canary', 'kind'], registers });
  const skipped = new Counter({ name: 'tocsin_canary_runs_skipped_total', help: 'Canary runs not started: too many runs still open', labelNames: ['canary'], registers });
  return {
    succeeded(canary, latencyMs, at) {
      lastSuccess.set({ canary }, at / 1000);
      succeededAt.set(canary, at);
      latency.observe({ canary }, latencyMs / 1000);
    },
    failed: (canary, reason) => failures.inc({ canary, reason }),
    pingFailed: (canary, kind) => pingErrors.inc({ canary, kind }),
    skipped: (canary) => skipped.inc({ canary }),
  };
}
