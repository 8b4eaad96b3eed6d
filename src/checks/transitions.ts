/**
 * @module checks/transitions
 * Pure: how pings, the passing of time and tocsin's own restarts move a heartbeat check, and which alarm
 * each move owes. No clock and no database: times come in, the new state and the event go out, and the
 * caller stores the state, sends the event (the check's name as dedup key, its labels) and sets its timer
 * to `state.dueAt`.
 *
 * The rules, after healthchecks.io where issue #15 is silent (hc/api/models.py `Check.ping`,
 * `get_grace_start`; the pause and resume views):
 * - A `new` check has no deadline until its first success, as on healthchecks.io; only a start ping gives it
 *   one (the run must end within grace).
 * - While `up`, the check is due at the schedule's next time after the last success plus grace
 *   (checks/schedule `nextDue`), or at an open run's `started.at + grace` if that is sooner.
 * - A success ping makes it `up`. A fail ping or a non-zero exit status makes it `down` (`failed`) at once.
 *   A `log` ping changes nothing but the last ping's time, kind and body.
 * - A start ping opens a run (a later start replaces it, as healthchecks keeps one). An end pairs with it by
 *   `rid` when both carry one: a success with another rid still counts as a success but leaves the run open;
 *   a success without a rid, or a start without one, ends it; a fail ends it whatever its rid.
 * - A deadline that passes makes it `down`: `unfinished` when an open run's own deadline had passed by then,
 *   else `missing`. Both fire `HeartbeatMissing` (a success is missing either way; the summary says "started
 *   at … but did not finish"); `failed` fires `HeartbeatFailed` with the ping body as description.
 * - Events come only with a change to or from `down`: firing on the way down, resolved on the next success.
 *   A tick or a fail while already down owes nothing, and `why` keeps the reason of the firing alarm.
 *   Going down ends any open run (it has been reported; a later start opens a new one).
 * - Pausing (CheckSpec.paused) ends the run and clears the deadline; a check paused while down is resolved,
 *   because its alarm would otherwise fire, and be repeated, for as long as the pause lasts (healthchecks,
 *   which has no repeating alarm, sends nothing). Pings to a paused check are logged and change nothing: the
 *   pause is a setting (read-only for file checks), as with healthchecks' "manual resume"; healthchecks by
 *   default resumes a paused check on its next ping. Unpausing starts over as `new`, as healthchecks' resume
 *   does (the last ping's details are kept).
 * - After tocsin's own downtime (`onRestart`), a deadline that passed meanwhile moves to restart + grace with
 *   `restart_grace` (kept in `restartedAt`, so it survives recomputing); with `fire` the next tick fires.
 */
import { nextDue } from './schedule.ts';
import { DESCRIPTION_LIMIT, MAX_EXIT_STATUS } from './types.ts';
import type { AfterDowntime, CheckEvent, CheckSpec, CheckState, OpenStart, Ping, PingKind, Step } from './types.ts';

/** The state a check starts with. */
export function initialState(spec: CheckSpec): CheckState {
  return { status: spec.paused ? 'paused' : 'new' };
}

/** An exit status's kind: 0 is a success, 1–255 a fail. Throws a RangeError for anything else. */
export function kindOfExitStatus(exitStatus: number): 'success' | 'fail' {
  if (!Number.isInteger(exitStatus) || exitStatus < 0 || exitStatus > MAX_EXIT_STATUS) {
    throw new RangeError(`an exit status is an integer from 0 to ${MAX_EXIT_STATUS}, not ${exitStatus}`);
  }
  return exitStatus === 0 ? 'success' : 'fail';
}

/** One ping. Throws a RangeError for an exit status out of range or on a start or log ping. */
export function onPing(spec: CheckSpec, state: CheckState, ping: Ping): Step {
  const kind = kindOf(ping);
  const synced = syncPause(spec, state, ping.at);
  const s = synced.state;
  const logged: CheckState = { ...s, lastPingAt: ping.at, lastPingKind: kind, lastBody: ping.body };
  if (s.status === 'paused' || kind === 'log') return step(clean(logged), synced.event);
  if (kind === 'start') return step(withDue(spec, { ...logged, started: { at: ping.at, ...(ping.rid !== undefined && { rid: ping.rid }) } }));

  // An end: success or fail.
  const started = kind === 'success' ? stillOpen(s.started, ping.rid) : undefined;
  const end: CheckState = { ...logged, lastExitStatus: ping.exitStatus, started, restartedAt: undefined };
  if (kind === 'success') {
    const up: CheckState = { ...end, status: 'up', why: undefined, since: s.status === 'up' ? s.since : ping.at, lastSuccessAt: ping.at };
    return step(withDue(spec, up), s.status === 'down' ? { kind: 'resolved' } : undefined);
  }
  if (s.status === 'down') return step(clean(end));
  const down: CheckState = { ...end, status: 'down', why: 'failed', since: ping.at, dueAt: undefined };
  return step(clean(down), failed(spec, ping));
}

