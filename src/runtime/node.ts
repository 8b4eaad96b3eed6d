/**
 * @module runtime/node
 * Node: better-sqlite3, undici, @hono/node-server, POSIX signals through process.
 */
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Listener, Platform } from './platform.ts';

export function nodePlatform(): Platform {
  return {
    name: 'node',
    sqliteDriver: 'better-sqlite3',
    loadSqlite: async () => (await import('./sqlite-node.ts')).openNodeSqlite,
    createHttpClient: async () => (await import('./http-undici.ts')).createUndiciClient(),
    listen: (fetch, hostname, port) =>
      new Promise<Listener>((resolve, reject) => {
        const server = serve({ fetch, hostname, port }, () => {
          server.off('error', reject);
          resolve({
            port: (server.address() as AddressInfo).port,
            close: () => new Promise<void>((r) => server.close(() => r())),
            closeAllConnections: () => (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.(),
          });
        });
        server.once('error', reject);
      }),
    onShutdownSignal(handler) {
      process.on('SIGTERM', () => handler('SIGTERM'));
      process.on('SIGINT', () => handler('SIGINT'));
    },
    onReloadSignal(handler) {
      process.on('SIGHUP', handler);
    },
  };
}
