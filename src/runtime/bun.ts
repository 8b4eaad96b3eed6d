/**
 * @module runtime/bun
 * Bun: bun:sqlite, fetch, Bun.serve, POSIX signals through process. This is what the single binary runs.
 */
import type { FetchHandler, Listener, Platform } from './platform.ts';

/** The part of Bun.serve's API used here. */
interface BunServer {
  readonly port: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
}
interface BunGlobal {
  serve(options: {
    hostname: string;
    port: number;
    fetch: FetchHandler;
    development: boolean;
    error(e: Error): Response;
  }): BunServer;
}

export function bunPlatform(): Platform {
  const bun = (globalThis as unknown as { Bun: BunGlobal }).Bun;
  return {
    name: 'bun',
    sqliteDriver: 'bun:sqlite',
    loadSqlite: async () => (await import('./sqlite-bun.ts')).openBunSqlite,
    createHttpClient: async () => (await import('./http-fetch.ts')).createFetchClient(),
    async listen(fetch, hostname, port): Promise<Listener> {
      const server = bun.serve({
        hostname,
        port,
        fetch,
        development: false,
        // The app answers every error itself; this is the last line of defence, and it says nothing more.
        error: () => Response.json({ error: 'internal error', code: 'internal' }, { status: 500 }),
      });
      return {
        port: server.port,
        close: () => server.stop(false),
        closeAllConnections: () => void server.stop(true),
      };
    },
    onShutdownSignal(handler) {
      process.on('SIGTERM', () => handler('SIGTERM'));
      process.on('SIGINT', () => handler('SIGINT'));
    },
    onReloadSignal(handler) {
      process.on('SIGHUP', handler);
    },
  };
}
