/**
 * @module dispatch/limit
 * The adaptive in-flight limit of one method (AIMD, as TCP does it): deliveries in flight start at a
 * few and grow while the receiver answers (doubling per round trip at first, then one more per round
 * trip once it has pushed back), and halve when it signals overload (a retryable failure: 5xx, 429, a
 * timeout, a network error), at most once per cool-down so one bad burst counts once. The method's
 * `concurrency` is the cap; permanent failures (other 4xx) say nothing about load and change nothing.
 */
export const INITIAL_LIMIT = 8;
export const CUT_COOLDOWN_MS = 1000;

export class InflightLimit {
  #limit: number;
  #cap: number;
  #slowStart = true;
  #lastCut = -Infinity;

  constructor(cap: number) {
    this.#cap = cap;
    this.#limit = Math.min(cap, INITIAL_LIMIT);
  }

  /** Deliveries that may be in flight now (at least 1, at most the cap). */
  get value(): number {
    return Math.max(1, Math.min(this.#cap, Math.floor(this.#limit)));
  }

  /** The cap follows the method's `concurrency` (a reload may change it). */
  set cap(cap: number) {
    this.#cap = cap;
    this.#limit = Math.min(this.#limit, cap);
  }

  /** A delivery went through. */
  sent(): void {
    if (this.#limit >= this.#cap) return;
    this.#limit = Math.min(this.#cap, this.#limit + (this.#slowStart ? 1 : 1 / this.#limit));
  }

  /** The receiver signalled overload at `now` (ms). */
  overloaded(now: number): void {
    if (now - this.#lastCut < CUT_COOLDOWN_MS) return;
    this.#lastCut = now;
    this.#slowStart = false;
    this.#limit = Math.max(1, this.#limit / 2);
  }
}
