/**
 * @module lifecycle/group
 * Grouping windows, pure: when a group's gathered alarms go out.
 */

/**
 * An empty group that gets an alarm at `now` goes out `waitMs` later (group_wait), but not sooner than
 * `intervalMs` after the group last went out (group_interval). A group already gathering keeps its time.
 */
export function groupFlushAt(now: number, waitMs: number, intervalMs: number, lastFlushAt: number | undefined): number {
  return Math.max(now + waitMs, lastFlushAt === undefined ? -Infinity : lastFlushAt + intervalMs);
}
