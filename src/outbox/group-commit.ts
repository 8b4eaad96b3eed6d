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
 */
import { coerceError } from '../lib/errors.ts';

type Job = { run: () => unknown; resolve: (v: unknown) => void; reject: (e: Error) => void; after?: (v: unknown) => void };

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
    run(jobs);
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
            jobFailed = true;
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
      for (const job of jobs) job.reject(err);
      settled(jobs.length);
      return;
    }
    committed(jobs, results, t0);
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
        queue.push({ run: work, resolve: resolve as (v: unknown) => void, reject, after: afterCommit as ((v: unknown) => void) | undefined });
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
