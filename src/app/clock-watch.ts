/**
 * @module app/clock-watch
 * Notices steps of the wall clock. Every CLOCK_WATCH_MS it compares the wall clock with the relay's clock
 * (lib/monotonic-clock, which moves with the monotonic clock); when they are more than
 * CLOCK_JUMP_THRESHOLD_MS apart, the wall clock was stepped: it logs that, and moves the outbox's schedule
 * and the relay's clock by the step together (outbox/rebase). Pending retries stay as far away as their
 * backoff said, max_age keeps counting real time, and new alarms get wall-clock times again.
 */
import Counter from 'prom-client/lib/counter.js';
import type Registry from 'prom-client/lib/registry.js';
import { every, type Scheduler, type Timer } from '../lib/clock.ts';
import { coerceError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { RelayClock } from '../lib/monotonic-clock.ts';
import type { Service } from '../lib/service.ts';

/** How often the wall clock is compared with the relay's. */
export const CLOCK_WATCH_MS = 1000;
/**
 * A larger difference between the wall clock and the relay's is a step, and the schedule moves with it.
 * Drift below it is left alone (the monotonic clock is slewed with the wall clock; only steps part them).
 */
export const CLOCK_JUMP_THRESHOLD_MS = 1000;

export interface ClockWatchDeps {
  readonly clock: RelayClock;
  /** Moves the outbox's schedule and the clock by stepMs, together (outbox/rebase); returns the notifications moved. */
  readonly rebase: (stepMs: number) => number;
  /**
   * Times taken before now are still to be written (ingest commits waiting in the queue): move the
   * schedule at a later look, after them, or they would land off by the step.
   */
  readonly busy?: () => boolean;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  /** A step was noticed and the schedule moved (metrics). */
  readonly onJump?: (stepMs: number) => void;
}

export function clockWatchService(deps: ClockWatchDeps): Service {
  const { clock, logger } = deps;
  let timer: Timer | undefined;
  let failing = false;

  const look = () => {
    const step = clock.wall.now() - clock.now();
    if (Math.abs(step) <= CLOCK_JUMP_THRESHOLD_MS || deps.busy?.()) return;
    const what = `wall clock jumped ${step > 0 ? 'forward' : 'back'} by ${span(step)}`;
    const t0 = clock.steady.now();
    let moved: number;
    try {
      moved = deps.rebase(step);
    } catch (e) {
      // Nothing moved (neither the outbox nor the clock): the next look sees the step again.
      if (!failing) logger.error({ jump_ms: step, err: coerceError(e).message }, `${what}; could not move the outbox schedule with it, will try again`);
      failing = true;
      return;
    }
    failing = false;
    logger.warn({ jump_ms: step, notifications: moved, took_ms: clock.steady.now() - t0 }, `${what}; the outbox schedule moves with it`);
    try {
      deps.onJump?.(step);
    } catch {
      // Metrics are best effort.
    }
  };

  return {
    name: 'clock watch',
    start() {
      timer = every(deps.scheduler, CLOCK_WATCH_MS, look, { background: true });
    },
    stop() {
      timer?.cancel();
    },
  };
}

/** `tocsin_clock_jumps_total{direction}` in the app's registry; returns ClockWatchDeps.onJump. */
export function countClockJumps(registry: Registry): (stepMs: number) => void {
  const jumps = new Counter({
    name: 'tocsin_clock_jumps_total',
    help: 'Steps of the wall clock noticed (the outbox schedule moved with each)',
    labelNames: ['direction'],
    registers: [registry],
  });
  return (stepMs) => jumps.inc({ direction: stepMs > 0 ? 'forward' : 'back' });
}

/** 25h0m, 59m59s, 1.5s. */
export function span(ms: number): string {
  const a = Math.abs(ms);
  if (a < 60_000) return `${Math.round(a / 100) / 10}s`;
  const s = Math.round(a / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${m}m` : `${m}m${s % 60}s`;
}
