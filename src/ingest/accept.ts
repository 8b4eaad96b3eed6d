/**
 * @module ingest/accept
 * The transport-free heart of ingest: dedup (idempotency) → route → lifecycle (state per alarm: a change
 * notifies, a repeat does not) → enqueue, all in one group-committed transaction. It resolves only after
 * the alarm, its state and its notifications are committed.
 */
import type { Alarm } from '../domain/alarm.ts';
import type { IdGenerator } from '../lib/ids.ts';
import type { Clock } from '../lib/clock.ts';
import type { OutboxStore } from '../outbox/store.ts';
import type { GroupCommitter } from '../outbox/group-commit.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { ParsedAlarm, SkipReason } from './types.ts';

export interface AcceptRequest {
  /** The (authenticated) source the request came from; scopes idempotency keys. */
  readonly source: string;
  readonly items: readonly ParsedAlarm[];
  /** The client's Idempotency-Key header: covers the whole request. */
  readonly idempotencyKey?: string;
  /** Posted with the relay's own credential (the heartbeat canary): its methods come from `internalMethods`, not the routes. */
  readonly internal?: boolean;
  /**
   * The alarms' state may be kept by another instance (Kafka: a partition moves between the members of
   * a consumer group): a resolved of an alarm this instance has not seen is notified, whatever
   * lifecycle.notify_unknown_resolved says (better a resolve too many than an incident left open).
   */
  readonly stateMayBeElsewhere?: boolean;
  /**
   * More writes that must commit with these alarms or not at all (a heartbeat check's new state: a crash
   * can then neither lose its alarm nor fire it twice). Run inside the transaction before the alarms; it must
   * be re-runnable (the group committer may run the work again) and throws to fail the request.
   */
  readonly alsoInTransaction?: () => void;
}

export interface AcceptResult {
  /** 202: something new was enqueued; 200: a repeat, nothing enqueued. */
  readonly status: 200 | 202;
  readonly alarmIds: readonly string[];
  readonly notificationIds: readonly string[];
  /** Items that repeated an earlier accepted occurrence. */
  readonly duplicates: number;
  /** Alarms that matched no method (recorded, never dropped). */
  readonly unrouted: readonly string[];
}

export interface IngestObserver {
  accepted(source: string, alarms: number, notifications: number): void;
  duplicate(source: string, n: number): void;
  /** `source` is the request's (authenticated or default) source, the same label as `accepted`. */
  unrouted(source: string, alarm: Alarm): void;
  /** Messages not notified: dropped by their parser, or (actions_disabled) recorded without notifications. */
  skipped?(source: string, reason: SkipReason, n: number): void;
}

/** Thrown when the outbox is too full to promise delivery: answer 503 with Retry-After. */
export class BackpressureError extends Error {
  constructor(message: string, readonly retryAfterSec: number) {
    super(message);
    this.name = 'BackpressureError';
  }
}

export interface AcceptorDeps {
  readonly store: OutboxStore;
  readonly committer: GroupCommitter;
  /** State per alarm: what each occurrence notifies (it reads the routes now: a config reload swaps them). */
  readonly lifecycle: Lifecycle;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly idempotencyTtlMs: number;
  readonly maxPending: number;
  /** Jobs waiting for a commit beyond which new requests are refused. */
  readonly maxQueued?: number;
  readonly observer?: IngestObserver;
  /** Called after each commit that enqueued notifications (wakes the dispatcher). */
  readonly onEnqueued?: () => void;
  /** The methods of an alarm posted with the relay's own credential (none: it is stored unrouted). */
  readonly internalMethods?: (alarm: Alarm) => readonly string[];
}

export type Acceptor = (req: AcceptRequest) => Promise<AcceptResult>;

/** What one run of an accept transaction produced. */
interface Enqueued {
  readonly result: AcceptResult;
  readonly fresh: readonly { readonly alarm: Alarm; readonly notifications: number }[];
  readonly unroutedAlarms: readonly Alarm[];
  /** Fresh alarms recorded without notifications on purpose (ParsedAlarm.quiet), by reason. */
  readonly quiet: ReadonlyMap<SkipReason, number>;
  readonly newNotifications: number;
}

