/**
 * A strict fake of healthchecks.io's Pinging API (https://healthchecks.io/docs/http_api/) for the
 * canary's end-to-end tests: node:http on 127.0.0.1, port 0, ping URLs at the root like hc-ping.com's
 * (or under `prefix`, like a self-hosted `<site>/ping/`).
 *
 * It knows only the checks it was started with, and answers like healthchecks: 200 "OK" (201 "Created"
 * for the first ping of a slug check registered with `create=1`), 404 "not found" for any other path,
 * 400 "invalid uuid format" for a `rid` that is not a UUID. On top of that it checks every request against
 * what tocsin must send and records each problem in `violations`:
 *
 * - the method is GET, HEAD or POST;
 * - the path is `/<uuid>[/start|/fail]` or `/<ping-key>/<slug>[/start|/fail]` of a known check (no
 *   trailing slash, no `/log` or exit status: tocsin sends neither);
 * - `rid` is present, once, and a UUID;
 * - a success or fail carries the rid of an earlier `/start` to the same check (one that reached the
 *   server, even if answered while down);
 * - the query parameters the check was registered with (e.g. create=1) are all there: the configured
 *   URL's query was kept (without `create=1`, a check not yet created is "not found");
 * - the body is at most 100 kB (healthchecks.io's ping body limit; it would keep only that much).
 *
 * Every request to a known check is recorded in `pings`, with its body (the first MiB).
 * `setDown(true)` makes it answer 503 (or, with 'close', drop the connection after reading the request).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { closePeer, listenOnLoopback, waitUntil } from './peer-server.ts';

/** A check, by UUID or by ping key and slug; `query`: parameters its ping URL carries and every ping must keep. */
export type FakeCheck =
  | { readonly uuid: string; readonly query?: Readonly<Record<string, string>> }
  | { readonly pingKey: string; readonly slug: string; readonly query?: Readonly<Record<string, string>> };

export type FakePingKind = 'start' | 'success' | 'fail';

/** One request to a known check. */
export interface Ping {
  /** Index of the check in `checks`. */
  readonly check: number;
  readonly kind: FakePingKind;
  /** The rid parameter as sent (undefined when absent). */
  readonly rid: string | undefined;
  readonly method: string;
  /** The request target as sent (path and query). */
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  /** The body as UTF-8 text (at most the first MiB). */
  readonly body: string;
  /** The body's size in bytes. */
  readonly bodyBytes: number;
  /** Epoch ms when the request was complete. */
  readonly at: number;
  /** The status answered; 0 when the connection was dropped (down with 'close'). */
  readonly status: number;
  /** Answered 2xx: healthchecks recorded it. */
  readonly accepted: boolean;
}

export interface FakeHealthchecksOptions {
  readonly checks: readonly FakeCheck[];
  /** Path prefix of the ping URLs, e.g. "/ping" (default none, like hc-ping.com). */
  readonly prefix?: string;
  /** Largest allowed body in bytes (default 100 000, healthchecks.io's). */
  readonly bodyLimit?: number;
}

