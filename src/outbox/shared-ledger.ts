/**
 * @module outbox/shared-ledger
 * The delivery ledger of a thread that shares the database with a writer on another thread (the delivery
 * thread, while the main thread commits ingest). Its writes never block the thread: when the write lock
 * is taken (an ingest commit and its fsync), a claim finds nothing for now and outcomes wait in memory;
 * both go ahead as soon as the lock is released (`onFree` wakes the dispatcher), so the thread keeps
 * serving its HTTP responses meanwhile. `drain` writes what waits, blocking if it must (stop, idle).
 */
import type { Logger } from '../lib/logger.ts';
import type { Claimed, Completion, DeliveryLedger } from './delivery.ts';
import type { WriteLock } from './write-lock.ts';

export class SharedLedger {
  readonly #inner: DeliveryLedger;
  readonly #lock: WriteLock;
  readonly #onFree: () => void;
  readonly #logger: Logger;
  #waiting: Completion[] = [];
  #armed = false;

  constructor(inner: DeliveryLedger, lock: WriteLock, onFree: () => void, logger: Logger) {
    this.#inner = inner;
    this.#lock = lock;
    this.#onFree = onFree;
    this.#logger = logger;
  }

  /** Outcomes not yet written. */
  get waiting(): number {
    return this.#waiting.length;
  }

  claim(method: string, limit: number, now: number, leaseUntil: number): Claimed[] {
    const r = this.#lock.tryRun(() => {
      this.#writeWaiting();
      return this.#inner.claim(method, limit, now, leaseUntil);
    });
    if (r.ran) return r.value;
    this.#retryWhenFree();
    return [];
  }

  complete(batch: readonly Completion[]): void {
    for (const c of batch) this.#waiting.push(c);
    const r = this.#lock.tryRun(() => this.#writeWaiting());
    if (!r.ran) this.#retryWhenFree();
  }

  remoteRefs(method: string, dedupKeys: readonly string[]): Record<string, string> {
    return this.#inner.remoteRefs(method, dedupKeys);
  }

  /** Writes the outcomes that wait, waiting for the lock if it must. */
  drain(): void {
    if (this.#waiting.length > 0) this.#lock.run(() => this.#writeWaiting());
  }

  /** Call holding the lock. A failed write leaves the rows leased: the lease expires and they go again. */
  #writeWaiting(): void {
    if (this.#waiting.length === 0) return;
    const batch = this.#waiting;
    this.#waiting = [];
    this.#inner.complete(batch);
  }

  #retryWhenFree(): void {
    if (this.#armed) return;
    this.#armed = true;
    void this.#lock.whenFree().then(() => {
      this.#armed = false;
      try {
        const r = this.#lock.tryRun(() => this.#writeWaiting());
        if (!r.ran) return this.#retryWhenFree();
      } catch (e) {
        this.#logger.error({ err: e instanceof Error ? e.message : String(e) }, 'could not record delivery outcomes; they will be retried');
      }
      this.#onFree();
    });
  }
}
