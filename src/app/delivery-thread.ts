/**
 * @module app/delivery-thread
 * The delivery thread's composition root: its own connection to the database, its own channels (and HTTP
 * client), and the dispatcher. It reports to the main thread (see dispatch/thread-protocol): notifications
 * that left the outbox, attempts for the metrics, log records, and lines for the `log` channel.
 */
import { createChannel } from '../channels/registry.ts';
import type { Channel, HttpClient } from '../channels/types.ts';
import { createDispatcher } from '../dispatch/dispatcher.ts';
import type { SendResult } from '../domain/notification.ts';
import type { DeliveryThreadInit, DeliveryView, LogLevel, ThreadPort } from '../dispatch/thread-protocol.ts';
import { type Clock, every, type Random, systemScheduler } from '../lib/clock.ts';
import { RelayClock, steadyOf } from '../lib/monotonic-clock.ts';
import { coerceError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { redact, secretsIn } from '../lib/secret.ts';
import { unsealFromThread } from '../lib/thread-data.ts';
import { AlarmCache } from '../outbox/alarm-cache.ts';
import { applyPragmas, BUSY_TIMEOUT_MS, checkpoint, setBusyTimeout, type OpenDatabase } from '../outbox/db.ts';
import { DeliveryLedger, onSteadyTime } from '../outbox/delivery.ts';
import { SharedLedger } from '../outbox/shared-ledger.ts';
import { storageFault } from '../outbox/storage-fault.ts';
import { DELIVERY_THREAD_LOCK_ID, WriteLock } from '../outbox/write-lock.ts';
import { mailTransports } from '../runtime/mail.ts';

/** How often the delivery thread copies the WAL into the database file. */
export const CHECKPOINT_MS = 1000;

export interface DeliveryThreadDeps {
  readonly openDatabase: (file: string) => OpenDatabase;
  readonly http: HttpClient;
  /** The relay's clock (a RelayClock following the main thread's): channels read it; the dispatcher its steady clock. */
  readonly clock: Clock;
  readonly random: Random;
}

/** Log records go to the main thread's logger. */
function portLogger(port: ThreadPort): Logger {
  const at = (level: LogLevel) => (fields: Record<string, unknown>, msg: string) => port.post({ type: 'log', level, fields, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Lines for the `log` channel, written by the main thread; each settles when it answers. */
function portLineWriter(port: ThreadPort) {
  let next = 0;
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  return {
    write: (line: string) =>
      new Promise<void>((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve, reject });
        port.post({ type: 'line', id, line });
      }),
    written(id: number, error?: string) {
      const w = waiting.get(id);
      waiting.delete(id);
      if (error === undefined) w?.resolve();
      else w?.reject(new Error(error));
    },
  };
}

/**
 * Starts delivering; resolves once the thread has stopped (after a `stop` message). Throws if it cannot
 * start (the database cannot be opened, a channel cannot be built): the caller reports `failed`.
 */
export function runDeliveryThread(init: DeliveryThreadInit, port: ThreadPort, deps: DeliveryThreadDeps): Promise<void> {
  const logger = portLogger(port);
  const lines = portLineWriter(port);
  // Channels put times on the wire (signatures, Retry-After dates): the wall clock's.
  // Mail transports (email channel): one per SMTP server, shared across reloads; nodemailer loads at the first send.
  const mail = mailTransports();
  const channelDeps = { http: deps.http, clock: deps.clock instanceof RelayClock ? deps.clock.wall : deps.clock, writeLine: lines.write, mail: mail.mail };
  const build = (view: DeliveryView) => {
    const out = new Map<string, Channel>();
    for (const m of Object.values(view.methods)) out.set(m.name, createChannel(m, channelDeps));
    return out;
  };
  let view = unsealFromThread<DeliveryView>(init.view);
  // Building a channel can fail with a text that quotes a setting: what leaves the thread is redacted.
  const clean = (e: unknown, ...views: DeliveryView[]) => redact(coerceError(e).message, views.flatMap((v) => secretsIn(v)));
  let channels: Map<string, Channel>;
  try {
    channels = build(view);
  } catch (e) {
    throw new Error(clean(e, view));
  }

  const opened = deps.openDatabase(init.databaseFile);
  // What happened since the last report, sent once per turn of the event loop at most.
  let settled = 0;
  let attempts: [string, SendResult['outcome'], number, boolean][] = [];
  let dead: [string, boolean][] = [];
  let reportArmed = false;
  const report = () => {
    reportArmed = false;
    port.post({ type: 'report', settled, inFlight: dispatcher.inFlight, attempts, dead });
    settled = 0;
    attempts = [];
    dead = [];
  };
  const armReport = () => {
    if (reportArmed) return;
    reportArmed = true;
    setImmediate(report);
  };

  let dispatcher: ReturnType<typeof createDispatcher>;
  let ledger: SharedLedger;
  // Alarms the main thread hands over as it commits them: claims need not read them back.
  const cache = new AlarmCache();
  try {
    // It checkpoints itself, on a timer and outside the write lock, so that no commit (on either thread)
    // copies the WAL while the other thread waits for the lock.
    applyPragmas(opened.db, init.synchronous, 0);
    // Never block on a lock held by another process: this thread holds the write lock meanwhile, and
    // the main thread would wait for it (the ledger retries instead, see SharedLedger).
    setBusyTimeout(opened.db, BUSY_TIMEOUT_MS);
    const pending = {
      add(n: number) {
        settled -= n;
        armReport();
      },
    };
    // The dispatcher keeps time on the steady clock; its times are converted as they are written.
    const { steady, shift } = steadyOf(deps.clock);
    ledger = new SharedLedger(
      onSteadyTime(new DeliveryLedger(opened, cache, pending), shift),
      new WriteLock(DELIVERY_THREAD_LOCK_ID, init.writeLock),
      () => dispatcher.nudge(),
      logger,
    );
    dispatcher = createDispatcher({
      ledger,
      channels: () => channels,
      settings: (method) => view.methods[method]?.delivery ?? view.delivery,
      batchSize: init.batchSize,
      pollIntervalMs: init.pollIntervalMs,
      clock: steady,
      scheduler: systemScheduler,
      random: deps.random,
      logger,
      observer: {
        attempt(method, outcome, latencyMs, canary) {
          attempts.push([method, outcome, latencyMs, canary]);
          armReport();
        },
        dead(method, canary) {
          dead.push([method, canary]);
          armReport();
        },
      },
    });
  } catch (e) {
    opened.close();
    throw e;
  }

  return new Promise<void>((resolve) => {
    port.onMessage((msg) => {
      switch (msg.type) {
        case 'nudge':
          for (const [alarm, n] of msg.alarms ?? []) cache.add(alarm, n);
          dispatcher.nudge();
          return;
        case 'reload':
          let next: DeliveryView | undefined;
          try {
            next = unsealFromThread<DeliveryView>(msg.view);
            channels = build(next);
            view = next;
            // Alarms of a method the reload removed would never be taken: start the cache afresh.
            cache.clear();
            dispatcher.nudge();
          } catch (e) {
            logger.error({ err: clean(e, view, ...(next ? [next] : [])) }, 'delivery thread could not apply the reload; it keeps the methods it had');
          }
          return;
        case 'idle':
          void dispatcher.idle().then(() => {
            try {
              ledger.drain();
            } catch (e) {
              logger.error({ err: coerceError(e).message }, 'could not record delivery outcomes; they will be retried');
            }
            report();
            port.post({ type: 'idle', id: msg.id });
          });
          return;
        case 'line-written':
          lines.written(msg.id, msg.error);
          return;
        case 'stop':
          checkpoints.cancel();
          void dispatcher.stop(msg.graceMs).then(() => {
            try {
              ledger.drain();
            } catch (e) {
              // Left leased: released at the next start, and delivered again.
              logger.error({ err: coerceError(e).message }, 'could not record the last delivery outcomes; they will be delivered again');
            }
            report();
            void mail.close();
            try {
              opened.close();
            } catch (e) {
              logger.warn({ err: coerceError(e).message }, 'the delivery thread could not close its database connection cleanly');
            }
            port.post({ type: 'stopped' });
            port.close();
            resolve();
          });
          return;
      }
    });
    void dispatcher.start();
    const checkpoints = every(systemScheduler, CHECKPOINT_MS, () => {
      try {
        checkpoint(opened.db);
      } catch (e) {
        // A full disk or a lock held elsewhere is the main thread's to report (/readyz, its log).
        if (!storageFault(e)) logger.warn({ err: coerceError(e).message }, 'WAL checkpoint failed; will try again');
      }
    });
    port.post({ type: 'ready' });
  });
}
