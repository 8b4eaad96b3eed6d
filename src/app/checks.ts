/**
 * @module app/checks
 * The heartbeat checks service (issue #15): the checks of the config file and those added at runtime, their
 * states, the pings, and a timer. It runs the pure rules of checks/transitions and stores each new state;
 * a transition that owes an alarm goes through the acceptor (source `checks`, routed like any alarm) with
 * the check's new state written in the same transaction, so a crash can neither lose the alarm nor fire it
 * twice.
 *
 * - At start every check gets `onRestart` (pings.after_downtime) and its state is written (with the UUID
 *   generated for a file check that has no fixed one: generated once and kept). States of checks no longer
 *   configured are forgotten.
 * - Every second (`CHECKS_TICK_MS`) the checks whose deadline has passed, or whose pause changed, get `onTick`.
 * - Pings (`ping`) are rate-limited per check (pings.rate_limit: a token bucket) and applied in order.
 * The transitions of one check run one at a time; the state in memory changes only once its write committed.
 */
import { initialState, onPing, onRestart, onSpecChange, onTick } from '../checks/transitions.ts';
import type { CheckSpec, CheckState, Ping, Step } from '../checks/types.ts';
import type { CheckConfig, PingsConfig } from '../config/types.ts';
import { TokenBucket } from '../dispatch/rate-limit.ts';
import type { Acceptor } from '../ingest/accept.ts';
import type { Clock, Scheduler, Timer } from '../lib/clock.ts';
import { coerceError } from '../lib/errors.ts';
import type { RandomBytes } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { Service } from '../lib/service.ts';
import type { ChecksStore } from '../outbox/checks-store.ts';
import type { GroupCommitter } from '../outbox/group-commit.ts';
import { alarmOf, checkNew, CHECKS_SOURCE, fileSpec, runtimeSpec, uuidFrom, viewOf, type ResolvedBy } from './check-specs.ts';
import type { CheckChange, ChecksApi } from './checks-api.ts';

export const CHECKS_TICK_MS = 1000;

export interface CheckServiceDeps {
  /** The checks of the config file and the ping settings (restart-only). */
  readonly checks: readonly CheckConfig[];
  readonly pings: PingsConfig;
  readonly store: ChecksStore;
  readonly committer: GroupCommitter;
  readonly accept: Acceptor;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly randomBytes: RandomBytes;
}

/** Which check a ping URL names: by UUID, or by the ping key and the check's name (slug). */
export type PingTarget = { readonly uuid: string } | { readonly pingKey: string; readonly slug: string };

export type PingResult = { readonly outcome: 'ok' } | { readonly outcome: 'not_found' } | { readonly outcome: 'rate_limited'; readonly retryAfterSec: number };

export interface CheckService extends Service, ChecksApi {
  /** Is there a check at this URL? */
  exists(target: PingTarget): boolean;
  /** A ping (its time is taken on arrival). Rejects when its state cannot be stored (the database, backpressure). */
  ping(target: PingTarget, ping: Omit<Ping, 'at'>): Promise<PingResult>;
  /** Runs the due work now (tests). */
  tick(): Promise<void>;
  /** The POST body limit of pings, in bytes. */
  readonly bodyLimitBytes: number;
}

interface Entry {
  spec: CheckSpec;
  state: CheckState;
}

