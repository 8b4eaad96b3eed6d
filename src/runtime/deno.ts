/**
 * @module runtime/deno
 * Deno: node:sqlite (Deno loads only N-API addons, not better-sqlite3), fetch, Deno.serve, Deno signals.
 */
import type { FetchHandler, Listener, Platform } from './platform.ts';

/** The part of Deno's API used here. */
interface DenoGlobal {
  serve(
    options: { hostname: string; port: number; onListen(addr: { port: number }): void; onError(e: unknown): Response },
    handler: FetchHandler,
  ): { shutdown(): Promise<void>; readonly addr: { port: number } };
  addSignalListener(signal: 'SIGTERM' | 'SIGINT' | 'SIGHUP', handler: () => void): void;
}

export function denoPlatform(): Platform {
  const deno = (globalThis as unknown as { Deno: DenoGlobal }).Deno;
  return {
    name: 'deno',
    sqliteDriver: 'node:sqlite',
    loadSqlite: async () => (await import('./sqlite-builtin.ts')).loadBuiltinSqlite(),
    createHttpClient: async () => (await import('./http-fetch.ts')).createFetchClient(),
    async listen(fetch, hostname, port): Promise<Listener> {
      const server = deno.serve(
        {
          hostname,
          port,
          onListen: () => {}, // instead of Deno's default "Listening on" line: stdout belongs to the log method
          onError: () => Response.json({ error: 'internal error', code: 'internal' }, { status: 500 }),
        },
        fetch,
      );
      // shutdown() closes idle keep-alive connections but waits for every request in progress, even one
      // whose client stalls mid-body; closeAllConnections stops that wait, and the process then exits.
      let cut = () => {};
      const cutting = new Promise<void>((r) => (cut = r));
      return { port: server.addr.port, close: () => Promise.race([server.shutdown(), cutting]), closeAllConnections: () => cut() };
    },
    onShutdownSignal(handler) {
      deno.addSignalListener('SIGTERM', () => handler('SIGTERM'));
      deno.addSignalListener('SIGINT', () => handler('SIGINT'));
    },
    onReloadSignal(handler) {
      deno.addSignalListener('SIGHUP', handler);
    },
  };
}
