/**
 * @module app
 * Composition root: builds the database, store, channels, ingest, dispatcher, services and HTTP app from
 * a Config and injected runtime pieces. No globals, no side effects until start().
 *
 * Services start in order and stop in reverse: housekeeping, dispatcher, ingest (on stop: commits
 * already queued finish first, then deliveries drain, then housekeeping stops, then the database closes).
 */
import { join } from 'node:path';
import type { Config } from './config/types.ts';
import type { HttpClient, MailServer, MailTransport } from './channels/types.ts';
import { type Clock, type Random, type Scheduler, systemScheduler } from './lib/clock.ts';
import { idGenerator, type RandomBytes } from './lib/ids.ts';
import type { Logger } from './lib/logger.ts';
import { sha256Hex } from './lib/hash.ts';
import { Readiness } from './lib/readiness.ts';
import { startAll, stopAll, type Service } from './lib/service.ts';
import { applyPragmas, AUTO_CHECKPOINT_PAGES, BACKSTOP_CHECKPOINT_PAGES, type OpenDatabase } from './outbox/db.ts';
import { latestSchemaVersion, migrate, schemaVersion } from './outbox/migrate.ts';
import { OutboxStore, type CommittedAlarm } from './outbox/store.ts';
import { DELIVERY_THREAD_LOCK_ID, MAIN_THREAD_LOCK_ID, WriteLock } from './outbox/write-lock.ts';
import { createGroupCommitter } from './outbox/group-commit.ts';
import { createAcceptor, type Acceptor } from './ingest/accept.ts';
import { createDispatcher, type Dispatcher } from './dispatch/dispatcher.ts';
import type { DeliveryThreadInit, DeliveryView, ThreadHandle } from './dispatch/thread-protocol.ts';
import { createDeliveryHost, type DeliveryHost } from './app/delivery-host.ts';
import { sealForThread } from './lib/thread-data.ts';
import { createAuthenticator } from './http/auth.ts';
import { createMetrics } from './http/metrics.ts';
import { createHttpApp } from './http/server.ts';
import { LiveConfig, type ReloadResult } from './app/live-config.ts';
import { housekeepingService } from './app/housekeeping.ts';
import { VERSION } from './version.ts';

