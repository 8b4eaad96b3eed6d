/**
 * @module app
 * Composition root: builds the database, store, channels, ingest, dispatcher, services and HTTP app from
 * a Config and injected runtime pieces. No globals, no side effects until start().
 *
 * Services start in order and stop in reverse: housekeeping, dispatcher, ingest, the lifecycle timer, the
 * heartbeat checks (on stop: commits already queued finish first, then deliveries drain, then housekeeping
 * stops, then the database closes).
 */
import type { Config } from './config/types.ts';
import type { HttpClient, MailServer, MailTransport } from './channels/types.ts';
import { type Clock, type Random, type Scheduler, systemClock, systemScheduler } from './lib/clock.ts';
import { RelayClock, steadyOf } from './lib/monotonic-clock.ts';
import { idGenerator, type RandomBytes } from './lib/ids.ts';
import type { Logger } from './lib/logger.ts';
import { sha256Hex } from './lib/hash.ts';
import { Readiness } from './lib/readiness.ts';
import { startAll, stopAll, type Service } from './lib/service.ts';
import { truncateWal, type OpenDatabase } from './outbox/db.ts';
import { latestSchemaVersion, schemaVersion } from './outbox/migrate.ts';
import type { OutboxStore } from './outbox/store.ts';
import { DELIVERY_THREAD_LOCK_ID, MAIN_THREAD_LOCK_ID, WriteLock } from './outbox/write-lock.ts';
import { createGroupCommitter } from './outbox/group-commit.ts';
import { SharedLedger } from './outbox/shared-ledger.ts';
import { StorageHealth } from './outbox/storage-health.ts';
import { storageFault } from './outbox/storage-fault.ts';
import { fileBytes, fileIdentity, storageWatchService } from './app/storage-watch.ts';
import { StorageReserve } from './app/storage-reserve.ts';
import { wireCanaries } from './app/canaries.ts';
import { wireKafka } from './app/kafka.ts';
import { Handoff } from './outbox/handoff.ts';
import type { Alarm } from './domain/alarm.ts';
import { databaseFile, deliversOnThread, deliverySynchronous, openOnFullDisk, type Outbox, type ThreadLink } from './app/open-outbox.ts';
import { createAcceptor, type Acceptor } from './ingest/accept.ts';
import { createDispatcher, type Dispatcher } from './dispatch/dispatcher.ts';
import type { DeliveryThreadInit, DeliveryView, ThreadHandle } from './dispatch/thread-protocol.ts';
import { createDeliveryHost, type DeliveryHost } from './app/delivery-host.ts';
import { sealForThread } from './lib/thread-data.ts';
import { createAuthenticator } from './http/auth.ts';
import { createMetrics } from './http/metrics.ts';
import { createStatsd } from './app/statsd.ts';
import type { SkipReason } from './ingest/types.ts';
import { deadLettersByMethod, oldestPendingCreatedAt, undeliveredByMethod } from './outbox/oldest-pending.ts';
import { createHttpApp } from './http/server.ts';
import { LiveConfig, type ReloadResult } from './app/live-config.ts';
import { housekeepingService } from './app/housekeeping.ts';
import { clockWatchService, countClockJumps } from './app/clock-watch.ts';
import { onSteadyTime } from './outbox/delivery.ts';
import { rebaseOutbox } from './outbox/rebase.ts';
import { VERSION } from './version.ts';
import { Lifecycle } from './ingest/lifecycle.ts';
import { SilenceBook } from './ingest/silences.ts';
import { lifecycleTimer } from './app/lifecycle-timer.ts';
import { silenceService } from './app/silences.ts';
import { checkService } from './app/checks.ts';
import { carriesSeveral } from './channels/registry.ts';
import { createAdminAuthenticator } from './http/admin-auth.ts';
import { verifySignature } from './http/signature.ts';
import { ulid } from './lib/ids.ts';
import { MethodsStore } from './outbox/methods-store.ts';
import { runtimeMethods } from './app/runtime-methods.ts';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { AdminQueries, CanaryRunQueries } from './outbox/admin-queries.ts';
import { DeadLetters, deadLetterService } from './outbox/dead-letters.ts';
import type { ReloadOutcome } from './http/reload-routes.ts';

