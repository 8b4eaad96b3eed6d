/**
 * @module dispatch/dispatcher
 * The delivery loop: claim due notifications per method (as many as its adaptive in-flight limit allows:
 * see dispatch/limit), send each through its channel with a deadline, decide sent / retry / dead, and
 * record outcomes in batched transactions.
 * Every claimed notification is always completed or released — never dropped.
 */
import { setMaxListeners } from 'node:events';
import type { Channel } from '../channels/types.ts';
import type { DeliverySettings } from '../config/types.ts';
import type { SendResult } from '../domain/notification.ts';
import type { Clock, Random, Scheduler, Timer } from '../lib/clock.ts';
import { coerceError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Claimed, Completion, DispatchLedger } from '../outbox/delivery.ts';
import { decide } from './decide.ts';
import { InflightLimit } from './limit.ts';
import { TokenBucket } from './rate-limit.ts';
import { CANARY_SOURCE } from '../domain/alarm.ts';

/** `canary`: the notification is the heartbeat canary's (counted apart from the sources' notifications). */
export interface DeliveryObserver {
  attempt(method: string, outcome: SendResult['outcome'], latencyMs: number, canary: boolean): void;
  dead(method: string, canary: boolean): void;
}

export interface DispatcherDeps {
  /** The delivery side of the outbox (on the thread the dispatcher runs on). */
  readonly ledger: DispatchLedger;
  /** The methods' channels now (read at every tick: a config reload swaps them; in-flight sends keep theirs). */
  readonly channels: () => ReadonlyMap<string, Channel>;
  readonly settings: (method: string) => DeliverySettings;
  readonly batchSize: number;
  readonly pollIntervalMs: number;
  /**
   * Its times (deadlines, latencies, backoff, the age of a notification) are read on it. In the relay it is
   * a steady clock, which a step of the wall clock never moves, with a ledger that converts as it writes
   * (lib/monotonic-clock, outbox/delivery onSteadyTime).
   */
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly logger: Logger;
  readonly observer?: DeliveryObserver;
}

export interface Dispatcher {
  /** Starts delivering (a delivery thread starts in the background: see app/delivery-host). */
  start(): void;
  /** New work may be due: claim soon. */
  nudge(): void;
  /** Claims and starts due deliveries now (tests drive the loop with this). */
  tick(): void;
  /** Resolves when nothing is in flight and every outcome is recorded. */
  idle(): Promise<void>;
  /** Stops claiming, lets in-flight deliveries finish up to graceMs, aborts and releases the rest. */
  stop(graceMs: number): Promise<void>;
  readonly inFlight: number;
}

const SHUTDOWN = 'tocsin is shutting down';
/** Methods whose last failure text is remembered (to log a repeat only when it changes); the oldest go first. */
export const REMEMBERED_FAILURES = 10_000;

/** The fields every delivery log line carries. */
export function deliveryFields(n: Pick<Claimed, 'id' | 'method' | 'attempt' | 'alarms'>): Record<string, unknown> {
  return { alarm_id: n.alarms[0]?.id, notification_id: n.id, method: n.method, attempt: n.attempt };
}

/**
 * The last failure text per key (a method: one dead receiver with a thousand notifications queued logs
 * once, not a thousand times), bounded: a failing retry is logged (warn) when its text differs from the
 * last one of its method, and at debug otherwise.
 */
export class FailureMemory {
  readonly #last = new Map<string, string>();
  constructor(readonly max = REMEMBERED_FAILURES) {}

