/**
 * @module app/delivery-host
 * The main thread's side of the delivery thread, as a Dispatcher: it starts the thread, forwards nudges,
 * reloads, `idle` and `stop`, and takes its reports (notifications that left the outbox, metrics, log
 * records, `log` channel lines). If the thread dies, its leases are released (nothing it held is lost:
 * the notifications are delivered again) and it is started again after a pause that grows to 30 s.
 */
import type { DeliveryObserver, Dispatcher } from '../dispatch/dispatcher.ts';
import type { DeliveryThreadInit, FromDeliveryThread, ThreadHandle } from '../dispatch/thread-protocol.ts';
import type { Scheduler, Timer } from '../lib/clock.ts';
import { coerceError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Alarm } from '../domain/alarm.ts';
import type { CommittedAlarm } from '../outbox/store.ts';

export const RESTART_MIN_MS = 1000;
export const RESTART_MAX_MS = 30_000;
/** How long past the grace period a stopping thread may take before it is terminated. */
export const STOP_MARGIN_MS = 5000;

export interface DeliveryHostDeps {
  /** Starts a delivery thread with this init (runtime/threads). */
  readonly spawn: (init: DeliveryThreadInit) => ThreadHandle;
  /** The init for a (re)start: the methods as configured now. */
  readonly init: () => DeliveryThreadInit;
  /** Notifications that left the outbox (sent or dead). */
  readonly settled: (n: number) => void;
  /** The thread died: release the leases it held (no other thread claims). */
  readonly releaseLeases: () => number;
  readonly observer: DeliveryObserver;
  readonly writeLine: (line: string) => void | Promise<void>;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
}

export interface DeliveryHost extends Dispatcher {
  /** Alarms just committed (sent with the next nudge, for the thread's cache). */
  handOver(committed: readonly CommittedAlarm[]): void;
  /** Hands the thread new methods and delivery settings (a sealed DeliveryView). */
  reload(view: DeliveryThreadInit['view']): void;
  /** For /readyz: undefined while the thread runs. */
  ready(): string | undefined;
}

