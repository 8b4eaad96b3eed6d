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

/**
 * What the age of the last success starts from after a start, before a run of this process succeeds:
 * the configured canaries, and the last success stored by an earlier process (none: the start).
 */
export interface CanaryHistory {
  readonly canaries: () => readonly string[];
  readonly lastSucceededAt: (canary: string) => number | undefined;
}

/** `now`: the clock the runs' success times are read on (ms), for the age at scrape. */
export function canaryMetrics(registry: Registry, now: () => number = () => Date.now(), history?: CanaryHistory): CanaryObserver {
  const registers = [registry];
  const lastSuccess = new Gauge({ name: 'tocsin_canary_last_success_timestamp_seconds', help: 'When a run of the canary last succeeded (Unix time)', labelNames: ['canary'], registers });
  const succeededAt = new Map<string, number>();
  const startedAt = now();
  /** Canaries whose stored last success was read (once: later successes are this process's). */
  const looked = new Set<string>();
  new Gauge({
    name: 'tocsin_canary_last_success_age_seconds',
    help: 'How long ago a run of the canary last succeeded (before one has since the start: the last stored one, else the start)',
    labelNames: ['canary'],
    registers,
    collect() {
      const t = now();
      // Each configured canary has a sample from the start on: a restart with a broken path must not hide it.
      for (const canary of history?.canaries() ?? []) {
        if (succeededAt.has(canary)) continue;
        if (!looked.has(canary)) {
          try {
            const stored = history!.lastSucceededAt(canary);
            looked.add(canary);
            if (stored !== undefined) {
              succeededAt.set(canary, stored);
              continue;
            }
          } catch {
            // read again at the next scrape
          }
        }
        this.set({ canary }, Math.max(0, t - startedAt) / 1000);
      }
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
