/**
 * @module runtime/platform
 * What a JavaScript runtime (Node, Bun, Deno) provides to run the relay. Only src/runtime knows which
 * runtime it is on; everything else receives these pieces.
 */
import type { HttpClient } from '../channels/types.ts';
import type { OpenDatabase } from '../outbox/db.ts';

export type RuntimeName = 'node' | 'bun' | 'deno';

/** Opens (creating the directory and file if needed) a SQLite database as a synchronous drizzle db. */
export type SqliteOpener = (file: string) => OpenDatabase;

export interface OutboundHttp {
  readonly client: HttpClient;
  close(): Promise<void>;
}

export interface Listener {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting, lets requests in progress finish, then resolves. */
  close(): Promise<void>;
  /** Cuts the connections still open (keep-alive clients that keep sending). */
  closeAllConnections(): void;
}

export type FetchHandler = (req: Request) => Response | Promise<Response>;

export interface Platform {
  readonly name: RuntimeName;
  /** The SQLite driver in use, for the logs ("better-sqlite3", "bun:sqlite", "node:sqlite"). */
  readonly sqliteDriver: string;
  /** The SQLite opener (its modules load on first use: after the listener is up). */
  loadSqlite(): Promise<SqliteOpener>;
  /** Outbound HTTP (its modules load on first use: after the listener is up). */
  createHttpClient(): Promise<OutboundHttp>;
  /** Rejects if the address cannot be bound. */
  listen(fetch: FetchHandler, host: string, port: number): Promise<Listener>;
  /** Calls handler on SIGTERM and SIGINT. */
  onShutdownSignal(handler: (signal: 'SIGTERM' | 'SIGINT') => void): void;
  /** Calls handler on SIGHUP (and keeps the process alive: the default action would end it). */
  onReloadSignal(handler: () => void): void;
}