/** Time passes: the check goes down once its deadline has come (`now >= dueAt`). */
export function onTick(spec: CheckSpec, state: CheckState, now: number): Step {
  const synced = syncPause(spec, state, now);
  const s = synced.state;
  if ((s.status !== 'new' && s.status !== 'up') || s.dueAt === undefined || now < s.dueAt) return synced;
  const at = s.dueAt;
  const why = s.started !== undefined && s.started.at + spec.graceMs <= at ? 'unfinished' : 'missing';
  const down: CheckState = { ...s, status: 'down', why, since: at, started: undefined, dueAt: undefined, restartedAt: undefined };
  return step(clean(down), { kind: 'firing', name: 'HeartbeatMissing', summary: why === 'unfinished' ? unfinishedSummary(spec, s.started!) : missingSummary(spec, s) });
}

/**
 * tocsin starts again with a stored state. The deadline is recomputed under `spec` (the config may have
 * changed meanwhile); if it passed while tocsin was down, `restart_grace` moves it to `now + grace` and `fire`
 * leaves it, so the next tick fires. Pause changes are left to the next `onTick` (they may owe an event).
 */
export function onRestart(spec: CheckSpec, state: CheckState, now: number, afterDowntime: AfterDowntime): CheckState {
  const s = withDue(spec, state);
  if (afterDowntime === 'fire' || s.dueAt === undefined || s.dueAt > now) return s;
  return withDue(spec, { ...s, restartedAt: now });
}

/** The spec changed (schedule, grace, pause): the pause applied and the deadline recomputed. */
export function onSpecChange(spec: CheckSpec, state: CheckState, now: number): Step {
  const synced = syncPause(spec, state, now);
  return step(withDue(spec, synced.state), synced.event);
}

/**
 * When the check goes down unless pinged: for `new` and `up` the sooner of the schedule's deadline after the
 * last success (`up` only) and the open run's `started.at + grace`, not before `restartedAt + grace`;
 * undefined otherwise or when neither applies.
 */
export function computeDueAt(spec: CheckSpec, state: CheckState): number | undefined {
  if (state.status !== 'new' && state.status !== 'up') return undefined;
  let at = Infinity;
  if (state.status === 'up' && state.lastSuccessAt !== undefined) at = nextDue(spec, state.lastSuccessAt) ?? Infinity;
  if (state.started !== undefined) at = Math.min(at, state.started.at + spec.graceMs);
  if (at === Infinity) return undefined;
  return state.restartedAt === undefined ? at : Math.max(at, state.restartedAt + spec.graceMs);
}

function kindOf(ping: Ping): PingKind {
  if (ping.exitStatus === undefined) return ping.kind;
  if (ping.kind !== 'success' && ping.kind !== 'fail') throw new RangeError(`a ${ping.kind} ping carries no exit status`);
  return kindOfExitStatus(ping.exitStatus);
}

/** The open run after a success with `rid`: it stays open only when both carry a rid and they differ (a fail ends it always). */
function stillOpen(started: OpenStart | undefined, rid: string | undefined): OpenStart | undefined {
  if (started === undefined || rid === undefined || started.rid === undefined) return undefined;
  return started.rid.toLowerCase() === rid.toLowerCase() ? undefined : started;
}

/** Pause or unpause the state to match the spec; pausing a down check resolves its alarm. */
function syncPause(spec: CheckSpec, state: CheckState, now: number): Step {
  if (spec.paused === (state.status === 'paused')) return { state };
  const reset = { since: now, why: undefined, started: undefined, dueAt: undefined, restartedAt: undefined };
  if (spec.paused) return step(clean({ ...state, ...reset, status: 'paused' }), state.status === 'down' ? { kind: 'resolved' } : undefined);
  return { state: clean({ ...state, ...reset, status: 'new' }) };
}

function withDue(spec: CheckSpec, state: CheckState): CheckState {
  return clean({ ...state, dueAt: computeDueAt(spec, state) });
}

function step(state: CheckState, event?: CheckEvent): Step {
  return event === undefined ? { state } : { state, event };
}

/** The state without its undefined keys (a stored state round-trips through JSON unchanged). */
function clean(state: CheckState): CheckState {
  return Object.fromEntries(Object.entries(state).filter(([, v]) => v !== undefined)) as unknown as CheckState;
}

function failed(spec: CheckSpec, ping: Ping): CheckEvent {
  const code = ping.exitStatus !== undefined && ping.exitStatus !== 0 ? ` with exit status ${ping.exitStatus}` : '';
  const description = ping.body === undefined || ping.body.trim() === '' ? undefined : truncate(ping.body, DESCRIPTION_LIMIT);
  return { kind: 'firing', name: 'HeartbeatFailed', summary: `check "${spec.name}" failed${code}`, ...(description !== undefined && { description }) };
}

function missingSummary(spec: CheckSpec, s: CheckState): string {
  const sch = spec.schedule;
  const expected = sch.kind === 'period' ? `every ${human(sch.periodMs)}` : `at "${sch.expr}" (${sch.tz})`;
  const last = s.lastSuccessAt === undefined ? 'none' : new Date(s.lastSuccessAt).toISOString();
  return `check "${spec.name}" did not ping in time (expected ${expected}, grace ${human(spec.graceMs)}; last success ${last})`;
}

function unfinishedSummary(spec: CheckSpec, started: OpenStart): string {
  return `check "${spec.name}" started at ${new Date(started.at).toISOString()} but did not finish within its grace time (${human(spec.graceMs)})`;
}

/** At most `max` UTF-16 code units, ending in "…" when cut (never halving a surrogate pair). */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** Milliseconds as the config writes them: the largest unit that divides them ("1d", "90s", "1500ms"). */
function human(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