export interface AppDeps {
  /** Opens (creating if needed) the SQLite database file with the runtime's driver. */
  readonly openDatabase: (file: string) => OpenDatabase;
  readonly http: HttpClient;
  /** Opens a mail transport (for mail channels). */
  readonly mail?: (server: MailServer) => MailTransport;
  /**
   * The wall clock. Given systemClock, the app keeps time on a RelayClock of its own (monotonic, re-based
   * when the wall clock steps: lib/monotonic-clock, app/clock-watch); a RelayClock (tests inject its
   * sources) is used as it is; any other clock (a test's fake) too, with nothing to watch.
   */
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
  /** Stops what makes traffic of its own (the canaries), before the listener closes: a canary alarm refused by a closing listener is no failure. */
  quiesce(): Promise<void>;
  /** Stops the services in reverse order (ingest commits finish, deliveries drain up to delivery.shutdown_grace), closes the database. */
  stop(): Promise<void>;
  /** Swaps methods, routes and sources to those of `next` (see LiveConfig.reload). Throws and keeps the running config if a method cannot be built. */
  reload(next: Config): ReloadResult;
  /** How POST /-/reload re-reads the config file (runtime/relay gives SIGHUP's; until then it answers 409). */
  handleReloads(reload: () => ReloadOutcome): void;
  /** The HTTP app (its routes: the OpenAPI document's test walks them). */
  readonly http: OpenAPIHono;
  /** The runtime reports where the HTTP listener is bound (the canary posts to it). */
  listening(address: ListenAddress): void;
  /** Where a local client reaches the HTTP listener (a wildcard host becomes loopback); undefined before it listens. */
  readonly address: ListenAddress | undefined;
}

export { databaseFile };

export function createApp(config: Config, deps: AppDeps): App {
  const link: ThreadLink = { lock: new WriteLock(MAIN_THREAD_LOCK_ID) };
  const reserve = new StorageReserve(config.dataDir);
  const { outbox, diskFull } = openOnFullDisk(config, deps, link, reserve);
  try {
    return assemble(config, deps, outbox, link, reserve, diskFull);
  } catch (e) {
    outbox.close();
    throw e;
  }
}