  /** Records the error; true when it differs from this key's last one (or none is remembered). */
  changed(id: string, error: string): boolean {
    const before = this.#last.get(id);
    this.#last.delete(id); // re-inserted: the most recent last
    this.#last.set(id, error);
    if (this.#last.size > this.max) this.#last.delete(this.#last.keys().next().value!);
    return before !== error;
  }

  /** The key's failures ended (its method delivered again). */
  forget(id: string): void {
    this.#last.delete(id);
  }

  get size(): number {
    return this.#last.size;
  }
}
const NO_REFS: Readonly<Record<string, string>> = Object.freeze({});

/** The references of one notification's dedup keys. */
function pick(refs: Readonly<Record<string, string>>, n: Claimed): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const a of n.alarms) if (refs[a.dedupKey] !== undefined) out[a.dedupKey] = refs[a.dedupKey]!;
  return out;
}

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { ledger, clock, logger } = deps;
  const busy = new Map<string, number>();
  const limits = new Map<string, InflightLimit>();
  const limitOf = (method: string, cap: number): InflightLimit => {
    let l = limits.get(method);
    if (!l) limits.set(method, (l = new InflightLimit(cap)));
    else l.cap = cap;
    return l;
  };
  const controllers = new Set<AbortController>();
  const active = new Set<Promise<void>>();
  let completions: Completion[] = [];
  let flushArmed = false;
  let tickArmed = false;
  let timer: Timer | undefined;
  let running = false;
  let stopping = false;
  const failures = new FailureMemory();

  const flush = () => {
    flushArmed = false;
    if (completions.length === 0) return;
    const batch = completions;
    completions = [];
    try {
      ledger.complete(batch);
    } catch (e) {
      // Rows stay leased; when the lease expires they are delivered again (at-least-once).
      logger.error({ err: coerceError(e).message, count: batch.length }, 'could not record delivery outcomes; they will be retried');
    }
  };

  const record = (c: Completion) => {
    completions.push(c);
    if (!flushArmed) {
      flushArmed = true;
      setImmediate(flush);
    }
  };

  const logOutcome = (n: Claimed, result: SendResult, dead: string | undefined) => {
    if (result.outcome === 'sent') {
      failures.forget(n.method);
      return;
    }
    const fields = { ...deliveryFields(n), ...(result.status !== undefined && { status: result.status }) };
    if (dead) {
      logger.error({ ...fields, reason: dead }, 'notification dead-lettered'); // the reason quotes the error
      return;
    }
    // A repeated failure is logged again only when its text changes (a dead receiver must not flood the log).
    if (failures.changed(n.method, result.error)) logger.warn({ ...fields, error: result.error }, 'delivery attempt failed; will retry');
    else logger.debug({ ...fields, error: result.error }, 'delivery attempt failed; will retry');
  };

  /** One abort controller per claimed batch: its deliveries start together and share the deadline. */
  interface Batch {
    readonly controller: AbortController;
    readonly deadline: Timer;
    open: number;
  }

  const openBatch = (size: number, timeoutMs: number): Batch => {
    const controller = new AbortController();
    // Every delivery of the batch (and its HTTP client) listens on this one signal.
    setMaxListeners(0, controller.signal);
    const deadline = deps.scheduler.after(timeoutMs, () => controller.abort(new DOMException('delivery deadline passed', 'TimeoutError')));
    const batch = { controller, deadline, open: size };
    controllers.add(controller);
    return batch;
  };

  const closeOne = (b: Batch) => {
    if (--b.open > 0) return;
    b.deadline.cancel();
    controllers.delete(b.controller);
  };

  const deliver = async (n: Claimed, channel: Channel, s: DeliverySettings, b: Batch, refs: Readonly<Record<string, string>>) => {
    const controller = b.controller;
    const started = clock.now();
    let result: SendResult;
    try {
      result = await channel.send(
        { notificationId: n.id, attempt: n.attempt, method: n.method, alarms: n.alarms, createdAt: n.createdAt, remoteRefs: refs, ...(n.repeat > 0 && { repeat: n.repeat }) },
        controller.signal,
      );
    } catch (e) {
      result = { outcome: 'retry', error: `channel failed: ${coerceError(e).message}` };
    } finally {
      closeOne(b);
    }
    const at = clock.now();
    const attempt = { at, latencyMs: Math.max(0, at - started), ...(result.outcome !== 'sent' ? { error: result.error } : {}), ...(result.status !== undefined ? { status: result.status } : {}) };
    if (controller.signal.aborted && controller.signal.reason === SHUTDOWN) {
      record({ kind: 'release', n, ...attempt, error: SHUTDOWN });
      return;
    }
    const canary = n.alarms[0]?.source === CANARY_SOURCE;
    deps.observer?.attempt(n.method, result.outcome, attempt.latencyMs, canary);
    const limit = limitOf(n.method, s.concurrency);
    if (result.outcome === 'sent') limit.sent();
    else if (result.outcome === 'retry') limit.overloaded(at);
    const d = decide(result, { attempt: n.attempt, createdAt: n.createdAt, now: at }, s, deps.random);
    if (d.kind === 'sent') record({ kind: 'sent', n, ...attempt, ...(result.outcome === 'sent' && result.remoteRefs && { remoteRefs: result.remoteRefs }) });
    else if (d.kind === 'retry') record({ kind: 'retry', n, ...attempt, nextAttemptAt: d.nextAttemptAt });
    else {
      deps.observer?.dead(n.method, canary);
      record({ kind: 'dead', n, ...attempt, reason: d.reason, permanent: d.permanent });
    }
    logOutcome(n, result, d.kind === 'dead' ? d.reason : undefined);
  };

  const launch = (n: Claimed, channel: Channel, s: DeliverySettings, b: Batch, refs: Readonly<Record<string, string>>) => {
    busy.set(n.method, (busy.get(n.method) ?? 0) + 1);
    const p = deliver(n, channel, s, b, refs)
      .catch((e) => {
        // Nothing recorded: the lease expires and the notification is delivered again.
        logger.error({ ...deliveryFields(n), err: coerceError(e).message }, 'delivery bookkeeping failed');
      })
      .finally(() => {
        busy.set(n.method, (busy.get(n.method) ?? 1) - 1);
        active.delete(p);
        if (!stopping) nudge();
      });
    active.add(p);
  };

  const tick = () => {
    tickArmed = false;
    if (stopping) return;
    let more = false;
    const now = clock.now();
    for (const [method, channel] of deps.channels()) {
      const s = deps.settings(method);
      const inUse = busy.get(method) ?? 0;
      const limit = limitOf(method, s.concurrency).value;
      let free = Math.min(limit - inUse, deps.batchSize);
      // Under load, claim in batches (a quarter of the limit at least) rather than one row per freed slot.
      if (free <= 0 || (inUse > 0 && free < Math.min(Math.ceil(limit / 4), deps.batchSize))) continue;
      // A rate limit: no more than its tokens; when there are none, come back when the next one is due.
      const bucket = s.rateLimit && bucketOf(method, s.rateLimit, now);
      if (bucket) {
        free = Math.min(free, bucket.available(now));
        if (free <= 0) {
          wakeAt(bucket.msUntilNext(now));
          continue;
        }
      }
      let claimed: Claimed[];
      try {
        claimed = ledger.claim(method, free, now, now + 2 * s.timeoutMs + 30_000);
      } catch (e) {
        logger.error({ method, err: coerceError(e).message }, 'could not claim notifications; retrying at the next poll');
        continue;
      }
      if (claimed.length === 0) continue;
      bucket?.take(claimed.length, now);
      const refs = channel.remoteRefs ? loadRefs(method, claimed) : undefined;
      const b = openBatch(claimed.length, s.timeoutMs);
      for (const n of claimed) launch(n, channel, s, b, refs ? pick(refs, n) : NO_REFS);
      if (claimed.length === free) more = true;
    }
    if (more) nudge();
  };

  /** Remote references of a claimed batch, in one query; a failed read sends without them (logged). */
  const loadRefs = (method: string, claimed: readonly Claimed[]): Readonly<Record<string, string>> => {
    try {
      return ledger.remoteRefs(method, [...new Set(claimed.flatMap((n) => n.alarms.map((a) => a.dedupKey)))]);
    } catch (e) {
      logger.error({ method, err: coerceError(e).message }, 'could not read remote references; sending without them');
      return NO_REFS;
    }
  };

  /** Token buckets per method, kept while the method's rate limit stays the same (a reload may change it). */
  const buckets = new Map<string, TokenBucket>();
  const bucketOf = (method: string, limit: { perSecond: number; burst: number }, now: number): TokenBucket => {
    const b = buckets.get(method);
    if (b && b.limit.perSecond === limit.perSecond && b.limit.burst === limit.burst) return b;
    const fresh = new TokenBucket(limit, now);
    buckets.set(method, fresh);
    return fresh;
  };
  /** A tick once the earliest token is due (rate-limited methods with work waiting). */
  let wake: { at: number; timer: Timer } | undefined;
  const wakeAt = (ms: number) => {
    const at = clock.now() + ms;
    if (wake && wake.at <= at) return;
    wake?.timer.cancel();
    wake = {
      at,
      timer: deps.scheduler.after(ms, () => {
        wake = undefined;
        nudge();
      }),
    };
  };

  const nudge = () => {
    if (tickArmed || stopping || !running) return;
    tickArmed = true;
    setImmediate(tick);
  };

  const poll = () => {
    if (stopping) return;
    tick();
    timer = deps.scheduler.after(deps.pollIntervalMs, poll);
  };

  const idle = async () => {
    while (active.size > 0 || completions.length > 0) {
      if (active.size > 0) await Promise.allSettled([...active]);
      flush();
    }
  };

  return {
    start() {
      running = true;
      poll();
    },
    nudge,
    tick,
    idle,
    async stop(graceMs) {
      stopping = true;
      running = false;
      timer?.cancel();
      wake?.timer.cancel();
      if (active.size > 0) {
        let graceTimer: Timer | undefined;
        const grace = new Promise<void>((r) => (graceTimer = deps.scheduler.after(graceMs, r)));
        await Promise.race([Promise.allSettled([...active]), grace]);
        graceTimer?.cancel();
      }
      for (const c of controllers) c.abort(SHUTDOWN);
      await idle();
    },
    get inFlight() {
      return active.size;
    },
  };
}
