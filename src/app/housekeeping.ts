/**
 * @module app/housekeeping
 * The outbox housekeeping service: counts the backlog and reports notifications waiting for a method
 * that is no longer configured (just after start, then with every prune), sweeps expired leases, and
 * prunes history past its retention. Work that grows with the backlog runs after the relay listens.
 */
import type { Clock, Scheduler, Timer } from '../lib/clock.ts';
import { every } from '../lib/clock.ts';
import { coerceError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Service } from '../lib/service.ts';
import type { OutboxStore } from '../outbox/store.ts';

export const LEASE_SWEEP_MS = 15_000;
export const PRUNE_MS = 10 * 60_000;

export interface HousekeepingDeps {
  readonly store: OutboxStore;
  /** Is this method configured now? */
  readonly hasMethod: (method: string) => boolean;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly retentionMs: () => number;
  readonly idempotencyTtlMs: () => number;
  /** Released leases made notifications due: wake the dispatcher. */
  readonly onReleased: () => void;
}

export function housekeepingService(deps: HousekeepingDeps): Service {
  const { store, clock, logger } = deps;
  const timers: Timer[] = [];
  let counted = false;

  const guarded = (task: string, fn: () => void) => () => {
    try {
      fn();
    } catch (e) {
      logger.error({ task, err: coerceError(e).message }, 'housekeeping failed; will try again');
    }
  };

  // One scan of the undelivered notifications per method: it sets the in-memory count (at start, and
  // every round after, so a drift could not last), and reports notifications waiting for a method that is
  // no longer configured (they are never dropped: said at start and every round until dealt with).
  const survey = guarded('survey', () => {
    const byMethod = store.queries.undeliveredByMethod();
    let total = 0;
    for (const [method, count] of byMethod) {
      total += count;
      if (!deps.hasMethod(method)) {
        logger.error(
          { method, undelivered: count },
          'notifications are waiting for a method that is not configured; configure it again to deliver them',
        );
      }
    }
    const first = !counted;
    store.setPendingCount(total);
    counted = true;
    if (first && total > 0) logger.info({ undelivered: total }, 'undelivered notifications in the outbox');
  });
  const prune = guarded('prune', () => store.upkeep.prune(clock.now(), deps.retentionMs(), deps.idempotencyTtlMs()));
  const sweep = guarded('lease sweep', () => {
    const n = store.delivery.releaseExpiredLeases(clock.now());
    if (n > 0) {
      logger.warn({ released: n }, 'released expired delivery leases');
      deps.onReleased();
    }
  });
  let started = false;
  return {
    name: 'housekeeping',
    // Until the backlog is counted, max_pending cannot be enforced.
    ready: () => (started && !counted ? 'counting the undelivered notifications' : undefined),
    start() {
      started = true;
      timers.push(
        deps.scheduler.after(0, () => {
          survey();
          prune();
        }, { background: true }),
        every(deps.scheduler, LEASE_SWEEP_MS, sweep, { background: true }),
        every(deps.scheduler, PRUNE_MS, () => {
          prune();
          survey();
        }, { background: true }),
      );
    },
    stop() {
      for (const t of timers) t.cancel();
    },
  };
}