function assemble(config: Config, deps: AppDeps, outbox: Outbox, link: ThreadLink, reserve: StorageReserve, diskFull: boolean): App {
  const { lock } = link;
  const { logger } = deps;
  // Times come from a clock that wall-clock steps do not move until the outbox's schedule moves with them.
  const relayClock = deps.clock === systemClock ? new RelayClock() : deps.clock instanceof RelayClock ? deps.clock : undefined;
  const clock = relayClock ?? deps.clock;
  const scheduler = deps.scheduler ?? systemScheduler;
  const { store } = outbox;
  let closed = false;

  // Channels put times on the wire (signatures, Retry-After dates): the wall clock's.
  const live = new LiveConfig(config, { http: deps.http, clock: relayClock?.wall ?? clock, writeLine: deps.writeLine, ...(deps.mail && { mail: deps.mail }) });
  const statsd = config.statsd && createStatsd(config.statsd, { logger });
  const metrics = createMetrics(() => store.pendingCount, logger, {
    ...(statsd && { statsd }),
    methodType: (m) => live.config.methods[m]?.type,
    now: () => clock.now(),
    oldestPendingCreatedAt: () => oldestPendingCreatedAt(outbox.main.db),
    undeliveredByMethod: () => undeliveredByMethod(outbox.main.db),
    deadLettersByMethod: () => deadLettersByMethod(outbox.main.db),
    // Made below; read at scrape only.
    checks: () => checks.list(),
  });

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
          ...(relayClock && { clock: relayClock.link() }),
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
      // On the steady clock, its times converted as they are written (see outbox/delivery onSteadyTime).
      // Through a SharedLedger (its lock never contended here) so that outcomes that meet a lock held
      // by another process, or a full disk, wait in memory instead of being delivered again.
      ledger: new SharedLedger(onSteadyTime(store.delivery, steadyOf(clock).shift), new WriteLock(DELIVERY_THREAD_LOCK_ID), () => dispatcher.nudge(), logger),
      channels: () => live.channels(),
      settings: (method) => live.settings(method),
      batchSize: config.delivery.batchSize,
      pollIntervalMs: config.delivery.pollIntervalMs,
      clock: steadyOf(clock).steady,
      scheduler,
      random: deps.random,
      logger,
      observer: metrics.delivery,
    });

  if (!diskFull && !reserve.ensure()) logger.warn({ file: reserve.file }, 'not enough disk space to keep a reserve for a full disk');
  const health = new StorageHealth({
    file: databaseFile(config),
    probe: () => store.upkeep.probeWritable(clock.now()),
    identity: () => fileIdentity(databaseFile(config)),
    now: () => performance.now(),
    logger,
    reserve,
  });
  if (diskFull) health.noteDiskFull();
  const committer = createGroupCommitter({
    transaction: (fn) => {
      health.assertUsable();
      return store.enqueue.transaction(fn);
    },
    onCommit: (n, ms) => {
      health.committed();
      metrics.commit(n, ms);
    },
    onError: (e) => health.failed(e),
    // Another process holding the write lock: wait for it (without blocking the event loop), up to 5 s.
    storageError: (e) => {
      const fault = storageFault(e);
      return fault === 'locked' ? 'wait' : fault ? 'fail' : undefined;
    },
    storageRejection: () => health.unavailable(),
    onAfterCommitError: (e) => logger.error({ err: e.message }, 'after-commit hook failed'),
  });
  // Methods created through the admin API (kept in SQLite): in force beside the file's, on both threads.
  const methods = runtimeMethods({
    store: new MethodsStore(outbox.main),
    transact: (write) => committer.submit(write),
    live,
    changed: () => {
      host?.reload(deliveryView());
      dispatcher.nudge();
    },
    clock,
    scheduler,
    logger,
    randomBytes: deps.randomBytes,
  });
  let address: ListenAddress | undefined;
  const canaries = wireCanaries({
    config: () => live.config,
    hasMethod: (m) => live.channels().has(m),
    db: outbox.main.db,
    lock: deliversOnThread(config, deps) ? lock : undefined,
    http: deps.http,
    version: VERSION,
    address: () => address,
    randomBytes: deps.randomBytes,
    // The outbox's time: the runs compare it with when notifications were sent.
    clock,
    scheduler,
    logger,
    registry: metrics.registry,
    deliveryReady: () => host?.ready() === undefined,
    // A canary via kafka's first run waits for the consumer to join its group.
    mayStart: (c) => c.via !== 'kafka' || kafka?.state() === undefined,
    writable: () => health.problem === undefined,
    // `kafka` is wired below (it needs the acceptor, which needs the canaries); runs start after both.
    ...(config.kafka && { viaKafka: (m, signal) => (kafka ? kafka.injectCanary(m, signal) : Promise.reject(new Error('no Kafka consumer'))) }),
  });
  const ids = idGenerator(() => clock.now(), deps.randomBytes);
  // The silences (loaded once; the admin API changes them) and the state of every alarm.
  const silences = new SilenceBook();
  for (const bad of silences.load(store.states.silencesEndingAfter(clock.now()))) {
    logger.error({ silence: bad.id }, 'a stored silence has a match that no longer parses; it is ignored');
  }
  const lifecycle = new Lifecycle({
    states: store.states,
    enqueue: store.enqueue,
    ids,
    routes: () => live.routes(),
    policy: {
      methodRepeatMs: (m) => live.config.methods[m]?.repeatIntervalMs,
      canGroup: (m) => {
        const method = live.config.methods[m];
        return method !== undefined && carriesSeveral(method);
      },
    },
    silences: () => silences.list,
    notifyUnknownResolved: () => live.config.lifecycle.notifyUnknownResolved,
  });
  // Notifications the lifecycle made outside a request (repeats, expiries, groups, silence ends).
  const enqueued = (n: number) => {
    metrics.lifecycleEnqueued(n);
    store.noteArrived(n);
    dispatcher.nudge();
  };
  const timer = lifecycleTimer({ lifecycle, silences, nextWake: () => store.states.nextWake(), committer, clock, scheduler, logger, enqueued });
  const silenceApi = silenceService({
    states: store.states, lifecycle, book: silences, committer, clock, enqueued,
    newId: () => 'sil_' + ulid(clock.now(), deps.randomBytes),
  });
  const accept = createAcceptor({
    store,
    committer,
    lifecycle,
    clock,
    ids,
    idempotencyTtlMs: config.ingest.idempotencyTtlMs,
    maxPending: config.ingest.maxPending,
    observer: metrics.ingest,
    onEnqueued: () => dispatcher.nudge(),
    ...(canaries && { internalMethods: (alarm: Alarm) => canaries.internalMethods(alarm) }),
  });

  // The heartbeat checks (issue #15): their alarms go through the acceptor, with each check's state.
  const checks = checkService({
    checks: config.checks,
    pings: config.pings,
    store: store.checks,
    committer,
    accept,
    clock,
    scheduler,
    logger,
    randomBytes: deps.randomBytes,
  });

  const kafka = wireKafka({
    config: () => live.config,
    accept,
    now: () => clock.now(),
    hash: sha256Hex,
    pending: () => store.pendingCount,
    scheduler,
    random: deps.random,
    logger,
    registry: metrics.registry,
    ingestHooks: ((source: (topic: string) => string) => ({
      rejected: (t: string, n: number) => metrics.rejected(source(t), n),
      skipped: (t: string, r: SkipReason, n: number) => metrics.ingest.skipped?.(source(t), r, n),
    }))((t) => live.config.kafka?.topics.find((x) => x.name === t)?.source ?? t),
    ...(config.kafka?.durability === 'cluster' && {
      cluster: {
        transact: (fn) => committer.submit(fn),
        handoff: new Handoff(outbox.main),
        arrived: (n) => {
          store.noteArrived(n);
          dispatcher.nudge();
        },
        left: (n) => store.noteSettled(n),
      },
    }),
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
  // Steps of the wall clock move the outbox's schedule with them, after the ingest commits already queued.
  const clockWatch =
    relayClock &&
    clockWatchService({
      clock: relayClock,
      rebase: (step) => rebaseOutbox(outbox.main, lock, relayClock, step),
      // Not while the database cannot be written (the update would fail, or grow the WAL into the space
      // the reserve freed): the step is still there to see once it can.
      busy: () => committer.queued > 0 || health.problem !== undefined,
      scheduler,
      logger,
      onJump: ((count) => (step: number) => {
        count(step);
        canaries?.service.shift(step);
      })(countClockJumps(metrics.registry)),
    });
  let delivering = true;
  let ingesting = true;
  const services: Service[] = [
    // First: the methods the routes name are in force before anything delivers (a route naming none fails the start).
    methods.service,
    ...(clockWatch ? [clockWatch] : []),
    storageWatchService({
      health,
      scheduler,
      logger,
      drained: () => store.pendingCount === 0,
      // Not while the other thread writes (nor waiting for it: the next tick tries again).
      truncateWal: () => void lock.tryRun(() => truncateWal(outbox.main.db)),
      walBytes: () => fileBytes(`${databaseFile(config)}-wal`),
      now: () => performance.now(),
    }),
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
    // Commits through ingest's committer: starts after it, stops before it.
    timer,
    // Accepts its alarms through ingest: starts after it, stops before it.
    checks,
    // Needs ingest (its batches are accepted there): stops before it, finishing and committing its batch.
    ...(kafka ? [kafka.service] : []),
    // Last: it needs ingest and delivery running, and stops first.
    ...(canaries ? [canaries.service] : []),
  ];

  const readiness = new Readiness();
  for (const s of services) if (s.ready) readiness.add(s.name, s.ready);
  canaries?.addReadiness(readiness);
  if (kafka) readiness.add('kafka', () => kafka.state(), { affectsReadiness: false });
  readiness.add('database', () => {
    if (closed) return 'shutting down';
    const v = schemaVersion(outbox.main.db);
    if (v !== latestSchemaVersion()) return `database schema ${v}, expected ${latestSchemaVersion()}`;
    return health.check();
  });

  const authenticate = createAuthenticator(() => live.sources(), canaries?.token);
  // The admin API's dead letters: changed in the committer's transactions, counted once committed.
  const deadLetters = deadLetterService({
    letters: new DeadLetters(outbox.main),
    submit: (work, after) => committer.submit(work, after),
    now: () => clock.now(),
    methods: () => [...live.channels().keys()],
    arrived: (n) => {
      store.noteArrived(n);
      dispatcher.nudge();
    },
    settled: (n) => store.noteSettled(n),
    logger,
  });
  let reloader: (() => ReloadOutcome) | undefined;
  const http = createHttpApp({
    accept,
    authenticate,
    authenticateAdmin: createAdminAuthenticator(
      () => live.config.admin.tokens,
      (h) => {
        const r = authenticate(h);
        return r.ok && r.source !== undefined && r.internal !== true;
      },
    ),
    silences: silenceApi,
    checks,
    pings: checks,
    maxBodyBytes: config.ingest.maxBodyBytes,
    maxBatch: config.ingest.maxBatch,
    formatOptions: config.ingest.formats,
    hash: sha256Hex,
    now: () => clock.now(),
    logger,
    skipped: (source, reason, n) => metrics.ingest.skipped?.(source, reason, n),
    rejected: (source) => metrics.rejected(source, 1),
    metricsToken: () => live.config.metrics.token,
    signatures: {
      active: () => live.sources().some((s) => s.signingSecrets.length > 0),
      // Signatures carry wall-clock timestamps.
      verify: (req) => verifySignature(req, live.sources().filter((s) => s.signingSecrets.length > 0), (relayClock?.wall ?? clock).now()),
    },
    store,
    metrics,
    readiness,
    version: VERSION,
    admin: {
      queries: new AdminQueries(outbox.main),
      deadLetters,
      config: {
        routes: () => live.config.routes,
        canaries: () => live.config.canaries,
        ...(canaries && { canaryState: (name: string) => canaries.service.state(name) }),
        canaryRuns: new CanaryRunQueries(outbox.main),
      },
      reload: () => reloader?.(),
      methods,
    },
  });

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
    quiesce: async () => {
      await canaries?.service.stop();
    },
    stop: () =>
      (stopped ??= (async () => {
        // A start that failed has already stopped what it started (startAll); one never made stops ingest only.
        const running = started ? await started.then(() => true, () => false) : false;
        if (running) await stopAll(services, logger);
        else if (!started) await stopAll(services.filter((s) => s.name === 'ingest'), logger);
        closed = true;
        outbox.close();
        await statsd?.close();
      })()),
    handleReloads(reload) {
      reloader = reload;
    },
    http,
    reload(next) {
      const result = live.reload(next);
      // Notifications queued for a method now gone (and not defined through the API either) are counted as invalid.
      const gone = result.methods.removed.filter((m) => !live.channels().has(m));
      if (gone.length > 0) {
        const waiting = store.queries.undeliveredByMethod();
        for (const m of gone) metrics.invalidMethod(m, waiting.get(m) ?? 0);
      }
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
