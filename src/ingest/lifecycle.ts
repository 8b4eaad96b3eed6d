/**
 * @module ingest/lifecycle
 * The lifecycle applied inside the outbox transaction: each accepted occurrence updates its alarm's
 * state and enqueues what the state change owes (lifecycle/state); the timer's `wake` expires alarms
 * past their `ends_at`, sends repeats and the ends of flap-damping holds, and sends the groups that are
 * due; `sweep` applies a change of the silences to every firing alarm.
 *
 * Everything here runs inside the caller's transaction and keeps no state of its own, so a job the
 * group committer runs again (or a crash before COMMIT) leaves nothing half done: the state, the alarm
 * and its notifications commit together.
 */
import type { Alarm } from '../domain/alarm.ts';
import type { RouteConfig } from '../config/types.ts';
import type { IdGenerator } from '../lib/ids.ts';
import type { Enqueuer } from '../outbox/enqueue.ts';
import type { LifecycleStore } from '../outbox/lifecycle-store.ts';
import { policiesFor, type PolicyContext } from '../lifecycle/policies.ts';
import { silencing, type Silence } from '../lifecycle/silence.ts';
import { expired, occur, reconcile, type AlarmState, type MethodPolicy, type Send } from '../lifecycle/state.ts';

export interface LifecycleDeps {
  readonly states: LifecycleStore;
  readonly enqueue: Pick<Enqueuer, 'insertAlarm' | 'insertNotification'>;
  readonly ids: IdGenerator;
  /** The routes now (a reload swaps them). */
  readonly routes: () => readonly RouteConfig[];
  readonly policy: PolicyContext;
  /** The silences now (active and to come). */
  readonly silences: () => readonly Silence[];
  readonly notifyUnknownResolved: () => boolean;
}

/** Most states or groups handled in one wake (the timer comes back at once when there are more). */
const WAKE_LIMIT = 500;

export class Lifecycle {
  readonly #d: LifecycleDeps;

  constructor(deps: LifecycleDeps) {
    this.#d = deps;
  }

