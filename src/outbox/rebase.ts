/**
 * @module outbox/rebase
 * Moves the outbox's schedule by a step of the wall clock (app/clock-watch noticed it). The times of every
 * undelivered notification (created_at, which max_age counts from; next_attempt_at; lease_until) move by
 * the step, and so does the relay's clock (lib/monotonic-clock), together: under the write lock (the
 * delivery thread writes nothing meanwhile; the outcomes it holds are converted as it writes them, see
 * outbox/delivery onSteadyTime) and after one transaction. A retry then stays as far away as its backoff
 * said, a lease as long as it was, and max_age keeps counting the time that really passed.
 *
 * Sent and dead notifications, attempts and alarms keep their times: they are history, not schedule.
 */
import type { Connection } from './db.ts';
import { changed } from './delivery.ts';
import { withLock, type WriteLock } from './write-lock.ts';

const REBASE = `UPDATE notifications SET created_at = created_at + ?, next_attempt_at = next_attempt_at + ?, lease_until = lease_until + ?
  WHERE state IN ('pending', 'inflight')`;

/** Moves the undelivered notifications and the clock by stepMs; returns how many notifications moved. */
export function rebaseOutbox(conn: Connection, lock: WriteLock | undefined, clock: { move(ms: number): void }, stepMs: number): number {
  const step = Math.round(stepMs);
  return withLock(lock, () => {
    const moved = conn.raw.transaction(() => changed(conn.raw.prepare(REBASE).run(step, step, step)));
    // Committed: the clock moves before the lock is released, so no write sees one without the other.
    clock.move(step);
    return moved;
  });
}
