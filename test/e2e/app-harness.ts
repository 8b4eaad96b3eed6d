/**
 * Builds an in-process tocsin app for end-to-end tests: parseConfig(yaml) + createApp with the real Node
 * runtime pieces (better-sqlite3, undici) on a fresh temp data_dir, a capturing logger and captured `log`
 * method lines. Requests go straight to `app.fetch` (no sockets); outbound webhooks are real HTTP.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import Database from 'better-sqlite3';
import { createApp, databaseFile, type App, type AppDeps } from '../../src/app.ts';
import { parseConfig } from '../../src/config/parse.ts';
import type { Config } from '../../src/config/types.ts';
import type { Clock, Random } from '../../src/lib/clock.ts';
import type { RandomBytes } from '../../src/lib/ids.ts';
import type { Logger } from '../../src/lib/logger.ts';
import { createUndiciClient } from '../../src/runtime/http-undici.ts';
import { openNodeSqlite } from '../../src/runtime/sqlite-node.ts';
import { readAnswer, type HttpAnswer } from '../support/http-answer.ts';
export { prng } from './prng.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogRecord {
  readonly level: LogLevel;
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

export interface CapturingLogger extends Logger {
  readonly records: LogRecord[];
  /** Every record rendered as text (JSON of the fields and util.inspect of them, plus the message). */
  text(): string;
}

export function capturingLogger(): CapturingLogger {
  const records: LogRecord[] = [];
  const at = (level: LogLevel) => (fields: Record<string, unknown>, msg: string) => {
    records.push({ level, fields, msg });
  };
  return {
    records,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text() {
      return records
        .map((r) => {
          let json: string;
          try {
            json = JSON.stringify(r.fields);
          } catch {
            json = '';
          }
          return `${r.level} ${r.msg} ${json} ${inspect(r.fields, { depth: 8 })}`;
        })
        .join('\n');
    },
  };
}

export interface HarnessOptions {
  /** Config YAML; `data_dir` is appended (a fresh temp directory) unless the text sets it. */
  readonly yaml?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly randomBytes?: RandomBytes;
  /** Start the dispatcher and housekeeping (app.start()) right away. Default false. */
  readonly start?: boolean;
  /** Deliver on a thread of its own (as the relay does), started by this; default: on the app's thread. */
  readonly deliveryThread?: AppDeps['deliveryThread'];
  /** Mail transports for email methods (none by default). */
  readonly mail?: AppDeps['mail'];
}

/** An answer of the app: status, headers, text and the text parsed as JSON (undefined if it is not JSON). */
export type PostResult = HttpAnswer;

export interface Harness {
  readonly app: App;
  readonly config: Config;
  readonly dataDir: string;
  readonly dbFile: string;
  readonly logger: CapturingLogger;
  /** Lines the `log` method printed. */
  readonly lines: string[];
  /** POST a body (a string is sent as is; anything else as JSON text) with Content-Type application/json unless headers say otherwise. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<PostResult>;
  /** Any request to app.fetch. */
  request(path: string, init?: RequestInit): Promise<PostResult>;
  get(path: string, headers?: Record<string, string>): Promise<PostResult>;
  /** Rows in a table of the app's database, read through a separate read-only connection. */
  count(table: 'alarms' | 'notifications' | 'deliveries' | 'idempotency_keys'): number;
  /** app.stop() (idempotent), close the HTTP client, remove the data dir. */
  cleanup(): Promise<void>;
}

export async function createHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tocsin-app-'));
  let yaml = opts.yaml ?? '';
  if (!/^data_dir:/m.test(yaml)) yaml = `${yaml}\ndata_dir: ${JSON.stringify(dataDir)}\n`;
  const config = parseConfig(yaml, opts.env ?? {}, (path) => {
    throw new Error(`unexpected read of ${path}`);
  });
  const logger = capturingLogger();
  const lines: string[] = [];
  const http = createUndiciClient();
  let app: App;
  try {
    app = createApp(config, {
      openDatabase: openNodeSqlite,
      http: http.client,
      clock: opts.clock ?? { now: () => Date.now() },
      random: opts.random ?? Math.random,
      randomBytes: opts.randomBytes ?? ((n) => nodeRandomBytes(n)),
      logger,
      writeLine: (line) => void lines.push(line),
      ...(opts.deliveryThread && { deliveryThread: opts.deliveryThread }),
      ...(opts.mail && { mail: opts.mail }),
    });
  } catch (e) {
    await http.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  if (opts.start) app.start();

  const request = async (path: string, init: RequestInit = {}) => readAnswer(await app.fetch(new Request(`http://tocsin${path}`, init)));
  let cleaned = false;
  return {
    app,
    config,
    dataDir,
    dbFile: databaseFile(config),
    logger,
    lines,
    request,
    post(path, body, headers = {}) {
      const h: Record<string, string> = { ...headers };
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
      return request(path, { method: 'POST', headers: h, body: typeof body === 'string' ? body : JSON.stringify(body) });
    },
    get(path, headers = {}) {
      return request(path, { method: 'GET', headers });
    },
    count(table) {
      const db = new Database(databaseFile(config), { readonly: true, fileMustExist: true });
      try {
        return (db.prepare(`SELECT count(*) AS c FROM ${table}`).get() as { c: number }).c;
      } finally {
        db.close();
      }
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      try {
        await app.stop();
      } finally {
        await http.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

