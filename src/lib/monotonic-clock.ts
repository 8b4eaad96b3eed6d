/**
 * @module lib/monotonic-clock
 * The relay's clock: epoch milliseconds like Date.now(), but moving with the monotonic clock, so that a
 * step of the wall clock (set by hand, stepped by NTP, a VM restored from a snapshot) neither pushes
 * retries far into the future nor ages notifications past their max_age. app/clock-watch notices such a
 * step and moves the outbox's schedule and this clock together by it (outbox/rebase): the clock then
 * tells wall-clock time again, and every pending retry is as far away as it was.
 *
 * It has two readings:
 *  - `now()`: the outbox's time, what it stores and compares (created_at, next_attempt_at …); it moves
 *    when the schedule is re-based (`move`);
 *  - `steady.now()`: never moves. The dispatcher keeps its time on it, so a re-base cannot fall between
 *    two of its readings; `shift` (how far `now()` is from it) converts as it writes (outbox/delivery).
 *
 * The shift lives in a SharedArrayBuffer, so the delivery thread follows the main thread's re-bases. Each
 * thread reads its own monotonic clock, performance.now(): process.hrtime has one origin per process on
 * Node, but one per thread on Bun and Deno. So a thread that follows another (`link`) sets its steady
 * clock by the wall clock once, at start: only a step of the wall clock within the moments between the
 * link and that reading (the thread starting) would leave it off, by the step, until it starts again.
 */
import { type Clock, systemClock } from './clock.ts';

/** What another thread needs to keep the same time (structured clone keeps the buffer shared). */
export interface ClockLink {
  /** The shift, in ms (a BigInt64Array of one). */
  readonly shift: SharedArrayBuffer;
  /** The steady clock minus the wall clock when the link was made. */
  readonly steadyMinusWall: number;
}

export interface ClockSources {
  /** The wall clock (default: Date.now). */
  readonly wall?: Clock;
  /** Milliseconds from any origin, never going back (default: performance.now()). */
  readonly monotonic?: () => number;
}

export class RelayClock implements Clock {
  readonly wall: Clock;
  /** Epoch ms that only the monotonic clock moves. */
  readonly steady: Clock;
  readonly #shift: BigInt64Array;

  /** Starts equal to the wall clock; with `link`, the same time as the clock that made the link. */
  constructor(sources: ClockSources = {}, link?: ClockLink) {
    const wall = sources.wall ?? systemClock;
    const monotonic = sources.monotonic ?? (() => performance.now());
    const origin = wall.now() + (link?.steadyMinusWall ?? 0) - monotonic();
    this.wall = wall;
    this.steady = { now: () => Math.floor(origin + monotonic()) };
    this.#shift = new BigInt64Array(link?.shift ?? new SharedArrayBuffer(8));
  }

  now(): number {
    return this.steady.now() + this.shift;
  }

  /** How far now() is from the steady clock: the sum of the re-bases (ms). */
  get shift(): number {
    return Number(Atomics.load(this.#shift, 0));
  }

  /** Moves now() by ms, on every thread that follows this clock (outbox/rebase does it under the write lock). */
  move(ms: number): void {
    Atomics.add(this.#shift, 0, BigInt(Math.round(ms)));
  }

  /** For a thread to follow this clock: `new RelayClock({}, clock.link())` there. */
  link(): ClockLink {
    return { shift: this.#shift.buffer as SharedArrayBuffer, steadyMinusWall: this.steady.now() - this.wall.now() };
  }
}

/**
 * The clock the dispatcher keeps time on, and how far the outbox's times are from it: a RelayClock's
 * steady clock and shift; any other clock (a test's) as it is, with no shift.
 */
export function steadyOf(clock: Clock): { readonly steady: Clock; readonly shift: () => number } {
  return clock instanceof RelayClock ? { steady: clock.steady, shift: () => clock.shift } : { steady: clock, shift: () => 0 };
}
