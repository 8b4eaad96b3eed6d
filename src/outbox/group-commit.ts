/**
 * @module outbox/group-commit
 * Group commit: work submitted while a commit is being prepared shares one transaction (one fsync).
 * If any job or the COMMIT fails, the whole batch rolls back and every job in it rejects (callers
 * answer 503 and clients retry): a caller is told "committed" only after the COMMIT returned.
 */
import { coerceError } from '../lib/errors.ts';

type Job = { run: () => unknown; resolve: (v: unknown) => void; reject: (e: Error) => void; after?: (v: unknown) => void };

export interface GroupCommitter {
  /** Runs `work` inside a shared transaction; resolves after the COMMIT. `afterCommit` runs once committed, before resolve. */
  submit<T>(work: () => T, afterCommit?: (v: T) => void): Promise<T>;
  /** Jobs waiting for the next commit. */
  readonly queued: number;
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
}

export function createGroupCommitter(opts: GroupCommitOptions): GroupCommitter {
  const schedule = opts.schedule ?? ((fn) => setImmediate(fn));
  const now = opts.now ?? (() => performance.now());
  const maxBatch = opts.maxBatch ?? 2000;
  let queue: Job[] = [];
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    const jobs = queue.length > maxBatch ? queue.splice(0, maxBatch) : queue;
    if (jobs === queue) queue = [];
    if (queue.length > 0) arm();
    const results: unknown[] = [];
    const t0 = now();
    try {
      opts.transaction(() => {
        for (const job of jobs) results.push(job.run());
      });
    } catch (e) {
      const err = coerceError(e);
      for (const job of jobs) job.reject(err);
      return;
    }
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
  };

  const arm = () => {
    if (scheduled) return;
    scheduled = true;
    schedule(flush);
  };

  return {
    submit<T>(work: () => T, afterCommit?: (v: T) => void): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ run: work, resolve: resolve as (v: unknown) => void, reject, after: afterCommit as ((v: unknown) => void) | undefined });
        arm();
      });
    },
    get queued() {
      return queue.length;
    },
  };
}
