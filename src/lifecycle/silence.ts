/**
 * @module lifecycle/silence
 * Silences (maintenance windows), pure: which one mutes an alarm now, and when the set of active
 * silences changes next.
 */
import type { AlarmInput } from '../domain/alarm.ts';
import type { RouteConfig } from '../config/types.ts';
import { matchesAlarm } from '../routing/route.ts';

export interface Silence {
  readonly id: string;
  /** Compiled from `matchText` (the syntax of routes[].match). */
  readonly match: RouteConfig['match'];
  /** The match object as written (JSON), for storage and the API. */
  readonly matchText: string;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly comment: string;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export function isActive(s: Silence, now: number): boolean {
  return s.startsAt <= now && now < s.endsAt;
}

/** The id of the first active silence that matches the alarm (the one created first), if any. */
export function silencing(silences: readonly Silence[], a: AlarmInput, now: number): string | undefined {
  for (const s of silences) if (isActive(s, now) && matchesAlarm(s.match, a)) return s.id;
  return undefined;
}

/** The next time after `now` when a silence starts or ends (Infinity: none). */
export function nextBoundary(silences: readonly Silence[], now: number): number {
  let at = Infinity;
  for (const s of silences) {
    if (s.startsAt > now) at = Math.min(at, s.startsAt);
    if (s.endsAt > now) at = Math.min(at, s.endsAt);
  }
  return at;
}