export function createAcceptor(deps: AcceptorDeps): Acceptor {
  const { store, committer, clock, ids } = deps;
  const maxQueued = deps.maxQueued ?? 20_000;

  return async (req) => {
    if (store.pendingCount >= deps.maxPending) {
      throw new BackpressureError(`outbox holds ${store.pendingCount} undelivered notifications (max_pending ${deps.maxPending})`, 30);
    }
    if (committer.queued >= maxQueued) throw new BackpressureError('too many requests waiting for the database', 1);

    const receivedAt = clock.now();

    // Re-runnable (the group committer may run it again alone if a neighbour fails): all state is local.
    const work = (): Enqueued => {
      req.alsoInTransaction?.();
      // Routes are read at commit time: an alarm is never routed to a method that a reload removed before it.
      const fresh: { alarm: Alarm; notifications: number }[] = [];
      const unroutedAlarms: Alarm[] = [];
      const quiet = new Map<SkipReason, number>();
      let newNotifications = 0;
      const since = receivedAt - deps.idempotencyTtlMs;
      const headerKey = req.idempotencyKey === undefined ? undefined : `h:${req.source}:${req.idempotencyKey}`;
      if (headerKey) {
        const prior = store.enqueue.getIdempotency(headerKey, since);
        if (prior) return { result: { status: 200, ...prior, duplicates: req.items.length, unrouted: [] }, fresh, unroutedAlarms, quiet, newNotifications };
      }
      const alarmIds: string[] = [];
      const notificationIds: string[] = [];
      const unrouted: string[] = [];
      let duplicates = 0;
      for (const item of req.items) {
        const naturalKey = item.naturalKey === undefined ? undefined : `n:${req.source}:${item.naturalKey}`;
        const prior = naturalKey ? store.enqueue.getIdempotency(naturalKey, since) : undefined;
        if (prior) {
          duplicates++;
          alarmIds.push(...prior.alarmIds);
          notificationIds.push(...prior.notificationIds);
          continue;
        }
        const alarm: Alarm = { ...item.alarm, id: ids.alarm(), occurredAt: item.alarm.occurredAt ?? receivedAt, receivedAt };
        let nids: string[];
        let routedTo: number;
        if (req.internal || item.internal) {
          // The relay's own alarms (the canary) go where it says, every time: no routes, no state.
          const methods = item.quiet ? [] : [...(deps.internalMethods?.(alarm) ?? [])];
          routedTo = methods.length;
          store.enqueue.insertAlarm(alarm, routedTo);
          nids = methods.map((method) => {
            const id = ids.notification();
            store.enqueue.insertNotification({ id, alarmIds: [alarm.id], method, createdAt: receivedAt });
            return id;
          });
        } else {
          const policies = deps.lifecycle.policies(alarm);
          routedTo = policies.length;
          store.enqueue.insertAlarm(alarm, routedTo);
          nids = deps.lifecycle.occurrence(alarm, policies, item.quiet !== undefined, receivedAt, req.stateMayBeElsewhere === true);
        }
        if (naturalKey) store.enqueue.putIdempotency(naturalKey, { alarmIds: [alarm.id], notificationIds: nids }, receivedAt);
        if (item.quiet) quiet.set(item.quiet, (quiet.get(item.quiet) ?? 0) + 1);
        else if (routedTo === 0) {
          unrouted.push(alarm.id);
          unroutedAlarms.push(alarm);
        }
        fresh.push({ alarm, notifications: nids.length });
        newNotifications += nids.length;
        alarmIds.push(alarm.id);
        notificationIds.push(...nids);
      }
      if (headerKey) store.enqueue.putIdempotency(headerKey, { alarmIds, notificationIds }, receivedAt);
      const result: AcceptResult = { status: fresh.length > 0 ? 202 : 200, alarmIds, notificationIds, duplicates, unrouted };
      return { result, fresh, unroutedAlarms, quiet, newNotifications };
    };

    const { result, fresh, unroutedAlarms, quiet, newNotifications } = await committer.submit(work, (e) => store.noteCommitted(e.fresh));
    // Committed: from here on nothing may turn the answer into an error (the client would retry and duplicate).
    try {
      const obs = deps.observer;
      if (obs) {
        if (fresh.length > 0) obs.accepted(req.source, fresh.length, newNotifications);
        if (result.duplicates > 0) obs.duplicate(req.source, result.duplicates);
        for (const a of unroutedAlarms) obs.unrouted(req.source, a);
        for (const [reason, n] of quiet) obs.skipped?.(req.source, reason, n);
      }
      if (newNotifications > 0) deps.onEnqueued?.();
    } catch {
      // Metrics and wake-ups are best effort; the poller picks the notifications up anyway.
    }
    return result;
  };
}