export function createDeliveryHost(deps: DeliveryHostDeps): DeliveryHost {
  const { logger } = deps;
  let thread: ThreadHandle | undefined;
  let state: 'new' | 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' = 'new';
  let inFlight = 0;
  let nextIdle = 0;
  const idleWaiters = new Map<number, () => void>();
  let restartDelay = RESTART_MIN_MS;
  let restartTimer: Timer | undefined;
  let stopped: (() => void) | undefined;
  let handed: [Alarm, number][] = [];
  /** A reload while no thread runs (starting, restarting): handed to the thread once it is up. */
  let missed: DeliveryThreadInit['view'] | undefined;

  const onMessage = (msg: FromDeliveryThread) => {
    switch (msg.type) {
      case 'report':
        if (msg.settled !== 0) deps.settled(msg.settled);
        inFlight = msg.inFlight;
        for (const [method, outcome, ms, canary] of msg.attempts) deps.observer.attempt(method, outcome, ms, canary);
        for (const [method, canary] of msg.dead) deps.observer.dead(method, canary);
        return;
      case 'log':
        logger[msg.level](msg.fields, msg.msg);
        return;
      case 'line': {
        const answer = (error?: string) => thread?.post({ type: 'line-written', id: msg.id, ...(error !== undefined && { error }) });
        try {
          Promise.resolve(deps.writeLine(msg.line)).then(() => answer(), (e: unknown) => answer(coerceError(e).message || 'write failed'));
        } catch (e) {
          answer(coerceError(e).message || 'write failed');
        }
        return;
      }
      case 'idle':
        idleWaiters.get(msg.id)?.();
        idleWaiters.delete(msg.id);
        return;
      case 'stopped':
        stopped?.();
        return;
      case 'ready':
      case 'failed':
        return; // handled by launch
    }
  };

  /** Starts a thread; resolves once it is ready, rejects if it fails first. */
  const launch = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      let up = false;
      // The init carries the methods as they are now: a reload missed before this is in it.
      missed = undefined;
      const t = deps.spawn(deps.init());
      thread = t;
      t.onMessage((msg) => {
        if (msg.type === 'ready') {
          up = true;
          if (state === 'starting' || state === 'restarting') state = 'running';
          restartDelay = RESTART_MIN_MS;
          if (missed) t.post({ type: 'reload', view: missed });
          missed = undefined;
          resolve();
        } else if (msg.type === 'failed' && !up) {
          reject(new Error(`the delivery thread could not start: ${msg.error}`));
        } else onMessage(msg);
      });
      t.onExit((code, error) => {
        if (thread === t) thread = undefined;
        inFlight = 0;
        for (const w of idleWaiters.values()) w();
        idleWaiters.clear();
        stopped?.();
        if (!up) {
          reject(new Error(`the delivery thread could not start${error ? `: ${error.message}` : ` (exit code ${code})`}`));
          return;
        }
        if (state === 'stopping' || state === 'stopped') return;
        crashed('the delivery thread stopped unexpectedly; its notifications will be delivered again after it restarts', code, error);
      });
    });

  const crashed = (what: string, code: number, error?: Error) => {
    state = 'restarting';
    let released = 0;
    try {
      released = deps.releaseLeases();
    } catch (e) {
      logger.error({ err: coerceError(e).message }, 'could not release the delivery thread’s leases; they expire by themselves');
    }
    logger.error({ exit_code: code, ...(error && { err: error.message }), released, restart_in_ms: restartDelay }, what);
    const delay = restartDelay;
    restartDelay = Math.min(RESTART_MAX_MS, restartDelay * 2);
    restartTimer = deps.scheduler.after(delay, () => {
      restartTimer = undefined;
      if (state !== 'restarting') return;
      launch().catch((e: unknown) => {
        if (state === 'restarting') crashed('the delivery thread could not start; trying again', 1, coerceError(e));
      });
    });
  };

  const post = (msg: Parameters<ThreadHandle['post']>[0]) => {
    if (state === 'running') thread?.post(msg);
  };

  return {
    // Does not wait for the thread: the relay is ready meanwhile (/readyz says "starting" until it runs).
    start() {
      if (state !== 'new') return;
      state = 'starting';
      launch().catch((e: unknown) => {
        if (state === 'starting') crashed('the delivery thread could not start; trying again', 1, coerceError(e));
      });
    },
    nudge() {
      const alarms = handed;
      handed = [];
      post(alarms.length > 0 ? { type: 'nudge', alarms } : { type: 'nudge' });
    },
    handOver(committed) {
      if (state !== 'running') return; // a thread that is not running reads them back when it claims
      for (const { alarm, notifications } of committed) if (notifications > 0) handed.push([alarm, notifications]);
    },
    tick: () => post({ type: 'nudge' }),
    idle() {
      if (state !== 'running' || !thread) return Promise.resolve();
      const id = nextIdle++;
      return new Promise<void>((resolve) => {
        idleWaiters.set(id, resolve);
        thread!.post({ type: 'idle', id });
      });
    },
    async stop(graceMs) {
      const was = state;
      state = 'stopping';
      restartTimer?.cancel();
      const t = thread;
      if (t && (was === 'running' || was === 'starting' || was === 'restarting')) {
        let timer: Timer | undefined;
        await new Promise<void>((resolve) => {
          stopped = resolve;
          timer = deps.scheduler.after(graceMs + STOP_MARGIN_MS, () => {
            logger.error({}, 'the delivery thread did not stop in time; terminating it');
            resolve();
          });
          t.post({ type: 'stop', graceMs });
        });
        timer?.cancel();
        await t.terminate();
      }
      state = 'stopped';
    },
    reload(view) {
      if (state === 'running') thread?.post({ type: 'reload', view });
      else missed = view;
    },
    ready: () => (state === 'running' ? undefined : state === 'restarting' ? 'delivery thread restarting' : state === 'stopping' || state === 'stopped' ? 'stopped' : 'starting'),
    get inFlight() {
      return inFlight;
    },
  };
}