  /** The methods of an alarm and how it goes to each (the routes now). */
  policies(a: Alarm): MethodPolicy[] {
    return policiesFor(a, this.#d.routes(), this.#d.policy);
  }

  /** The silence muting `a` now, if any. */
  silencedBy(a: Alarm, now: number): string | undefined {
    return silencing(this.#d.silences(), a, now);
  }

  /**
   * One accepted occurrence (its alarm row already inserted): updates the state, enqueues what it owes.
   * Returns the ids of the notifications enqueued now (grouped ones go out later).
   */
  occurrence(alarm: Alarm, policies: readonly MethodPolicy[], quiet: boolean, now: number, notifyUnknownResolved = false): string[] {
    const { states } = this.#d;
    const prev = states.getState(alarm.source, alarm.dedupKey);
    const silencedBy = this.silencedBy(alarm, now);
    const d = occur(
      prev,
      alarm,
      { alarmId: alarm.id, status: alarm.status, ...(alarm.endsAt !== undefined && { endsAt: alarm.endsAt }), ...(silencedBy && { silencedBy }), quiet },
      policies,
      now,
      { notifyUnknownResolved: notifyUnknownResolved || this.#d.notifyUnknownResolved() },
    );
    const e = this.#emit(d.state, d.sends, policies, now);
    states.putState(e.state);
    return e.ids;
  }

  /**
   * Timer work due by `now`: expiries, repeats, ends of holds, groups. `downtime`: when the relay
   * started, and until when an `ends_at` that passed while it was down is held (its sender gets that
   * long to refresh the alarm, as it would have had tocsin been up: Prometheus re-sends every minute).
   */
  wake(now: number, downtime?: { readonly startedAt: number; readonly holdUntil: number }): { notifications: number; more: boolean } {
    const { states } = this.#d;
    let notifications = 0;
    const due = states.dueStates(now, WAKE_LIMIT);
    for (const st of due) {
      const alarm = states.getAlarm(st.alarmId);
      if (!alarm) {
        // Only a hand-edited database gets here: forget the timer rather than wake for it forever.
        const { wakeAt: _, ...rest } = st;
        states.putState(rest);
        continue;
      }
      if (expired(st, now)) {
        if (downtime && st.endsAt! < downtime.startedAt && now < downtime.holdUntil) {
          states.putState({ ...st, wakeAt: downtime.holdUntil });
          continue;
        }
        notifications += this.#expire(st, alarm, now);
        continue;
      }
      const policies = this.policies(alarm);
      const r = reconcile(st, policies, now);
      notifications += this.#put(r.state, r.sends, policies, now);
    }
    const groups = states.dueGroups(now, WAKE_LIMIT);
    for (const g of groups) {
      const alarmIds = [...new Set(g.members.map((m) => m.alarmId))];
      if (alarmIds.length > 0) {
        const repeat = g.members.every((m) => m.repeat > 0) ? Math.max(...g.members.map((m) => m.repeat)) : 0;
        const id = this.#d.ids.notification();
        this.#d.enqueue.insertNotification({ id, alarmIds, method: g.method, createdAt: now, repeat, ...(g.lastNotificationId && { afterId: g.lastNotificationId }) });
        notifications++;
        states.flushed(g.key, now, id);
      } else states.flushed(g.key, now, g.lastNotificationId);
    }
    return { notifications, more: due.length === WAKE_LIMIT || groups.length === WAKE_LIMIT };
  }

  /**
   * The silences changed (one was added or expired, or one started or ended): every firing alarm's
   * `silenced_by` is set again, and what that owes is sent (a silence that ended releases the firing
   * alarms it held). Returns the notifications enqueued.
   */
  sweep(now: number, silences: readonly Silence[] = this.#d.silences()): number {
    const { states } = this.#d;
    let notifications = 0;
    for (const { state, alarm } of states.firing()) {
      const sid = silencing(silences, alarm, now);
      if (sid === state.silencedBy) continue;
      const { silencedBy: _, ...rest } = state;
      const next: AlarmState = sid === undefined ? rest : { ...rest, silencedBy: sid };
      const policies = this.policies(alarm);
      const r = reconcile(next, policies, now);
      notifications += this.#put(r.state, r.sends, policies, now);
    }
    return notifications;
  }

  /** A firing alarm past its ends_at: a resolved occurrence of it, made now. */
  #expire(st: AlarmState, latest: Alarm, now: number): number {
    const { endsAt: _, ...rest } = latest;
    const resolved: Alarm = { ...rest, id: this.#d.ids.alarm(), status: 'resolved', occurredAt: st.endsAt ?? now, receivedAt: now };
    const policies = this.policies(resolved);
    this.#d.enqueue.insertAlarm(resolved, policies.length);
    const d = occur(st, st, { alarmId: resolved.id, status: 'resolved' }, policies, now, { notifyUnknownResolved: false });
    return this.#put(d.state, d.sends, policies, now);
  }

  /** Enqueues the sends and stores the state (its timer never due at once); returns the notifications enqueued. */
  #put(state: AlarmState, sends: readonly Send[], policies: readonly MethodPolicy[], now: number): number {
    const e = this.#emit(state, sends, policies, now);
    this.#d.states.putState(notBefore(e.state, now));
    return e.ids.length;
  }

  /**
   * Enqueues the sends of one state (its latest occurrence), each after the method's previous one of
   * this alarm (its mark's id, which becomes the new one's), or gathers them in their groups.
   */
  #emit(state: AlarmState, sends: readonly Send[], policies: readonly MethodPolicy[], now: number): { state: AlarmState; ids: string[] } {
    if (sends.length === 0) return { state, ids: [] };
    const ids: string[] = [];
    const methods = { ...state.methods };
    for (const s of sends) {
      const group = policies.find((p) => p.method === s.method)?.group;
      if (group) {
        this.#d.states.gather(group.key, s.method, state.alarmId, s.repeat, now, group.waitMs, group.intervalMs);
        continue;
      }
      const id = this.#d.ids.notification();
      const mark = methods[s.method];
      this.#d.enqueue.insertNotification({
        id, alarmIds: [state.alarmId], method: s.method, createdAt: now, repeat: s.repeat, ...(mark?.id !== undefined && { afterId: mark.id }),
      });
      if (mark) methods[s.method] = { ...mark, id };
      ids.push(id);
    }
    return { state: { ...state, methods }, ids };
  }
}

/** A timer never due again at once (a state whose next event is now would be woken in a loop). */
function notBefore(s: AlarmState, now: number): AlarmState {
  return s.wakeAt !== undefined && s.wakeAt <= now ? { ...s, wakeAt: now + 1000 } : s;
}
