/**
 * @module app
 * Composition root: builds the database, store, channels, ingest, dispatcher and HTTP app from a Config
 * and injected runtime pieces. No globals, no side effects until start().
 */
import { join } from 'node:path';
import type { Config, DeliverySettings } from './config/types.ts';
import type { Channel, HttpClient } from './channels/types.ts';
import { createChannel } from './channels/registry.ts';
import type { Clock, Random } from './lib/clock.ts';
import { idGenerator, type RandomBytes } from './lib/ids.ts';
import type { Logger } from './lib/logger.ts';
import { sha256Hex } from './lib/hash.ts';
import { coerceError } from './lib/errors.ts';
import { applyPragmas, type OpenDatabase } from './outbox/db.ts';
import { latestSchemaVersion, migrate, schemaVersion } from './outbox/migrate.ts';
import { OutboxStore } from './outbox/store.ts';
import { createGroupCommitter } from './outbox/group-commit.ts';
import { createAcceptor, type Acceptor } from './ingest/accept.ts';
import { createDispatcher, type Dispatcher } from './dispatch/dispatcher.ts';
import { createAuthenticator } from './http/auth.ts';
import { createMetrics } from './http/metrics.ts';
import { createHttpApp } from './http/server.ts';
import { VERSION } from './version.ts';

export interface AppDeps {
  /** Opens (creating if needed) the SQLite database file with the runtime's driver. */
  readonly openDatabase: (file: string) => OpenDatabase;
  readonly http: HttpClient;
  readonly clock: Clock;
  readonly random: Random;
  readonly randomBytes: RandomBytes;
  readonly logger: Logger;
  /** Where the `log` method prints one JSON line per notification (a promise settles once written). */
  readonly writeLine: (line: string) => void | Promise<void>;
}

export interface App {
  readonly fetch: (req: Request) => Response | Promise<Response>;
  readonly store: OutboxStore;
  readonly dispatcher: Dispatcher;
  readonly accept: Acceptor;
  /** Starts delivery and housekeeping. */
  start(): void;
  /** Finishes pending commits, drains deliveries (up to delivery.shutdown_grace), closes the database. */
  stop(): Promise<void>;
}

const LEASE_SWEEP_MS = 15_000;
const PRUNE_MS = 10 * 60_000;

export function databaseFile(config: Config): string {
  return join(config.dataDir, 'tocsin.db');
}

export function createApp(config: Config, deps: AppDeps): App {
  const { clock, logger } = deps;
  const opened = deps.openDatabase(databaseFile(config));
  let closed = false;
  try {
    applyPragmas(opened.db, config.database.synchronous);
    const applied = migrate(opened.db, clock.now());
    if (applied.length > 0) logger.info({ applied }, 'database migrated');
  } catch (e) {
    opened.close();
    throw e;
  }
  // Delivery bookkeeping gets its own connection at synchronous=NORMAL at most (see OutboxStore).
  const deliveryConn = deps.openDatabase(databaseFile(config));
  applyPragmas(deliveryConn.db, config.database.synchronous === 'OFF' ? 'OFF' : 'NORMAL');
  const store = new OutboxStore(opened.db, deliveryConn.db);
  const released = store.releaseAllLeases(clock.now());
  if (released > 0) logger.warn({ released }, 'released leases left by a previous run; those notifications will be delivered again');

  const metrics = createMetrics(() => store.pendingCount, logger);
  const channelDeps = { http: deps.http, clock, random: deps.random, writeLine: deps.writeLine };
  const channels = new Map<string, Channel>();
  const settings = new Map<string, DeliverySettings>();
  for (const [name, m] of Object.entries(config.methods)) {
    channels.set(name, createChannel(m, channelDeps));
    settings.set(name, m.delivery);
  }

  // Notifications for a method that is no longer configured wait (they are never dropped): say so at
  // start and at every housekeeping round until they are dealt with.
  const reportOrphans = () => {
    for (const [method, count] of store.undeliveredByMethod()) {
      if (!channels.has(method)) {
        logger.error(
          { method, undelivered: count },
          'notifications are waiting for a method that is not configured; configure it again to deliver them',
        );
      }
    }
  };
  reportOrphans();

  const dispatcher = createDispatcher({
    store,
    channels,
    settings: (method) => settings.get(method) ?? config.delivery,
    batchSize: config.delivery.batchSize,
    pollIntervalMs: config.delivery.pollIntervalMs,
    clock,
    random: deps.random,
    logger,
    observer: metrics.delivery,
  });

  const committer = createGroupCommitter({
    transaction: (fn) => store.transaction(fn),
    onCommit: (n, ms) => metrics.commit(n, ms),
    onAfterCommitError: (e) => logger.error({ err: e.message }, 'after-commit hook failed'),
  });
  const accept = createAcceptor({
    store,
    committer,
    routes: config.routes,
    clock,
    ids: idGenerator(() => clock.now(), deps.randomBytes),
    idempotencyTtlMs: config.ingest.idempotencyTtlMs,
    maxPending: config.ingest.maxPending,
    observer: metrics.ingest,
    onEnqueued: () => dispatcher.nudge(),
  });

  const checkReady = () => {
    if (closed) throw new Error('shutting down');
    const v = schemaVersion(opened.db);
    if (v !== latestSchemaVersion()) throw new Error(`database schema ${v}, expected ${latestSchemaVersion()}`);
    store.probeWritable();
  };

  const http = createHttpApp({
    accept,
    authenticate: createAuthenticator(config.sources),
    maxBodyBytes: config.ingest.maxBodyBytes,
    maxBatch: config.ingest.maxBatch,
    zeebeSeverity: config.ingest.zeebeSeverity,
    hash: sha256Hex,
    logger,
    store,
    metrics,
    checkReady,
    version: VERSION,
  });

  const timers: ReturnType<typeof setInterval>[] = [];
  const housekeeping = (what: string, fn: () => void) => () => {
    try {
      fn();
    } catch (e) {
      logger.error({ task: what, err: coerceError(e).message }, 'housekeeping failed; will try again');
    }
  };
  const sweep = housekeeping('lease sweep', () => {
    const n = store.releaseExpiredLeases(clock.now());
    if (n > 0) {
      logger.warn({ released: n }, 'released expired delivery leases');
      dispatcher.nudge();
    }
  });
  const prune = housekeeping('prune', () => {
    store.prune(clock.now(), config.database.retentionMs, config.ingest.idempotencyTtlMs);
    reportOrphans();
  });

  return {
    fetch: (req) => http.fetch(req),
    store,
    dispatcher,
    accept,
    start() {
      housekeeping('prune', () => store.prune(clock.now(), config.database.retentionMs, config.ingest.idempotencyTtlMs))();
      dispatcher.start();
      timers.push(setInterval(sweep, LEASE_SWEEP_MS), setInterval(prune, PRUNE_MS));
      for (const t of timers) t.unref?.();
    },
    async stop() {
      if (closed) return;
      for (const t of timers) clearInterval(t);
      // Let commits already queued finish, so every request that will get a 2xx is durable.
      while (committer.queued > 0) await new Promise((r) => setImmediate(r));
      await dispatcher.stop(config.delivery.shutdownGraceMs);
      closed = true;
      deliveryConn.close();
      opened.close();
    },
  };
}
