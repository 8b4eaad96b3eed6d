/**
 * @module lifecycle/state
 * The alarm lifecycle, pure: the state kept per (source, dedup key) and what each event owes each
 * method. No clock and no database: times come in, decisions go out, and the caller stores both.
 *
 * The model is "desired versus told" per method. A method is owed the alarm's status when it differs
 * from the status last notified to it (`MethodMark.st`):
 * - firing is owed while the alarm fires and is neither silenced nor quiet (recorded, not notified);
 * - resolved is owed only to a method that was told firing (a resolve of an alarm whose firing was never
 *   notified, being silenced or quiet, stays unsaid), or, with `notify_unknown_resolved`, for the first
 *   resolved of a key never seen.
 * So a repeat of the current state owes nothing, a state change owes its status, and the end of a
 * silence owes the still-firing alarm. Flap damping holds a state change back until `min_state_interval`
 * after the method's last one, and then sends the latest state if it still differs. A firing alarm that
 * was told is reminded every `repeat_interval` while it fires and is not silenced.
 */
import type { AlarmStatus } from '../domain/alarm.ts';

/** What a method was last told about one alarm. */
export interface MethodMark {
  /** The status last notified. */
  readonly st: AlarmStatus;
  /** When that state change was notified (flap damping counts from here). */
  readonly at: number;
  /** When the last notification of it (state change or repeat) was made (repeats count from here). */
  readonly rat: number;
  /** Repeats sent since the state change. */
  readonly n: number;
  /** A state change is held back by flap damping (sent, if still owed, at `at + min_state_interval`). */
  readonly hold?: true;
  /** The last notification made for it (set by the caller): the next one is delivered after it. */
  readonly id?: string;
}

/** The stored state of one alarm (per source and dedup key). */
export interface AlarmState {
  readonly source: string;
  readonly dedupKey: string;
  readonly status: AlarmStatus;
  /** When the current status began. */
  readonly since: number;
  readonly lastSeen: number;
  /** Occurrences seen in the current status. */
  readonly count: number;
  /** The latest occurrence (its labels and texts go into timer-made notifications). */
  readonly alarmId: string;
  /** A firing alarm resolves by itself at this time unless refreshed. */
  readonly endsAt?: number;
  /** The silence muting it now. */
  readonly silencedBy?: string;
  /** Its latest occurrence was recorded without notifying (its source disabled notifications for it): nothing is owed until the next. */
  readonly quiet?: true;
  readonly methods: Readonly<Record<string, MethodMark>>;
  /** The next time the timer has work for it (see wakeAt). */
  readonly wakeAt?: number;
}

/** How one method gets one alarm: from the route that sent the alarm there. */
export interface MethodPolicy {
  readonly method: string;
  /** Remind every so often while firing (route's repeat_interval, else the method's). */
  readonly repeatMs?: number;
  /** At least this long between two state-change notifications of one alarm (route's min_state_interval). */
  readonly minStateMs?: number;
  /** Gathered with others (route's group_by), when the method's channel can carry several alarms. */
  readonly group?: { readonly key: string; readonly waitMs: number; readonly intervalMs: number };
}

/** One notification owed: to `method`, of `status`; `repeat` > 0 for a reminder. */
export interface Send {
  readonly method: string;
  readonly status: AlarmStatus;
  readonly repeat: number;
}

export interface Occurrence {
  readonly alarmId: string;
  readonly status: AlarmStatus;
  readonly endsAt?: number;
  /** The silence matching it now, if any. */
  readonly silencedBy?: string;
  /** Recorded but not notified (its source disabled notifications for it). */
  readonly quiet?: boolean;
}

export interface Decision {
  readonly state: AlarmState;
  readonly sends: readonly Send[];
  /** The status changed (or the key is new). */
  readonly changed: boolean;
}

/** Applies one occurrence to the stored state (undefined: a key never seen). */
export function occur(
  prev: AlarmState | undefined,
  key: { readonly source: string; readonly dedupKey: string },
  o: Occurrence,
  policies: readonly MethodPolicy[],
  now: number,
  opts: { readonly notifyUnknownResolved: boolean },
): Decision {
  const changed = prev === undefined || prev.status !== o.status;
  const base: AlarmState = {
    source: key.source,
    dedupKey: key.dedupKey,
    status: o.status,
    since: changed ? now : prev.since,
    lastSeen: now,
    count: changed ? 1 : prev.count + 1,
    alarmId: o.alarmId,
    ...(o.status === 'firing' && o.endsAt !== undefined && { endsAt: o.endsAt }),
    ...(o.silencedBy !== undefined && { silencedBy: o.silencedBy }),
    ...(o.quiet && { quiet: true as const }),
    methods: prev?.methods ?? {},
  };
  const unknownResolved = prev === undefined && o.status === 'resolved' && opts.notifyUnknownResolved;
  const r = o.quiet ? { state: withWake(base, policies), sends: [] } : reconcile(base, policies, now, unknownResolved);
  return { state: changed && o.status === 'resolved' ? untold(r.state, policies, o.quiet === true) : r.state, sends: r.sends, changed };
}

