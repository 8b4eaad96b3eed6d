/**
 * @module runtime/node
 * Runs tocsin on Node: better-sqlite3, undici, @hono/node-server, POSIX signals.
 */
import { serve } from '@hono/node-server';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp, type App } from '../app.ts';
import type { Config } from '../config/types.ts';
import { systemClock } from '../lib/clock.ts';
import { openNodeSqlite } from './sqlite-node.ts';
import { createUndiciClient } from './http-undici.ts';

export interface Running {
  readonly app: App;
  readonly port: number;
  stop(): Promise<void>;
}

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
export function stdoutLineWriter(logger: { error(fields: Record<string, unknown>, msg: string): void }): (line: string) => Promise<void> {
  let reported = false;
  process.stdout.on('error', (e) => {
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

export function createNodeLogger(level: Config['logLevel']) {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: false }));
}

export async function serveNode(config: Config, logger = createNodeLogger(config.logLevel)): Promise<Running> {
  const http = createUndiciClient();
  const app = createApp(config, {
    openDatabase: openNodeSqlite,
    http: http.client,
    clock: systemClock,
    random: Math.random,
    randomBytes: pooledRandomBytes(),
    logger,
    writeLine: stdoutLineWriter(logger),
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: config.listen.host, port: config.listen.port }, () => resolve(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  app.start();
  logger.info({ listen: `${config.listen.host}:${port}`, data_dir: config.dataDir, methods: Object.keys(config.methods) }, 'tocsin listening');
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info({}, 'shutting down: no new requests, draining deliveries');
      const closed = new Promise<void>((r) => server.close(() => r()));
      // Keep-alive clients that keep sending hold connections open: cut them after a short grace.
      const cut = setTimeout(() => (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.(), 2000);
      await closed;
      clearTimeout(cut);
      await app.stop();
      await http.close();
      logger.info({}, 'stopped');
      logger.flush?.();
    })());
  return { app, port, stop };
}

/** SIGTERM/SIGINT: graceful stop, then exit; a second signal exits at once. */
export function onShutdownSignals(stop: () => Promise<void>): void {
  let signalled = false;
  const handler = (sig: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    stop().then(
      () => process.exit(0),
      (e) => {
        process.stderr.write(`tocsin: error during shutdown after ${sig}: ${String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
