/**
 * @module outbox/shared-ledger
 * The delivery ledger of a thread that shares the database with a writer on another thread (the delivery
 * thread, while the main thread commits ingest). Its writes never block the thread: when the write lock
 * is taken (an ingest commit and its fsync), a claim finds nothing for now and outcomes wait in memory;
 * both go ahead as soon as the lock is released (`onFree` wakes the dispatcher), so the thread keeps
 * serving its HTTP responses meanwhile. `drain` writes what waits, blocking if it must (stop, idle).
 *
 * The lock is also what a re-base of the schedule holds (outbox/rebase): outcomes that wait here keep
 * their times on the dispatcher's steady clock, and `inner` (outbox/delivery onSteadyTime) converts them
 * under the lock as they are written, so none is off by a step of the wall clock that came meanwhile.
 */
import type { Logger } from '../lib/logger.ts';
import type { Claimed, Completion, DispatchLedger } from './delivery.ts';
import type { WriteLock } from './write-lock.ts';
import { storageFault } from './storage-fault.ts';

export class SharedLedger {
  readonly #inner: DispatchLedger;
  readonly #lock: WriteLock;
  readonly #onFree: () => void;
  readonly #logger: Logger;
  #waiting: Completion[] = [];
  #armed = false;

  constructor(inner: DispatchLedger, lock: WriteLock, onFree: () => void, logger: Logger) {
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
      try {
        return this.#inner.claim(method, limit, now, leaseUntil);
      } catch (e) {
        // Locked by another process, a full disk: nothing claimed; the next poll tries again.
        if (storageFault(e)) return [];
        throw e;
      }
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

  /**
   * Writes the outcomes that wait, waiting for the lock if it must (stop, idle). Throws if the storage
   * still refuses them: they stay leased and go again after a restart.
   */
  drain(): void {
    if (this.#waiting.length === 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#lock.run(() => {
      const batch = this.#waiting;
      this.#waiting = [];
      this.#inner.complete(batch);
    });
  }

  /**
   * Call holding the lock. A write that fails for the storage's sake (the database locked by another
   * process, a full disk) keeps the outcomes and tries again after 50 ms … 2 s; any other failure leaves
   * the rows leased: the lease expires and they go again.
   */
  #writeWaiting(): void {
    if (this.#waiting.length === 0) return;
    const batch = this.#waiting;
    this.#waiting = [];
    try {
      this.#inner.complete(batch);
      this.#backoffMs = 0;
    } catch (e) {
      if (!storageFault(e)) throw e;
      this.#waiting = batch.concat(this.#waiting);
      this.#retryLater();
    }
  }

  #backoffMs = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  #retryLater(): void {
    if (this.#timer) return;
    this.#backoffMs = Math.min(this.#backoffMs === 0 ? 50 : this.#backoffMs * 2, 2000);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#writeAgain();
    }, this.#backoffMs);
  }

  #retryWhenFree(): void {
    if (this.#armed) return;
    this.#armed = true;
    void this.#lock.whenFree().then(() => {
      this.#armed = false;
      this.#writeAgain();
    });
  }

  /** Writes what waits if the lock is free (else waits for it), then wakes the dispatcher. */
  #writeAgain(): void {
    try {
      const r = this.#lock.tryRun(() => this.#writeWaiting());
      if (!r.ran) return this.#retryWhenFree();
    } catch (e) {
      this.#logger.error({ err: e instanceof Error ? e.message : String(e) }, 'could not record delivery outcomes; they will be retried');
    }
    this.#onFree();
  }
}
