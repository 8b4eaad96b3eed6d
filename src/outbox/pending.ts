/**
 * @module outbox/pending
 * The number of undelivered (pending or in flight) notifications, kept in memory. It starts unknown and
 * is counted once after the relay listens (counting takes time that grows with the backlog).
 */
export class PendingCount {
  #value = 0;

  /** Undelivered notifications (0 until counted). */
  get value(): number {
    return this.#value;
  }

  add(n: number): void {
    this.#value += n;
  }

  /**
   * Sets the counted total. The count is synchronous and sees every commit made before it, including
   * those already added while the total was unknown: it replaces the value rather than adding to it.
   */
  counted(total: number): void {
    this.#value = total;
  }
}
