/**
 * @module outbox/rebase
 * Moves the outbox's schedule by a step of the wall clock (app/clock-watch noticed it). The times of every
 * undelivered notification (created_at, which max_age counts from; next_attempt_at; lease_until) move by
 * the step, and so does the relay's clock (lib/monotonic-clock), together: under the write lock (the
 * delivery thread writes nothing meanwhile; the outcomes it holds are converted as it writes them, see
 * outbox/delivery onSteadyTime) and after one transaction. A retry then stays as far away as its backoff
 * said, a lease as long as it was, and max_age keeps counting the time that really passed.
 *
 * The lifecycle's timers (alarm_states.wake_at, the groups' times) move too. Sent and dead notifications,
 * attempts and alarms keep their times: they are history, not schedule.
 */
import type { Connection } from './db.ts';
import { changed } from './delivery.ts';
import { withLock, type WriteLock } from './write-lock.ts';

const REBASE = `UPDATE notifications SET created_at = created_at + ?, next_attempt_at = next_attempt_at + ?, lease_until = lease_until + ?
  WHERE state IN ('pending', 'inflight')`;

/** The lifecycle's timers move with it (a repeat or a group stays as far away as it was). */
const REBASE_TIMERS = [
  'UPDATE alarm_states SET wake_at = wake_at + ? WHERE wake_at IS NOT NULL',
  'UPDATE alarm_groups SET flush_at = flush_at + ?, last_flush_at = last_flush_at + ?',
];

/** Moves the undelivered notifications and the clock by stepMs; returns how many notifications moved. */
export function rebaseOutbox(conn: Connection, lock: WriteLock | undefined, clock: { move(ms: number): void }, stepMs: number): number {
  const step = Math.round(stepMs);
  return withLock(lock, () => {
    const moved = conn.raw.transaction(() => {
      const n = changed(conn.raw.prepare(REBASE).run(step, step, step));
      conn.raw.prepare(REBASE_TIMERS[0]!).run(step);
      conn.raw.prepare(REBASE_TIMERS[1]!).run(step, step);
      return n;
    });
    // Committed: the clock moves before the lock is released, so no write sees one without the other.
    clock.move(step);
    return moved;
  });
}
