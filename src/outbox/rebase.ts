/**
 * @module outbox/rebase
 * Moves the outbox's schedule by a step of the wall clock (app/clock-watch noticed it). The times of every
 * undelivered notification (created_at, which max_age counts from; next_attempt_at; lease_until) move by
 * the step, and so does the relay's clock (lib/monotonic-clock), together: under the write lock (the
 * delivery thread writes nothing meanwhile; the outcomes it holds are converted as it writes them, see
 * outbox/delivery onSteadyTime) and after one transaction. A retry then stays as far away as its backoff
 * said, a lease as long as it was, and max_age keeps counting the time that really passed.
 *
 * The lifecycle's times (when each method was told, the groups' times) move too. Sent and dead notifications,
 * attempts and alarms keep their times: they are history, not schedule.
 */
import type { Connection } from './db.ts';
import { changed } from './delivery.ts';
import { withLock, type WriteLock } from './write-lock.ts';

const REBASE = `UPDATE notifications SET created_at = created_at + ?, next_attempt_at = next_attempt_at + ?, lease_until = lease_until + ?
  WHERE state IN ('pending', 'inflight')`;

/**
 * The lifecycle's times move with it: when each method was last told (flap damping and reminders count
 * from there) and the groups' times. Every timer is then due at once: the next tick works each one out
 * again from the moved times (`ends_at` and the silences are the sources' wall times and stay).
 */
const REBASE_TIMERS = [
  `UPDATE alarm_states SET wake_at = CASE WHEN wake_at IS NULL THEN NULL ELSE 0 END,
     methods = (SELECT json_group_object(e.key, json_set(e.value, '$.at', json_extract(e.value, '$.at') + ?, '$.rat', json_extract(e.value, '$.rat') + ?))
                FROM json_each(alarm_states.methods) e)
   WHERE (status = 'firing' OR wake_at IS NOT NULL) AND methods != '{}'`,
  'UPDATE alarm_groups SET flush_at = flush_at + ?, last_flush_at = last_flush_at + ?',
];

/** Moves the undelivered notifications and the clock by stepMs; returns how many notifications moved. */
export function rebaseOutbox(conn: Connection, lock: WriteLock | undefined, clock: { move(ms: number): void }, stepMs: number): number {
  const step = Math.round(stepMs);
  return withLock(lock, () => {
    const moved = conn.raw.transaction(() => {
      const n = changed(conn.raw.prepare(REBASE).run(step, step, step));
      conn.raw.prepare(REBASE_TIMERS[0]!).run(step, step);
      conn.raw.prepare(REBASE_TIMERS[1]!).run(step, step);
      return n;
    });
    // Committed: the clock moves before the lock is released, so no write sees one without the other.
    clock.move(step);
    return moved;
  });
}
