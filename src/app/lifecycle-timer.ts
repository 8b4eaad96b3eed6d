/**
 * @module app/lifecycle-timer
 * The lifecycle's clock: every second (and at once when a wake left work behind) it runs, in one
 * group-committed transaction, the timed work of the alarm states (expiry at ends_at, repeats, ends of
 * flap-damping holds), the groups that are due, and a silence sweep whenever a silence started or
 * ended since the last one (and once at start: silences that ended while the relay was down release
 * their alarms). Outside a transaction it only asks the database whether anything is due.
 */
import type { Clock, Scheduler, Timer } from '../lib/clock.ts';
import { coerceError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Service } from '../lib/service.ts';
import type { GroupCommitter } from '../outbox/group-commit.ts';
import type { Lifecycle } from '../ingest/lifecycle.ts';
import type { SilenceBook } from '../ingest/silences.ts';
import { nextBoundary } from '../lifecycle/silence.ts';

export const LIFECYCLE_TICK_MS = 1000;
/** An alarm whose ends_at passed while the relay was down gets this long after start to be refreshed. */
export const DOWNTIME_EXPIRY_HOLD_MS = 5 * 60_000;

export interface LifecycleTimerDeps {
  readonly lifecycle: Lifecycle;
  readonly silences: SilenceBook;
  /** The earliest timer work in the database (Infinity: none). */
  readonly nextWake: () => number;
  readonly committer: GroupCommitter;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  /** Notifications were enqueued (count them, wake delivery). */
  readonly enqueued: (n: number) => void;
}

export interface LifecycleTimer extends Service {
  /** Runs the due work now (tests; the silence API after a change). */
  tick(): Promise<void>;
}

export function lifecycleTimer(deps: LifecycleTimerDeps): LifecycleTimer {
  const { clock, logger } = deps;
  let timer: Timer | undefined;
  let running = false;
  let swept: number | undefined;
  let inTick: Promise<void> | undefined;
  /** The last failure said (the same one again, a full disk say, is logged at debug, not every second). */
  let lastError: string | undefined;
  let downtime: { startedAt: number; holdUntil: number } | undefined;

  const work = async (): Promise<boolean> => {
    const now = clock.now();
    const sweep = deps.silences.dirty || swept === undefined || nextBoundary(deps.silences.list, swept) <= now;
    if (!sweep && deps.nextWake() > now) return false;
    const r = await deps.committer.submit(() => {
      const n = sweep ? deps.lifecycle.sweep(now) : 0;
      const w = deps.lifecycle.wake(now, downtime && now < downtime.holdUntil ? downtime : undefined);
      return { notifications: n + w.notifications, more: w.more };
    });
    if (sweep) {
      swept = now;
      deps.silences.swept();
      deps.silences.prune(now);
    }
    if (r.notifications > 0) deps.enqueued(r.notifications);
    return r.more;
  };

  const tick = (): Promise<void> =>
    (inTick ??= (async () => {
      try {
        while (await work());
        lastError = undefined;
      } catch (e) {
        const err = coerceError(e).message;
        if (err !== lastError) logger.error({ err }, 'lifecycle timer failed (expiries, repeats, groups and silence ends wait); will try again every second');
        else logger.debug({ err }, 'lifecycle timer failed again');
        lastError = err;
      } finally {
        inTick = undefined;
      }
    })());

  const loop = () => {
    timer = deps.scheduler.after(LIFECYCLE_TICK_MS, () => {
      void tick().finally(() => {
        if (running) loop();
      });
    }, { background: true });
  };

  return {
    name: 'lifecycle',
    tick,
    start() {
      running = true;
      const startedAt = clock.now();
      downtime = { startedAt, holdUntil: startedAt + DOWNTIME_EXPIRY_HOLD_MS };
      void tick();
      loop();
    },
    async stop() {
      running = false;
      timer?.cancel();
      await inTick;
    },
  };
}
