/**
 * @module outbox/group-commit
 * Group commit: work submitted while a commit is being prepared shares one transaction (one fsync).
 * A caller is told "committed" only after the COMMIT returned.
 *
 * A job that throws must not fail its neighbours (a poison message from Kafka would turn other requests
 * into 503s): the batch is rolled back and run again in halves, and so on down to the job alone, so the
 * poison job rejects with its error and the others commit (k poison jobs in a batch of n cost about
 * 2k·log2(n) extra transactions, not n). Jobs must therefore be re-runnable: only the result of the run
 * that committed counts. If the COMMIT itself fails (disk full), every job rejects.
 *
 * A transaction that fails because another process holds the database's write lock (`storageError`) is
 * not an answer: its jobs wait, without blocking the event loop, and run again after 10, 20, 40 … 200 ms,
 * each job until `maxWaitMs` after it was submitted, when it rejects with `giveUp(error)`.
 */
import { coerceError } from '../lib/errors.ts';

type Job = { run: () => unknown; resolve: (v: unknown) => void; reject: (e: Error) => void; after?: (v: unknown) => void; since: number };

export interface GroupCommitter {
  /** Runs `work` inside a shared transaction; resolves after the COMMIT. `afterCommit` runs once committed, before resolve. */
  submit<T>(work: () => T, afterCommit?: (v: T) => void): Promise<T>;
  /** Jobs waiting for the next commit. */
  readonly queued: number;
  /** Resolves once every job submitted so far has committed or failed. */
  drain(): Promise<void>;
}

export interface GroupCommitOptions {
  /** Runs fn in one transaction. */
  transaction<T>(fn: () => T): T;
  /** Called once per commit with the number of jobs, for metrics. */
  onCommit?: (jobs: number, ms: number) => void;
  now?: () => number;
  /** An afterCommit hook threw (the job is committed and still resolves). */
  onAfterCommitError?: (e: Error) => void;
  /** Upper bound on jobs per transaction. */
  maxBatch?: number;
  /** How the next flush is scheduled (setImmediate by default: after pending I/O callbacks have queued their work). */
  schedule?: (fn: () => void) => void;
  /** A transaction failed: its error (for the storage health), before the jobs are retried or rejected. */
  onError?: (e: Error) => void;
  /**
   * What an error says about the storage rather than a job: "wait" (the database locked by another
   * process: the jobs wait and run again), "fail" (a full disk, an I/O error: every job rejects, none is
   * blamed), undefined (the job's own error: see above).
   */
  storageError?: (e: Error) => 'wait' | 'fail' | undefined;
  /** How long a job may wait for a retryable error to clear (default 5000 ms). */
  maxWaitMs?: number;
  /** What jobs reject with after a storage error (they waited too long, or it was "fail"); default: the error itself. */
  storageRejection?: (e: Error) => Error;
  /** Timers for the retries (setTimeout by default). */
  after?: (ms: number, fn: () => void) => void;
}

/** Retry delays after a retryable failure: 10 ms, doubling, at most 200 ms. */
const FIRST_RETRY_MS = 10;
const MAX_RETRY_MS = 200;

export function createGroupCommitter(opts: GroupCommitOptions): GroupCommitter {
  const schedule = opts.schedule ?? ((fn) => setImmediate(fn));
  const now = opts.now ?? (() => performance.now());
  const maxBatch = opts.maxBatch ?? 2000;
  const maxWaitMs = opts.maxWaitMs ?? 5000;
  const after = opts.after ?? ((ms, fn) => void setTimeout(fn, ms));
  let queue: Job[] = [];
  let scheduled = false;
  /** Set while the jobs wait for a retryable error to clear: the next flush is the retry timer's. */
  let retryMs = 0;
  let retryArmed = false;

  const flush = () => {
    scheduled = false;
    const jobs = queue.length > maxBatch ? queue.splice(0, maxBatch) : queue;
    if (jobs === queue) queue = [];
    run(jobs);
    if (queue.length > 0) arm();
  };

  /** One transaction for the jobs; if one of them throws, each half again (a lone job rejects). */
  const run = (jobs: Job[]) => {
    const t0 = now();
    const results: unknown[] = [];
    let jobFailed = false;
    try {
      opts.transaction(() => {
        for (const job of jobs) {
          try {
            results.push(job.run());
          } catch (e) {
            jobFailed = opts.storageError?.(coerceError(e)) === undefined;
            throw e;
          }
        }
      });
    } catch (e) {
      if (jobFailed && jobs.length > 1) {
        const half = Math.ceil(jobs.length / 2);
        run(jobs.slice(0, half));
        run(jobs.slice(half));
        return;
      }
      const err = coerceError(e);
      opts.onError?.(err);
      const storage = jobFailed ? undefined : opts.storageError?.(err);
      if (storage === 'wait') return wait(jobs, err);
      const reason = storage ? (opts.storageRejection?.(err) ?? err) : err;
      for (const job of jobs) job.reject(reason);
      settled(jobs.length);
      return;
    }
    retryMs = 0;
    committed(jobs, results, t0);
  };

  /** The jobs go back to the front of the queue, but those that waited long enough reject. */
  const wait = (jobs: Job[], err: Error) => {
    const t = now();
    const expired = jobs.filter((j) => t - j.since >= maxWaitMs);
    if (expired.length > 0) {
      const reason = opts.storageRejection?.(err) ?? err;
      for (const job of expired) job.reject(reason);
      settled(expired.length);
    }
    queue = jobs.filter((j) => t - j.since < maxWaitMs).concat(queue);
    retryMs = Math.min(retryMs === 0 ? FIRST_RETRY_MS : retryMs * 2, MAX_RETRY_MS);
    if (queue.length === 0) {
      retryMs = 0;
      return;
    }
    if (retryArmed) return;
    retryArmed = true;
    scheduled = true;
    after(retryMs, () => {
      retryArmed = false;
      flush();
    });
  };

  const committed = (jobs: Job[], results: unknown[], t0: number) => {
    try {
      opts.onCommit?.(jobs.length, now() - t0);
    } catch (e) {
      opts.onAfterCommitError?.(coerceError(e));
    }
    jobs.forEach((job, i) => {
      try {
        job.after?.(results[i]);
      } catch (e) {
        opts.onAfterCommitError?.(coerceError(e));
      }
      job.resolve(results[i]);
    });
    settled(jobs.length);
  };

  let unsettled = 0;
  let drained: (() => void)[] = [];
  const settled = (n: number) => {
    unsettled -= n;
    if (unsettled > 0 || drained.length === 0) return;
    const waiting = drained;
    drained = [];
    for (const w of waiting) w();
  };

  const arm = () => {
    if (scheduled) return;
    scheduled = true;
    schedule(flush);
  };

  return {
    submit<T>(work: () => T, afterCommit?: (v: T) => void): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ run: work, resolve: resolve as (v: unknown) => void, reject, after: afterCommit as ((v: unknown) => void) | undefined, since: now() });
        unsettled++;
        arm();
      });
    },
    get queued() {
      return queue.length;
    },
    drain() {
      return unsettled === 0 ? Promise.resolve() : new Promise<void>((r) => drained.push(r));
    },
  };
}
