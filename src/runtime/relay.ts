/**
 * @module runtime/relay
 * Runs the relay on any Platform: listens first, then builds the app with the runtime's pieces (the app's
 * modules load only then), and stops gracefully.
 */
import { randomBytes } from 'node:crypto';
import { write as fsWrite } from 'node:fs';
import { buildLogger } from './logger.ts';
import type { App } from '../app.ts';
import type { Config } from '../config/types.ts';
import { ConfigError } from '../config/errors.ts';
import type { ReloadResult } from '../app/live-config.ts';
import type { ReloadOutcome } from '../http/reload-routes.ts';
import { coerceError } from '../lib/errors.ts';
import { redact, secretsIn } from '../lib/secret.ts';
import { systemClock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { mailTransports } from './mail.ts';
import type { Listener, OutboundHttp, Platform } from './platform.ts';
import { startGate, type StartGate } from './start-gate.ts';
import { VERSION } from '../version.ts';

export interface Running {
  readonly app: App;
  readonly port: number;
  stop(): Promise<void>;
  /** Re-reads the configuration (SIGHUP): see reloadRelay. */
  reload(): void;
}

export interface RelayOptions {
  readonly logger?: RelayLogger;
  /** Reads the configuration again for a reload; absent when the relay runs on its built-in defaults. */
  readonly loadConfig?: () => Config;
  /** Aborted when a shutdown signal arrives before the relay has started (it may be waiting for disk space). */
  readonly stopping?: AbortSignal;
}

export type RelayLogger = Logger & {
  /** Calls cb once every line logged so far is written or dropped. */
  flush?: (cb?: () => void) => void;
  /** How many log lines could not be written and were dropped (see LogDestination). */
  droppedLines?: () => number;
};

/** crypto.randomBytes per id is costly at thousands of ids per second: draw from a refilled 4 KiB pool. */
export function pooledRandomBytes(poolSize = 4096): (n: number) => Uint8Array {
  let pool = randomBytes(poolSize);
  let at = 0;
  return (n) => {
    if (at + n > pool.length) {
      pool = randomBytes(Math.max(poolSize, n));
      at = 0;
    }
    const out = pool.subarray(at, at + n);
    at += n;
    return out;
  };
}

/**
 * Lines for the `log` method, resolved once written. A closed stdout (EPIPE, a log shipper restarting)
 * makes writes fail, so those notifications are retried; it must not crash the relay.
 */
export function stdoutLineWriter(logger: Pick<Logger, 'error'>): (line: string) => Promise<void> {
  let reported = false;
  process.stdout.on('error', (e: Error) => {
    if (reported) return;
    reported = true;
    logger.error({ err: e.message }, 'stdout is not writable; the log method will retry its notifications');
  });
  return (line) =>
    new Promise<void>((resolve, reject) => {
      if (process.stdout.destroyed || !process.stdout.writable) return reject(new Error('stdout is closed'));
      process.stdout.write(line + '\n', (err) => (err ? reject(err) : resolve()));
    });
}

/** Log text waiting to be written beyond this is dropped: a reader that stops reading must not fill the heap. */
const MAX_PENDING_LOG_CHARS = 4 * 1024 * 1024;
/** A full pipe (EAGAIN): the reader is alive but behind; try again after this long. */
const LOG_RETRY_MS = 50;

/**
 * Where the log's JSON lines go (pino's destination): a file descriptor, stderr. Each line is handed to
 * the kernel as soon as the write before it has finished, in order, without blocking the event loop.
 * A write that fails (EPIPE: the reader went away, as when journald restarts; or any other error) drops
 * its lines and counts them, and is never tried again; a full pipe (EAGAIN) is tried again later, and past
 * MAX_PENDING_LOG_CHARS new lines are dropped. Nothing is written synchronously, so nothing can hold up an
 * exit: wait for logFlushed before exiting. (pino.destination's sonic-boom retries a failed write at exit
 * in a blocking loop: with stderr closed, `tocsin serve` logged `stopped` and then hung, deaf to signals.)
 */
export class LogDestination {
  /** Lines dropped because they could not be written. */
  dropped = 0;
  #queue: string[] = [];
  #queuedChars = 0;
  #writing = false;
  #onIdle: (() => void)[] = [];

  constructor(private readonly fd: number) {}

  write(line: string): void {
    if (this.#queuedChars > MAX_PENDING_LOG_CHARS) {
      this.dropped++;
      return;
    }
    this.#queue.push(line);
    this.#queuedChars += line.length;
    if (!this.#writing) this.#writeQueued();
  }

  /** Calls cb once every line so far is written or dropped. */
  flush(cb?: () => void): void {
    if (!cb) return;
    if (this.#writing) this.#onIdle.push(cb);
    else cb();
  }

  #writeQueued(): void {
    const lines = this.#queue.length;
    this.#writing = lines > 0;
    if (lines === 0) {
      for (const cb of this.#onIdle.splice(0)) cb();
      return;
    }
    const text = this.#queue.join('');
    this.#queue = [];
    this.#queuedChars = 0;
    this.#send(Buffer.from(text), lines);
  }

  #send(buf: Buffer, lines: number): void {
    fsWrite(this.fd, buf, (err, written) => {
      if (err?.code === 'EAGAIN') {
        setTimeout(() => this.#send(buf, lines), LOG_RETRY_MS).unref?.();
        return;
      }
      if (err) this.dropped += lines;
      else if (written < buf.length) return this.#send(buf.subarray(written), lines);
      this.#writeQueued();
    });
  }
}

/** JSON lines on stderr (pretty ones on a terminal: runtime/logger); see LogDestination. */
export function createLogger(level: Config['logLevel']): RelayLogger {
  const destination = new LogDestination(2);
  const logger = buildLogger(level, destination, { env: process.env, isTty: process.stderr.isTTY === true });
  return Object.assign(logger, { droppedLines: () => destination.dropped });
}

/** Resolves once the logger has written (or dropped) every line so far, or after `ms` at the latest. */
export function logFlushed(logger: RelayLogger, ms = 1000): Promise<void> {
  return new Promise((resolve) => {
    if (!logger.flush) return resolve();
    const timer = setTimeout(resolve, ms);
    logger.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const CUT_CONNECTIONS_AFTER_MS = 2000;

/**
 * Binds the listener (the `tocsin listening` line), then builds and starts the app (the `tocsin ready`
 * line). Requests in between wait for the app. Rejects, with the listener closed, if either fails.
 */
export async function runRelay(config: Config, platform: Platform, opts: RelayOptions = {}): Promise<Running> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const gate = startGate(VERSION);
  const listener = await platform.listen(gate.fetch, config.listen.host, config.listen.port);
  const listenMs = performance.now();
  logger.info(
    {
      listen: `${config.listen.host}:${listener.port}`,
      data_dir: config.dataDir,
      methods: Object.keys(config.methods),
      runtime: platform.name,
      sqlite: platform.sqliteDriver,
      // Since the process started (performance.timeOrigin): runtime start, loading, config, listen.
      startup_ms: round(listenMs),
    },
    'tocsin listening',
  );

  let http: OutboundHttp | undefined;
  let app: App | undefined;
  // Mail transports for the email channel where it runs on this thread; nodemailer loads at the first send.
  const mail = mailTransports();
  try {
    const [{ createApp }, { startDeliveryThread }, openDatabase] = await Promise.all([
      import('../app.ts'),
      import('./threads.ts'),
      platform.loadSqlite(),
    ]);
    http = await platform.createHttpClient();
    const client = http.client;
    app = await whenThereIsSpace(
      () =>
        createApp(config, {
          openDatabase,
          http: client,
          mail: mail.mail,
          clock: systemClock,
          random: Math.random,
          randomBytes: pooledRandomBytes(),
          logger,
          writeLine: stdoutLineWriter(logger),
          deliveryThread: startDeliveryThread,
        }),
      { logger, gate, ...(opts.stopping && { stopping: opts.stopping }) },
    );
    app.listening({ host: config.listen.host, port: listener.port });
    await app.start();
  } catch (e) {
    if (opts.stopping?.aborted) logger.info({}, 'stopped before the database could be opened');
    else logger.error({ err: coerceError(e).message }, 'could not start; stopping');
    gate.fail('see its log');
    await closeListener(listener);
    await app?.stop();
    await http?.close();
    await mail.close();
    await logFlushed(logger);
    throw e;
  }
  const started = app;
  const client = http;
  const reload = () => reloadRelay(started, opts.loadConfig, logger);
  // POST /-/reload runs the same reload as SIGHUP.
  started.handleReloads(reload);
  gate.open(started.fetch);
  logger.info({ ready_ms: round(performance.now()), app_ms: round(performance.now() - listenMs) }, 'tocsin ready');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info({}, 'shutting down: no new requests, draining deliveries');
      await started.quiesce();
      await closeListener(listener);
      await started.stop();
      await client.close();
      await mail.close();
      const dropped = logger.droppedLines?.() ?? 0;
      logger.info(dropped > 0 ? { log_lines_dropped: dropped } : {}, 'stopped');
      await logFlushed(logger);
    })());
  return { app: started, port: listener.port, stop, reload: () => void reload() };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** While the disk is full and no space is kept in reserve, how long between attempts to open the database. */
export const FULL_DISK_RETRY_MS = 5000;

/**
 * Builds the app; if the database cannot be opened because the disk is full (the space tocsin keeps in
 * reserve already spent, see app/storage-reserve), keeps the listener up (healthz 200, everything else
 * 503) and tries again every 5 s until there is space, or until `stopping` is aborted (it then throws).
 */
async function whenThereIsSpace<T>(build: () => T, deps: { logger: RelayLogger; gate: StartGate; stopping?: AbortSignal }): Promise<T> {
  let logged = false;
  for (;;) {
    try {
      return build();
    } catch (e) {
      const message = coerceError(e).message;
      if (!/disk is full|database or disk is full/.test(message) || deps.stopping?.aborted) throw e;
      if (!logged) deps.logger.error({ err: message }, 'cannot open the database, the disk is full: waiting for free space (ingest answers 503 meanwhile)');
      logged = true;
      deps.gate.hold('disk full: waiting for free space to open the database');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FULL_DISK_RETRY_MS);
        deps.stopping?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      if (deps.stopping?.aborted) throw e;
    }
  }
}

/** Stops accepting; keep-alive connections that keep sending are cut after a while. */
async function closeListener(listener: Listener): Promise<void> {
  const cut = setTimeout(() => listener.closeAllConnections(), CUT_CONNECTIONS_AFTER_MS);
  await listener.close();
  clearTimeout(cut);
}

/**
 * SIGHUP and POST /-/reload: read the file again, validate it, and swap methods, routes and sources. An
 * invalid file is logged with its errors and the running configuration kept; deliveries in flight are not
 * interrupted. Returns what happened (the admin API answers with it).
 */
export function reloadRelay(app: App, load: (() => Config) | undefined, logger: Logger): ReloadOutcome {
  if (!load) {
    logger.warn({}, 'reload requested, but tocsin runs on its built-in defaults (no config file): nothing to reload');
    return { kind: 'no_file' };
  }
  let next: Config;
  try {
    next = load();
  } catch (e) {
    const issues = e instanceof ConfigError ? e.issues : [coerceError(e).message];
    logger.error({ issues }, 'reload failed: the configuration file is invalid; keeping the running configuration');
    return { kind: 'invalid', issues };
  }
  let result: ReloadResult;
  try {
    result = app.reload(next);
  } catch (e) {
    // Building a method's channel failed: its text may quote a setting, so the new file's secrets are cut out.
    const err = redact(coerceError(e).message, secretsIn(next));
    logger.error({ err }, 'reload failed; keeping the running configuration');
    return { kind: 'failed', error: err };
  }
  logger.info({ methods: result.methods, routes: next.routes.length, sources: next.sources.length }, 'configuration reloaded');
  if (result.restartNeeded.length > 0) {
    logger.warn({ settings: result.restartNeeded }, 'these settings changed but take effect only after a restart');
  }
  app.dispatcher.nudge();
  return { kind: 'reloaded', methods: result.methods, restartNeeded: result.restartNeeded };
}

/** How long a forced exit (second signal) waits for its log line to be written. */
const FORCED_EXIT_LOG_MS = 200;

/** SIGTERM/SIGINT: graceful stop, then exit; a second signal exits at once, and says so in the log. */
export function exitOnShutdownSignals(platform: Platform, stop: () => Promise<void>, logger: RelayLogger): void {
  let signalled: 'SIGTERM' | 'SIGINT' | undefined;
  platform.onShutdownSignal((sig) => {
    if (signalled) {
      logger.warn(
        { signal: sig, first_signal: signalled },
        'second signal: exiting now without waiting for the shutdown to finish; deliveries in flight are retried after the next start',
      );
      void logFlushed(logger, FORCED_EXIT_LOG_MS).then(() => process.exit(130));
      return;
    }
    signalled = sig;
    stop().then(
      () => process.exit(0),
      (e) => {
        logger.error({ signal: sig, err: coerceError(e).message }, 'error during shutdown');
        void logFlushed(logger).then(() => process.exit(1));
      },
    );
  });
}