export interface AppDeps {
  /** Opens (creating if needed) the SQLite database file with the runtime's driver. */
  readonly openDatabase: (file: string) => OpenDatabase;
  readonly http: HttpClient;
  /** Opens a mail transport (for mail channels). */
  readonly mail?: (server: MailServer) => MailTransport;
  readonly clock: Clock;
  /** Timers (system timers by default). */
  readonly scheduler?: Scheduler;
  readonly random: Random;
  readonly randomBytes: RandomBytes;
  readonly logger: Logger;
  /** Where the `log` channel prints one JSON line per notification (a promise settles once written). */
  readonly writeLine: (line: string) => void | Promise<void>;
  /**
   * Starts a delivery thread (runtime/threads). With it, and `delivery.thread` on, delivery runs there on
   * its own connection; without it (tests), the dispatcher runs on this thread.
   */
  readonly deliveryThread?: (init: DeliveryThreadInit) => ThreadHandle;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface App {
  readonly fetch: (req: Request) => Response | Promise<Response>;
  readonly store: OutboxStore;
  readonly dispatcher: Dispatcher;
  readonly accept: Acceptor;
  /** The configuration as it is now (methods, routes and sources follow reloads). */
  readonly config: LiveConfig;
  readonly readiness: Readiness;
  /** Starts the services (housekeeping, delivery, ingest). */
  start(): Promise<void>;
  /** Stops the services in reverse order (ingest commits finish, deliveries drain up to delivery.shutdown_grace), closes the database. */
  stop(): Promise<void>;
  /** Swaps methods, routes and sources to those of `next` (see LiveConfig.reload). Throws and keeps the running config if a method cannot be built. */
  reload(next: Config): ReloadResult;
  /** The runtime reports where the HTTP listener is bound (the canary posts to it). */
  listening(address: ListenAddress): void;
  /** Where a local client reaches the HTTP listener (a wildcard host becomes loopback); undefined before it listens. */
  readonly address: ListenAddress | undefined;
}

export function databaseFile(config: Config): string {
  return join(config.dataDir, 'tocsin.db');
}

interface Outbox {
  readonly main: OpenDatabase;
  readonly store: OutboxStore;
  close(): void;
}

/** Does delivery run on a thread of its own? */
function deliversOnThread(config: Config, deps: AppDeps): boolean {
  return deps.deliveryThread !== undefined && config.delivery.thread;
}

/** The delivery connection's synchronous level: NORMAL at most (see outbox/delivery). */
function deliverySynchronous(config: Config): 'OFF' | 'NORMAL' {
  return config.database.synchronous === 'OFF' ? 'OFF' : 'NORMAL';
}

/** Shared with the delivery thread, if there is one: the write lock, and where committed alarms go. */
interface ThreadLink {
  readonly lock: WriteLock;
  handOver?: (committed: readonly CommittedAlarm[]) => void;
}

/**
 * Opens and migrates the database; closes what it opened if that fails. Delivery bookkeeping gets a
 * connection of its own: here, or on the delivery thread (which is handed the alarms as they commit).
 */
function openOutbox(config: Config, deps: AppDeps, link: ThreadLink): Outbox {
  const { clock, logger } = deps;
  const main = deps.openDatabase(databaseFile(config));
  let delivery: OpenDatabase | undefined;
  try {
    const threaded = deliversOnThread(config, deps);
    // A delivery thread checkpoints, outside the write lock (see outbox/db checkpoint).
    applyPragmas(main.db, config.database.synchronous, threaded ? BACKSTOP_CHECKPOINT_PAGES : AUTO_CHECKPOINT_PAGES);
    const applied = migrate(main.db, clock.now());
    if (applied.length > 0) logger.info({ applied }, 'database migrated');
    if (!threaded) {
      delivery = deps.openDatabase(databaseFile(config));
      applyPragmas(delivery.db, deliverySynchronous(config));
    }
    const store = new OutboxStore(main, delivery ?? main, threaded ? { lock: link.lock, handOver: (c) => link.handOver?.(c) } : {});
    // Bounded by the leases a previous process held (at most its delivery concurrency), not by the backlog.
    const released = store.delivery.releaseAllLeases(clock.now());
    if (released > 0) logger.warn({ released }, 'released leases left by a previous run; those notifications will be delivered again');
    const d = delivery;
    return {
      main,
      store,
      close() {
        d?.close();
        main.close();
      },
    };
  } catch (e) {
    delivery?.close();
    main.close();
    throw e;
  }
}

export function createApp(config: Config, deps: AppDeps): App {
  const link: ThreadLink = { lock: new WriteLock(MAIN_THREAD_LOCK_ID) };
  const outbox = openOutbox(config, deps, link);
  try {
    return assemble(config, deps, outbox, link);
  } catch (e) {
    outbox.close();
    throw e;
  }
}

function assemble(config: Config, deps: AppDeps, outbox: Outbox, link: ThreadLink): App {
  const { lock } = link;
  const { clock, logger } = deps;
  const scheduler = deps.scheduler ?? systemScheduler;
  const { store } = outbox;
  let closed = false;

  const live = new LiveConfig(config, { http: deps.http, clock, writeLine: deps.writeLine, ...(deps.mail && { mail: deps.mail }) });
  const metrics = createMetrics(() => store.pendingCount, logger);

  // The methods and delivery settings as the delivery thread needs them (secrets sealed for the trip).
  const deliveryView = () =>
    sealForThread({ methods: live.config.methods, delivery: live.config.delivery } satisfies DeliveryView, 'methods');
  const host: DeliveryHost | undefined = deliversOnThread(config, deps)
    ? createDeliveryHost({
        spawn: deps.deliveryThread!,
        init: () => ({
          databaseFile: databaseFile(config),
          synchronous: deliverySynchronous(config),
          batchSize: config.delivery.batchSize,
          pollIntervalMs: config.delivery.pollIntervalMs,
          writeLock: lock.buffer,
          view: deliveryView(),
        }),
        settled: (n) => store.noteSettled(n),
        releaseLeases: () => {
          // A thread that died holding the write lock cannot release it.
          lock.forceRelease(DELIVERY_THREAD_LOCK_ID);
          return store.delivery.releaseAllLeases(clock.now());
        },
        observer: metrics.delivery,
        writeLine: deps.writeLine,
        scheduler,
        logger,
      })
    : undefined;
  if (host) {
    // Fails now, not in the thread, if a method's settings cannot cross to it.
    deliveryView();
    link.handOver = (committed) => host.handOver(committed);
  }
  const dispatcher: Dispatcher =
    host ??
    createDispatcher({
      ledger: store.delivery,
      channels: () => live.channels(),
      settings: (method) => live.settings(method),
      batchSize: config.delivery.batchSize,
      pollIntervalMs: config.delivery.pollIntervalMs,
      clock,
      scheduler,
      random: deps.random,
      logger,
      observer: metrics.delivery,
    });

  const committer = createGroupCommitter({
    transaction: (fn) => store.enqueue.transaction(fn),
    onCommit: (n, ms) => metrics.commit(n, ms),
    onAfterCommitError: (e) => logger.error({ err: e.message }, 'after-commit hook failed'),
  });
  const accept = createAcceptor({
    store,
    committer,
    routes: () => live.routes(),
    clock,
    ids: idGenerator(() => clock.now(), deps.randomBytes),
    idempotencyTtlMs: config.ingest.idempotencyTtlMs,
    maxPending: config.ingest.maxPending,
    observer: metrics.ingest,
    onEnqueued: () => dispatcher.nudge(),
  });

  const housekeeping = housekeepingService({
    store,
    hasMethod: (m) => live.channels().has(m),
    clock,
    scheduler,
    logger,
    retentionMs: () => live.config.database.retentionMs,
    idempotencyTtlMs: () => live.config.ingest.idempotencyTtlMs,
    onReleased: () => dispatcher.nudge(),
  });
  let delivering = true;
  let ingesting = true;
  const services: Service[] = [
    housekeeping,
    {
      name: 'dispatcher',
      start: () => dispatcher.start(),
      stop() {
        delivering = false;
        return dispatcher.stop(config.delivery.shutdownGraceMs);
      },
      ready: () => (!delivering ? 'stopped' : host ? host.ready() : undefined),
    },
    // Stopped first: every request that will get a 2xx is durable before deliveries drain.
    {
      name: 'ingest',
      start: () => {},
      stop() {
        ingesting = false;
        return committer.drain();
      },
      ready: () => (ingesting ? undefined : 'stopped'),
    },
  ];

  const readiness = new Readiness();
  for (const s of services) if (s.ready) readiness.add(s.name, s.ready);
  readiness.add('database', () => {
    if (closed) return 'shutting down';
    const v = schemaVersion(outbox.main.db);
    if (v !== latestSchemaVersion()) return `database schema ${v}, expected ${latestSchemaVersion()}`;
    store.upkeep.probeWritable();
    return undefined;
  });

  const http = createHttpApp({
    accept,
    authenticate: createAuthenticator(() => live.sources()),
    maxBodyBytes: config.ingest.maxBodyBytes,
    maxBatch: config.ingest.maxBatch,
    formatOptions: config.ingest.formats,
    hash: sha256Hex,
    now: () => clock.now(),
    logger,
    store,
    metrics,
    readiness,
    version: VERSION,
  });

  let address: ListenAddress | undefined;
  let started: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;
  return {
    fetch: (req) => http.fetch(req),
    store,
    dispatcher,
    accept,
    config: live,
    readiness,
    start: () => (started ??= startAll(services, logger)),
    stop: () =>
      (stopped ??= (async () => {
        // A start that failed has already stopped what it started (startAll); one never made stops ingest only.
        const running = started ? await started.then(() => true, () => false) : false;
        if (running) await stopAll(services, logger);
        else if (!started) await stopAll(services.slice(-1), logger);
        closed = true;
        outbox.close();
      })()),
    reload(next) {
      const result = live.reload(next);
      host?.reload(deliveryView());
      return result;
    },
    listening(a) {
      // A listener on every address is reached locally through loopback (the canary posts to it).
      const host = a.host === '0.0.0.0' ? '127.0.0.1' : a.host === '::' || a.host === '[::]' ? '::1' : a.host;
      address = Object.freeze({ host, port: a.port });
    },
    get address() {
      return address;
    },
  };
}
