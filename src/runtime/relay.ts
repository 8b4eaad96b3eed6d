/**
 * @module runtime/relay
 * Runs the relay on any Platform: listens first, then builds the app with the runtime's pieces (the app's
 * modules load only then), and stops gracefully.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { App } from '../app.ts';
import type { Config } from '../config/types.ts';
import { ConfigError } from '../config/errors.ts';
import type { ReloadResult } from '../app/live-config.ts';
import { coerceError } from '../lib/errors.ts';
import { redact, secretsIn } from '../lib/secret.ts';
import { systemClock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Listener, OutboundHttp, Platform } from './platform.ts';
import { startGate } from './start-gate.ts';
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
}

export type RelayLogger = Logger & { flush?: () => void };

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

/** JSON lines on stderr. */
export function createLogger(level: Config['logLevel']): RelayLogger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: false }));
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
  logger.flush?.(); // the line operators and supervisors wait for: do not leave it in the async buffer

  let http: OutboundHttp | undefined;
  let app: App | undefined;
  try {
    const [{ createApp }, { startDeliveryThread }, openDatabase] = await Promise.all([
      import('../app.ts'),
      import('./threads.ts'),
      platform.loadSqlite(),
    ]);
    http = await platform.createHttpClient();
    app = createApp(config, {
      openDatabase,
      http: http.client,
      clock: systemClock,
      random: Math.random,
      randomBytes: pooledRandomBytes(),
      logger,
      writeLine: stdoutLineWriter(logger),
      deliveryThread: startDeliveryThread,
    });
    app.listening({ host: config.listen.host, port: listener.port });
    await app.start();
  } catch (e) {
    logger.error({ err: coerceError(e).message }, 'could not start; stopping');
    gate.fail('see its log');
    await closeListener(listener);
    await app?.stop();
    await http?.close();
    logger.flush?.();
    throw e;
  }
  const started = app;
  const client = http;
  gate.open(started.fetch);
  logger.info({ ready_ms: round(performance.now()), app_ms: round(performance.now() - listenMs) }, 'tocsin ready');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info({}, 'shutting down: no new requests, draining deliveries');
      await closeListener(listener);
      await started.stop();
      await client.close();
      logger.info({}, 'stopped');
      logger.flush?.();
    })());
  const reload = () => reloadRelay(started, opts.loadConfig, logger);
  return { app: started, port: listener.port, stop, reload };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** Stops accepting; keep-alive connections that keep sending are cut after a while. */
async function closeListener(listener: Listener): Promise<void> {
  const cut = setTimeout(() => listener.closeAllConnections(), CUT_CONNECTIONS_AFTER_MS);
  await listener.close();
  clearTimeout(cut);
}

/**
 * SIGHUP: read the file again, validate it, and swap methods, routes and sources. An invalid file is
 * logged with its errors and the running configuration kept; deliveries in flight are not interrupted.
 */
export function reloadRelay(app: App, load: (() => Config) | undefined, logger: Logger): boolean {
  if (!load) {
    logger.warn({}, 'reload requested, but tocsin runs on its built-in defaults (no config file): nothing to reload');
    return false;
  }
  let next: Config;
  try {
    next = load();
  } catch (e) {
    const issues = e instanceof ConfigError ? e.issues : [coerceError(e).message];
    logger.error({ issues }, 'reload failed: the configuration file is invalid; keeping the running configuration');
    return false;
  }
  let result: ReloadResult;
  try {
    result = app.reload(next);
  } catch (e) {
    // Building a method's channel failed: its text may quote a setting, so the new file's secrets are cut out.
    logger.error({ err: redact(coerceError(e).message, secretsIn(next)) }, 'reload failed; keeping the running configuration');
    return false;
  }
  logger.info({ methods: result.methods, routes: next.routes.length, sources: next.sources.length }, 'configuration reloaded');
  if (result.restartNeeded.length > 0) {
    logger.warn({ settings: result.restartNeeded }, 'these settings changed but take effect only after a restart');
  }
  app.dispatcher.nudge();
  return true;
}

/** SIGTERM/SIGINT: graceful stop, then exit; a second signal exits at once. */
export function exitOnShutdownSignals(platform: Platform, stop: () => Promise<void>): void {
  let signalled = false;
  platform.onShutdownSignal((sig) => {
    if (signalled) process.exit(130);
    signalled = true;
    stop().then(
      () => process.exit(0),
      (e) => {
        process.stderr.write(`tocsin: error during shutdown after ${sig}: ${String(e)}\n`);
        process.exit(1);
      },
    );
  });
}