export interface FakeHealthchecks {
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  /** The ping URL of check `index`, to configure (with its registered query, if any). */
  url(index: number): string;
  /** Every request to a known check, in arrival order. */
  readonly pings: readonly Ping[];
  /** Every problem found, in arrival order ("<METHOD> <target>: <problem>"). */
  readonly violations: readonly string[];
  /** Answer every request with 503 (`how` '503', the default) or drop its connection ('close'); false: answer again. */
  setDown(down: boolean, how?: '503' | 'close'): void;
  /** Resolves true when pred() holds (checked on every request and every 50 ms), false on timeout. */
  waitUntil(pred: () => boolean, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** healthchecks.io's ping body limit (PING_BODY_LIMIT), in bytes. */
export const HEALTHCHECKS_BODY_LIMIT = 100_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KEEP_BYTES = 1024 * 1024;

interface Resolved {
  readonly check: number;
  readonly kind: FakePingKind;
}

export async function startFakeHealthchecks(opts: FakeHealthchecksOptions): Promise<FakeHealthchecks> {
  const checks = opts.checks;
  const prefix = (opts.prefix ?? '').replace(/\/+$/, '');
  const bodyLimit = opts.bodyLimit ?? HEALTHCHECKS_BODY_LIMIT;
  for (const [i, c] of checks.entries()) {
    if ('uuid' in c && !UUID.test(c.uuid)) throw new Error(`fake healthchecks: check #${i}: uuid is not a UUID`);
    if ('slug' in c && (!c.pingKey || !c.slug)) throw new Error(`fake healthchecks: check #${i}: empty ping key or slug`);
  }
  const pings: Ping[] = [];
  const violations: string[] = [];
  /** Per check: the rids of every /start that reached the server. */
  const started = checks.map(() => new Set<string>());
  /** Per check: created (checks registered with create=1 exist only once a ping with it came). */
  const exists = checks.map((c) => c.query?.create !== '1');
  let down: false | '503' | 'close' = false;
  const sockets = new Set<Socket>();
  const waiters = new Set<() => void>();
  let closed = false;

  const notify = () => {
    for (const w of [...waiters]) w();
  };

  /** The check and kind a path names, or undefined (healthchecks: 404). */
  const resolve = (path: string): Resolved | undefined => {
    if (prefix && !path.startsWith(`${prefix}/`)) return undefined;
    const raw = path.slice(prefix.length + 1).split('/');
    let segs: string[];
    try {
      segs = raw.map((s) => decodeURIComponent(s));
    } catch {
      return undefined;
    }
    const last = segs[segs.length - 1];
    const kind: FakePingKind = last === 'start' ? 'start' : last === 'fail' ? 'fail' : 'success';
    const id = kind === 'success' ? segs : segs.slice(0, -1);
    const check = checks.findIndex((c) =>
      'uuid' in c ? id.length === 1 && id[0] === c.uuid : id.length === 2 && id[0] === c.pingKey && id[1] === c.slug,
    );
    return check === -1 ? undefined : { check, kind };
  };

  /** Validates and records one request; returns the answer [status, body], or undefined to drop the connection. */
  const handle = (req: IncomingMessage, target: string, body: string, bodyBytes: number): [number, string] | undefined => {
    const method = req.method ?? '';
    const violation = (problem: string) => violations.push(`${method} ${target}: ${problem}`);
    if (!['GET', 'HEAD', 'POST'].includes(method)) violation('method is not GET, HEAD or POST');
    const q = target.indexOf('?');
    const path = q === -1 ? target : target.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : target.slice(q + 1));
    const at = resolve(path);
    if (!at) {
      violation('no such check or endpoint (healthchecks: 404 not found)');
      return down === 'close' ? undefined : [down ? 503 : 404, down ? 'down' : 'not found'];
    }
    const check = checks[at.check]!;
    if (bodyBytes > bodyLimit) violation(`body of ${bodyBytes} bytes is over the ${bodyLimit}-byte ping body limit`);
    let answer: [number, string] = [200, 'OK'];
    const missing = Object.entries(check.query ?? {}).filter(([k, v]) => query.get(k) !== v);
    if (missing.length > 0) {
      violation(`the ping URL's query was not kept: ${missing.map(([k, v]) => `${k}=${v}`).join('&')} missing`);
    }
    const rids = query.getAll('rid');
    const rid = rids[rids.length - 1]; // healthchecks (Django) reads the last one
    if (rids.length > 1) violation(`rid given ${rids.length} times`);
    if (rid === undefined) violation('no rid');
    else if (!UUID.test(rid)) {
      violation('rid is not a UUID');
      answer = [400, 'invalid uuid format'];
    } else if (at.kind === 'start') started[at.check]!.add(rid.toLowerCase());
    else if (!started[at.check]!.has(rid.toLowerCase())) violation(`${at.kind} with rid ${rid} has no earlier /start`);
    if (!down && answer[0] === 200 && !exists[at.check]) {
      if (query.get('create') === '1') {
        exists[at.check] = true;
        answer = [201, 'Created'];
      } else answer = [404, 'not found'];
    }
    if (down === '503') answer = [503, 'down'];
    const status = down === 'close' ? 0 : answer[0];
    pings.push({
      check: at.check,
      kind: at.kind,
      rid,
      method,
      target,
      headers: req.headers,
      body,
      bodyBytes,
      at: Date.now(),
      status,
      accepted: status >= 200 && status <= 299,
    });
    return down === 'close' ? undefined : answer;
  };

  const server: Server = createServer((req, res: ServerResponse) => {
    res.on('error', () => {});
    req.on('error', () => {});
    const chunks: Buffer[] = [];
    let kept = 0;
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (kept < KEEP_BYTES) {
        const part = c.subarray(0, KEEP_BYTES - kept);
        chunks.push(part);
        kept += part.length;
      }
    });
    req.on('end', () => {
      let answer: [number, string] | undefined;
      try {
        answer = handle(req, req.url ?? '', Buffer.concat(chunks).toString('utf8'), bytes);
      } catch (e) {
        violations.push(`fake healthchecks failed: ${String(e)}`);
        answer = [500, 'fake healthchecks failed'];
      }
      notify();
      if (answer === undefined) {
        req.socket.destroy();
        return;
      }
      res.writeHead(answer[0], {
        'content-type': 'text/plain; charset=utf-8',
        'ping-body-limit': String(bodyLimit),
        'access-control-allow-origin': '*',
      });
      res.end(answer[1]);
    });
  });
  const port = await listenOnLoopback(server, sockets);
  const origin = `http://127.0.0.1:${port}`;

  return {
    port,
    origin,
    url(index) {
      const c = checks[index];
      if (!c) throw new Error(`fake healthchecks: no check #${index}`);
      const path = 'uuid' in c ? `/${c.uuid}` : `/${encodeURIComponent(c.pingKey)}/${encodeURIComponent(c.slug)}`;
      const query = c.query && Object.keys(c.query).length > 0 ? `?${new URLSearchParams(c.query as Record<string, string>)}` : '';
      return `${origin}${prefix}${path}${query}`;
    },
    pings,
    violations,
    setDown(d, how = '503') {
      down = d ? how : false;
    },
    waitUntil(pred, timeoutMs) {
      return waitUntil(pred, timeoutMs, waiters, 50);
    },
    async close() {
      if (closed) return;
      closed = true;
      await closePeer(server, sockets);
    },
  };
}