export function checkService(deps: CheckServiceDeps): CheckService {
  const { store, committer, clock, logger } = deps;
  const newUuid = () => uuidFrom(deps.randomBytes(16));
  const entries = new Map<string, Entry>();
  const byUuid = new Map<string, Entry>();
  const buckets = new Map<string, TokenBucket>();
  const queues = new Map<string, Promise<unknown>>();

  // ---- the checks and their stored states ----
  const stored = new Map(store.allStates().map((s) => [s.name, s]));
  const put = (spec: CheckSpec) => {
    const entry: Entry = { spec, state: stored.get(spec.name)?.state ?? initialState(spec) };
    entries.set(spec.name, entry);
    byUuid.set(spec.uuid, entry);
  };
  for (const c of deps.checks) put(fileSpec(c, c.uuid ?? stored.get(c.name)?.uuid ?? newUuid()));
  /** Runtime checks shadowed by a file check: their names and UUIDs stay taken (a new one would clash in the database). */
  const shadowed = { names: new Set<string>(), uuids: new Set<string>() };
  for (const row of store.allChecks()) {
    if (entries.has(row.name) || byUuid.has(row.uuid)) {
      logger.warn({ check: row.name }, 'a check added at runtime has the name or UUID of a check in the config file; it is ignored while that one is in the file');
      shadowed.names.add(row.name);
      shadowed.uuids.add(row.uuid);
      continue;
    }
    put(runtimeSpec(row));
  }

  /** The transitions of one check, one at a time (a queue per check name). */
  const serial = <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const p = (queues.get(name) ?? Promise.resolve()).then(fn, fn);
    const tail = p.catch(() => undefined);
    queues.set(name, tail);
    void tail.then(() => {
      if (queues.get(name) === tail) queues.delete(name);
    });
    return p;
  };

  /**
   * Stores the step's state (with `extra` writes) and sends its event, in one transaction; the state in
   * memory follows once committed. Nothing to do when the step changed nothing.
   */
  const commit = async (entry: Entry, step: Step, opts: { extra?: () => void; by?: ResolvedBy; spec?: CheckSpec } = {}): Promise<void> => {
    const spec = opts.spec ?? entry.spec;
    if (step.state === entry.state && step.event === undefined && opts.extra === undefined && spec === entry.spec) return;
    const now = clock.now();
    const write = () => {
      opts.extra?.();
      if (entries.get(spec.name) === entry) store.putState(spec.name, spec.uuid, step.state, now);
    };
    if (step.event === undefined) await committer.submit(write);
    else {
      const at = step.event.kind === 'firing' ? (step.state.since ?? now) : now;
      await deps.accept({ source: CHECKS_SOURCE, items: [{ alarm: alarmOf(spec, entry.state, step.event, at, opts.by) }], alsoInTransaction: write });
    }
    entry.spec = spec;
    entry.state = step.state;
  };

  // ---- the timer ----
  let timer: Timer | undefined;
  let running = false;
  let ticking: Promise<void> = Promise.resolve();
  let lastError: string | undefined;

  const due = (e: Entry, now: number) => (e.state.dueAt !== undefined && e.state.dueAt <= now) || e.spec.paused !== (e.state.status === 'paused');

  const run = async (): Promise<void> => {
    const now = clock.now();
    const work = [...entries.values()].filter((e) => due(e, now)).map((e) =>
      serial(e.spec.name, async () => {
        if (entries.get(e.spec.name) !== e) return;
        await commit(e, onTick(e.spec, e.state, clock.now()), { by: 'paused' });
      }),
    );
    const failed = (await Promise.allSettled(work)).find((r) => r.status === 'rejected');
    if (failed) {
      const err = coerceError(failed.reason).message;
      if (err !== lastError) logger.error({ err }, 'heartbeat checks timer failed (checks that are due wait); will try again every second');
      else logger.debug({ err }, 'heartbeat checks timer failed again');
      lastError = err;
    } else lastError = undefined;
  };
  /** One run at a time; a tick asked for during one runs after it (with the time then). */
  const tick = (): Promise<void> => (ticking = ticking.then(run));

  const loop = () => {
    timer = deps.scheduler.after(CHECKS_TICK_MS, () => {
      void tick().finally(() => {
        if (running) loop();
      });
    }, { background: true });
  };

  const find = (target: PingTarget): Entry | undefined => {
    if ('uuid' in target) return byUuid.get(target.uuid.toLowerCase());
    const key = deps.pings.pingKey?.reveal();
    if (key === undefined || !sameText(key, target.pingKey)) return undefined;
    return entries.get(target.slug);
  };

  const taken = {
    name: (n: string) => entries.has(n) || shadowed.names.has(n),
    uuid: (u: string) => byUuid.has(u) || shadowed.uuids.has(u),
  };

  const change = (name: string, fn: (e: Entry) => Promise<CheckChange>): Promise<CheckChange> => {
    const e = entries.get(name);
    if (e === undefined) return Promise.resolve('unknown');
    if (e.spec.origin === 'file') return Promise.resolve('read_only');
    return serial(name, () => (entries.get(name) === e ? fn(e) : Promise.resolve<CheckChange>('unknown')));
  };

  return {
    name: 'checks',
    bodyLimitBytes: deps.pings.bodyLimitBytes,
    tick,
    async start() {
      const now = clock.now();
      const next = new Map([...entries.values()].map((e) => [e, onRestart(e.spec, e.state, now, deps.pings.afterDowntime)] as const));
      const stale = [...stored.keys()].filter((n) => !entries.has(n));
      // A check gone from the config while down: its alarm is resolved as it leaves (else it would fire for ever).
      const staleDown = stale.filter((n) => stored.get(n)!.state.status === 'down');
      try {
        // Nothing to store without checks: the start of a relay that has none waits for no transaction.
        if (next.size > 0 || stale.length > staleDown.length) {
          await committer.submit(() => {
            for (const [e, s] of next) store.putState(e.spec.name, e.spec.uuid, s, now);
            for (const n of stale) if (!staleDown.includes(n)) store.removeState(n);
          });
        }
      } catch (e) {
        // The states in memory are right; the next transition of each check stores it.
        logger.error({ err: coerceError(e).message }, 'heartbeat checks: could not store the states at start');
      }
      for (const n of staleDown) {
        const s = stored.get(n)!;
        const gone: CheckSpec = { name: n, uuid: s.uuid, origin: 'file', schedule: { kind: 'period', periodMs: 1 }, graceMs: 0, labels: {}, paused: false };
        try {
          await deps.accept({ source: CHECKS_SOURCE, items: [{ alarm: alarmOf(gone, s.state, { kind: 'resolved' }, now, 'removed') }], alsoInTransaction: () => void store.removeState(n) });
          logger.info({ check: n }, 'heartbeat check no longer configured: its alarm is resolved');
        } catch (e) {
          logger.error({ check: n, err: coerceError(e).message }, 'heartbeat checks: could not resolve the alarm of a check no longer configured; will try at the next start');
        }
      }
      for (const [e, s] of next) e.state = s;
      running = true;
      void tick();
      loop();
    },
    async stop() {
      running = false;
      timer?.cancel();
      await ticking;
      await Promise.allSettled([...queues.values()]);
    },

    exists: (target) => find(target) !== undefined,

    async ping(target, p) {
      const entry = find(target);
      if (entry === undefined) return { outcome: 'not_found' };
      const name = entry.spec.name;
      const now = clock.now();
      let bucket = buckets.get(name);
      if (bucket === undefined) buckets.set(name, (bucket = new TokenBucket(deps.pings.rateLimit, now)));
      if (bucket.available(now) < 1) return { outcome: 'rate_limited', retryAfterSec: Math.max(1, Math.ceil(bucket.msUntilNext(now) / 1000)) };
      bucket.take(1, now);
      const ping: Ping = { ...p, at: now };
      const done = await serial(name, async () => {
        if (entries.get(name) !== entry) return false; // removed meanwhile
        await commit(entry, onPing(entry.spec, entry.state, ping));
        return true;
      });
      return done ? { outcome: 'ok' } : { outcome: 'not_found' };
    },

    list: () => [...entries.values()].map((e) => viewOf(e.spec, e.state)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    get(name) {
      const e = entries.get(name);
      return e && viewOf(e.spec, e.state);
    },
    // One add of a name at a time: the second sees the first's check.
    add: (input) => serial(`\0add:${String(input.name)}`, async () => {
      const r = checkNew(input, taken, newUuid, clock.now());
      if (!r.ok) return r;
      const spec = runtimeSpec(r.row);
      const state = initialState(spec);
      const now = clock.now();
      await committer.submit(() => {
        store.insertCheck(r.row);
        store.putState(spec.name, spec.uuid, state, now);
      });
      const entry: Entry = { spec, state };
      entries.set(spec.name, entry);
      byUuid.set(spec.uuid, entry);
      return { ok: true as const, check: viewOf(spec, state) };
    }),
    setPaused: (name, paused) =>
      change(name, async (e) => {
        if (e.spec.paused === paused) return 'ok';
        const spec: CheckSpec = { ...e.spec, paused };
        await commit(e, onSpecChange(spec, e.state, clock.now()), { spec, by: 'paused', extra: () => void store.setPaused(name, paused) });
        return 'ok';
      }),
    remove: (name) =>
      change(name, async (e) => {
        const gone = () => void store.removeCheck(name);
        if (e.state.status === 'down') {
          const alarm = alarmOf(e.spec, e.state, { kind: 'resolved' }, clock.now(), 'removed');
          await deps.accept({ source: CHECKS_SOURCE, items: [{ alarm }], alsoInTransaction: gone });
        } else await committer.submit(gone);
        entries.delete(name);
        byUuid.delete(e.spec.uuid);
        buckets.delete(name);
        return 'ok';
      }),
  };
}

/** Compares a secret with a guess in time that depends on their lengths only. */
function sameText(secret: string, guess: string): boolean {
  let diff = secret.length ^ guess.length;
  for (let i = 0; i < secret.length; i++) diff |= secret.charCodeAt(i) ^ (guess.charCodeAt(i % Math.max(1, guess.length)) || 0);
  return diff === 0;
}