/**
 * The alarm resolved, but some methods told its firing are not told the resolve: the routes no longer
 * send it to them (a route on `status: firing`, a severity that changed) or the resolve is quiet. They
 * are marked resolved all the same, so the alarm's next firing is news to them again (left "firing",
 * they would never hear of it). A method holding a change back (flap damping) keeps its hold.
 */
function untold(state: AlarmState, policies: readonly MethodPolicy[], quiet: boolean): AlarmState {
  let methods: Record<string, MethodMark> | undefined;
  for (const [m, mark] of Object.entries(state.methods)) {
    if (mark.st !== 'firing' || mark.hold || (!quiet && policies.some((p) => p.method === m))) continue;
    methods ??= { ...state.methods };
    methods[m] = { ...mark, st: 'resolved' };
  }
  return methods ? { ...state, methods } : state;
}

/** What is owed now (a silence ended, a damping hold or a repeat fell due): the state with its marks updated. */
export function reconcile(
  state: AlarmState,
  policies: readonly MethodPolicy[],
  now: number,
  unknownResolved = false,
): { state: AlarmState; sends: Send[] } {
  const methods: Record<string, MethodMark> = { ...state.methods };
  const sends: Send[] = [];
  for (const p of policies) {
    const mark = methods[p.method];
    const owed = owes(state, mark, unknownResolved);
    if (owed) {
      // Flap damping: too soon after this method's last state change; the hold ends at mark.at + min.
      if (p.minStateMs !== undefined && mark && now - mark.at < p.minStateMs) {
        if (!mark.hold) methods[p.method] = { ...mark, hold: true };
        continue;
      }
      sends.push({ method: p.method, status: state.status, repeat: 0 });
      methods[p.method] = { st: state.status, at: now, rat: now, n: 0, ...(mark?.id !== undefined && { id: mark.id }) };
      continue;
    }
    if (mark?.hold && (p.minStateMs === undefined || now - mark.at >= p.minStateMs)) {
      // The hold ended and the latest state is what the method was told: nothing to say.
      const { hold: _, ...rest } = mark;
      methods[p.method] = rest;
    }
    const m = methods[p.method];
    if (m && repeatDue(state, m, p, now)) {
      sends.push({ method: p.method, status: 'firing', repeat: m.n + 1 });
      methods[p.method] = { ...m, rat: now, n: m.n + 1 };
    }
  }
  return { state: withWake({ ...state, methods }, policies), sends };
}

function owes(state: AlarmState, mark: MethodMark | undefined, unknownResolved: boolean): boolean {
  if (state.quiet) return false;
  if (state.status === 'firing') return state.silencedBy === undefined && mark?.st !== 'firing';
  return mark?.st === 'firing' || (unknownResolved && mark === undefined);
}

function repeatDue(state: AlarmState, m: MethodMark, p: MethodPolicy, now: number): boolean {
  return !state.quiet && p.repeatMs !== undefined && state.status === 'firing' && state.silencedBy === undefined && m.st === 'firing' && !m.hold && now >= m.rat + p.repeatMs;
}

/** The state with `wakeAt` set to its next timed event: expiry, the end of a hold, a repeat. */
export function withWake(state: AlarmState, policies: readonly MethodPolicy[]): AlarmState {
  let at = state.status === 'firing' && state.endsAt !== undefined ? state.endsAt : Infinity;
  for (const p of policies) {
    const m = state.methods[p.method];
    if (!m) continue;
    if (m.hold && p.minStateMs !== undefined) at = Math.min(at, m.at + p.minStateMs);
    else if (p.repeatMs !== undefined && !state.quiet && state.status === 'firing' && state.silencedBy === undefined && m.st === 'firing') {
      at = Math.min(at, m.rat + p.repeatMs);
    }
  }
  const { wakeAt: _, ...rest } = state;
  return at === Infinity ? rest : { ...rest, wakeAt: at };
}

/** A firing alarm whose `ends_at` has passed resolves by itself. */
export function expired(state: AlarmState, now: number): boolean {
  return state.status === 'firing' && state.endsAt !== undefined && state.endsAt <= now;
}
