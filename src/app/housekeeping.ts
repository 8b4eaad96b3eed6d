/**
 * @module app/housekeeping
 * The outbox housekeeping service: counts the backlog and reports notifications waiting for a method
 * that is no longer configured (once just after start, then with every prune), sweeps expired leases,
 * and prunes history past its retention. Work that grows with the backlog runs after the relay listens.
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

export function housekeepingService(deps: HousekeepingDeps): Service & { readonly counted: boolean } {
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

  // Notifications for a method that is no longer configured wait (they are never dropped): say so at
  // start and at every housekeeping round until they are dealt with.
  const reportOrphans = guarded('orphan report', () => {
    for (const [method, count] of store.queries.undeliveredByMethod()) {
      if (!deps.hasMethod(method)) {
        logger.error(
          { method, undelivered: count },
          'notifications are waiting for a method that is not configured; configure it again to deliver them',
        );
      }
    }
  });
  const prune = guarded('prune', () => store.upkeep.prune(clock.now(), deps.retentionMs(), deps.idempotencyTtlMs()));
  const sweep = guarded('lease sweep', () => {
    const n = store.delivery.releaseExpiredLeases(clock.now());
    if (n > 0) {
      logger.warn({ released: n }, 'released expired delivery leases');
      deps.onReleased();
    }
  });
  const count = guarded('count', () => {
    const n = store.countPending();
    counted = true;
    if (n > 0) logger.info({ undelivered: n }, 'undelivered notifications in the outbox');
  });

  return {
    name: 'housekeeping',
    get counted() {
      return counted;
    },
    start() {
      timers.push(
        deps.scheduler.after(0, () => {
          count();
          reportOrphans();
          prune();
        }, { background: true }),
        every(deps.scheduler, LEASE_SWEEP_MS, sweep, { background: true }),
        every(deps.scheduler, PRUNE_MS, () => {
          prune();
          reportOrphans();
        }, { background: true }),
      );
    },
    stop() {
      for (const t of timers) t.cancel();
    },
  };
}
