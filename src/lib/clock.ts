/** Time, timers and randomness are passed in, so tests control them. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/**
 * The wall clock. The relay does not keep time on it directly: an app given this clock keeps a RelayClock
 * (lib/monotonic-clock), which moves with the monotonic clock and follows the wall clock's steps only
 * once they are noticed and the outbox's schedule moved with them (app/clock-watch).
 */
export const systemClock: Clock = { now: () => Date.now() };

/** A pending timer. */
export interface Timer {
  cancel(): void;
}

/**
 * Timers, next to the Clock: every timed behaviour (poll, deadlines, housekeeping, grace periods) goes
 * through a Scheduler, so tests drive it with a fake clock.
 */
export interface Scheduler {
  /**
   * Runs fn once after ms. `background`: the timer alone does not keep the process alive (housekeeping);
   * otherwise it does, like setTimeout.
   */
  after(ms: number, fn: () => void, opts?: { readonly background?: boolean }): Timer;
}

/** The longest delay setTimeout honours (longer ones fire at once): about 24.8 days. */
export const MAX_TIMER_MS = 2_147_483_647;

export const systemScheduler: Scheduler = {
  after(ms, fn, opts) {
    const t = setTimeout(fn, Math.min(Math.max(ms, 0), MAX_TIMER_MS));
    if (opts?.background) t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/** Runs fn every ms (the next run is scheduled when one ends) until cancelled. */
export function every(scheduler: Scheduler, ms: number, fn: () => void, opts?: { readonly background?: boolean }): Timer {
  let timer: Timer | undefined;
  let cancelled = false;
  const run = () => {
    try {
      fn();
    } finally {
      if (!cancelled) timer = scheduler.after(ms, run, opts);
    }
  };
  timer = scheduler.after(ms, run, opts);
  return {
    cancel() {
      cancelled = true;
      timer?.cancel();
    },
  };
}

/** Uniform in [0, 1). */
export type Random = () => number;
