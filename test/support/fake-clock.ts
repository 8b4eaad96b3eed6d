/**
 * A Clock and Scheduler whose time moves only when the test says: `advance(ms)` runs every timer that
 * falls due, in order of due time (then of creation), including timers those timers create.
 */
import type { Clock, Scheduler, Timer } from '../../src/lib/clock.ts';

interface Pending {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  readonly background: boolean;
}

export class FakeClock implements Clock, Scheduler {
  t: number;
  #seq = 0;
  #timers = new Set<Pending>();

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void, opts?: { readonly background?: boolean }): Timer {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: this.#seq++, fn, background: opts?.background ?? false };
    this.#timers.add(p);
    return { cancel: () => void this.#timers.delete(p) };
  }

  /** Timers not yet fired (background ones included). */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by ms, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.#timers) if (p.at <= end && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      if (!next) break;
      this.#timers.delete(next);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}
