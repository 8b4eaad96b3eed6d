/**
 * @module outbox/write-lock
 * One writer at a time across the threads that share the database file. SQLite serializes writers by
 * itself, but a writer that finds the lock taken sleeps in its busy handler (1, 2, 5, 10 … ms) and
 * blocks its thread meanwhile: with ingest commits on one thread and delivery bookkeeping on another,
 * that turned every collision into milliseconds of stall. This lock hands over at once instead: the
 * waiter sleeps on a shared cell (Atomics.wait) until the holder's release wakes it.
 *
 * Correctness never depends on it (SQLite's own locking still applies); it only decides who goes first.
 * The cell holds 0 when free, else the holder's id; a thread that dies holding it is released by the
 * thread that saw it die (forceRelease).
 */
const FREE = 0;
/** Holder ids of the relay's threads. */
export const MAIN_THREAD_LOCK_ID = 1;
export const DELIVERY_THREAD_LOCK_ID = 2;
/** Longest single wait before checking the cell again (a wake-up is never missed, this is a safety net). */
const WAIT_SLICE_MS = 50;
/**
 * After this long, go on without the lock and let SQLite arbitrate (its busy timeout is as long): a holder
 * that died cannot be released by a thread that is blocked here waiting for it.
 */
export const MAX_WAIT_MS = 5000;

/** fn under the lock when there is one (another thread writes to the database), else fn as it is. */
export function withLock<T>(lock: WriteLock | undefined, fn: () => T): T {
  return lock ? lock.run(fn) : fn();
}

/** ES2024 (Node 20, Bun and Deno have it; the project's TypeScript lib is ES2022). */
interface AtomicsWaitAsync {
  waitAsync(cell: Int32Array, index: number, value: number, timeoutMs: number): { async: false; value: string } | { async: true; value: Promise<string> };
}

export class WriteLock {
  /** Share this with the other thread (structured clone keeps it shared). */
  readonly buffer: SharedArrayBuffer;
  readonly #cell: Int32Array;
  readonly #id: number;
  readonly #maxWaitMs: number;
  #depth = 0;

  /** `id`: this thread's holder id (≥ 1, distinct per thread). */
  constructor(id: number, buffer: SharedArrayBuffer = new SharedArrayBuffer(4), opts: { readonly maxWaitMs?: number } = {}) {
    this.#maxWaitMs = opts.maxWaitMs ?? MAX_WAIT_MS;
    if (!Number.isInteger(id) || id < 1) throw new Error('a write lock holder id is an integer ≥ 1');
    this.buffer = buffer;
    this.#cell = new Int32Array(buffer);
    this.#id = id;
  }

  /** Runs fn holding the lock (re-entrant on the same thread). */
  run<T>(fn: () => T): T {
    if (this.#depth > 0) {
      this.#depth++;
      try {
        return fn();
      } finally {
        this.#depth--;
      }
    }
    let waited = 0;
    for (;;) {
      const holder = Atomics.compareExchange(this.#cell, 0, FREE, this.#id);
      if (holder === FREE) break;
      if (waited >= this.#maxWaitMs) return this.#unlocked(fn);
      const t0 = performance.now();
      Atomics.wait(this.#cell, 0, holder, WAIT_SLICE_MS);
      waited += performance.now() - t0;
    }
    this.#depth = 1;
    try {
      return fn();
    } finally {
      this.#depth = 0;
      Atomics.store(this.#cell, 0, FREE);
      Atomics.notify(this.#cell, 0, 1);
    }
  }

  #unlocked<T>(fn: () => T): T {
    this.#depth = 1;
    try {
      return fn();
    } finally {
      this.#depth = 0;
    }
  }

  /** Runs fn if the lock is free now (or already held by this thread); never waits. */
  tryRun<T>(fn: () => T): { readonly ran: true; readonly value: T } | { readonly ran: false } {
    if (this.#depth === 0 && Atomics.compareExchange(this.#cell, 0, FREE, this.#id) !== FREE) return { ran: false };
    if (this.#depth > 0) return { ran: true, value: this.run(fn) };
    this.#depth = 1;
    try {
      return { ran: true, value: fn() };
    } finally {
      this.#depth = 0;
      Atomics.store(this.#cell, 0, FREE);
      Atomics.notify(this.#cell, 0, 1);
    }
  }

  /** Resolves once the lock is released (or after a short while: try again then), without blocking the thread. */
  whenFree(): Promise<void> {
    const holder = Atomics.load(this.#cell, 0);
    if (holder === FREE) return Promise.resolve();
    const w = (Atomics as unknown as AtomicsWaitAsync).waitAsync(this.#cell, 0, holder, WAIT_SLICE_MS);
    return w.async ? w.value.then(() => undefined) : Promise.resolve();
  }

  /** The holder with this id died: free the lock if it held it. */
  forceRelease(holderId: number): boolean {
    if (Atomics.compareExchange(this.#cell, 0, holderId, FREE) !== holderId) return false;
    Atomics.notify(this.#cell, 0, 1);
    return true;
  }

  /** The id holding the lock now (0: free). */
  get holder(): number {
    return Atomics.load(this.#cell, 0);
  }
}
