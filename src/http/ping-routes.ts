/**
 * @module http/ping-routes
 * The heartbeat checks' ping API (issue #15), as healthchecks.io's Pinging API: `/ping/<uuid>` and
 * `/ping/<ping-key>/<slug>`, each also with `/start`, `/fail`, `/log` or `/<exit status 0–255>`; HEAD, GET
 * and POST; `?rid=<uuid>` pairs a start with its end. No bearer token: the UUID or the ping key is the secret.
 *
 * Answers (text, as healthchecks.io's): `200 OK`; `404 not found` for an unknown check or a wrong ping key;
 * `400 invalid url format` for an exit status over 255, `400 invalid uuid format` for a bad rid; `429 rate
 * limited` (with Retry-After) when a check is pinged faster than pings.rate_limit; `503` while the ping
 * cannot be stored. Every answer carries `Ping-Body-Limit`: a POST body is kept up to that many bytes and
 * cut there (the rest is read up to a bound, then the request is left unread).
 */
import { Hono, type Context } from 'hono';
import { kindOfExitStatus } from '../checks/transitions.ts';
import { MAX_EXIT_STATUS, type Ping } from '../checks/types.ts';
import { UUID_RE } from '../config/names.ts';
import { BackpressureError } from '../ingest/accept.ts';
import { StorageUnavailableError } from '../outbox/storage-fault.ts';
import type { PingResult, PingTarget } from '../app/checks.ts';
import type { Logger } from '../lib/logger.ts';

/** What the routes need of the checks service. */
export interface PingHandler {
  ping(target: PingTarget, ping: Omit<Ping, 'at'>): Promise<PingResult>;
  /** Is there such a check (the body of a ping is read only then)? */
  exists(target: PingTarget): boolean;
  readonly bodyLimitBytes: number;
}

export interface PingRouteDeps {
  readonly pings?: PingHandler;
  readonly logger: Logger;
}

/** A body is read (and all but its first body_limit bytes dropped) up to this many bytes, at least. */
const DISCARD_MIN_BYTES = 1024 * 1024;
const METHODS = ['GET', 'HEAD', 'POST'];
const decoder = new TextDecoder();

export function pingRoutes(deps: PingRouteDeps): Hono {
  const app = new Hono();
  const handler = deps.pings;
  if (handler === undefined) return app;
  const limit = handler.bodyLimitBytes;

  const answer = (c: Context, status: 200 | 400 | 404 | 405 | 429 | 503, text: string, headers: Record<string, string> = {}) => {
    const h = new Headers({ 'Content-Type': 'text/plain; charset=utf-8', 'Ping-Body-Limit': String(limit), 'Access-Control-Allow-Origin': '*', ...headers });
    return new Response(c.req.method === 'HEAD' ? null : text, { status, headers: h });
  };

  app.all('/ping/*', async (c) => {
    if (!METHODS.includes(c.req.method)) return answer(c, 405, 'method not allowed', { Allow: METHODS.join(', ') });
    const parsed = parsePath(c.req.path);
    if (parsed === 'not_found') return answer(c, 404, 'not found');
    if (parsed === 'bad_status') return answer(c, 400, 'invalid url format');
    const rid = new URL(c.req.url).searchParams.get('rid');
    if (rid !== null && !UUID_RE.test(rid)) return answer(c, 400, 'invalid uuid format');
    // Nothing is read for a URL that names no check (a ping needs no token: no work for strangers).
    if (!handler.exists(parsed.target)) return answer(c, 404, 'not found');
    try {
      const body = c.req.method === 'POST' ? await readKept(c.req.raw, limit) : undefined;
      const r = await handler.ping(parsed.target, { ...parsed.kind, ...(rid !== null && { rid }), ...(body !== undefined && body !== '' && { body }) });
      if (r.outcome === 'not_found') return answer(c, 404, 'not found');
      if (r.outcome === 'rate_limited') return answer(c, 429, 'rate limited', { 'Retry-After': String(r.retryAfterSec) });
      return answer(c, 200, 'OK');
    } catch (e) {
      if (e instanceof BackpressureError || e instanceof StorageUnavailableError) {
        return answer(c, 503, 'service unavailable', { 'Retry-After': String(e.retryAfterSec) });
      }
      // Logged here, by the check (the path may hold the ping key, which is a secret): never re-thrown.
      deps.logger.error({ check: 'uuid' in parsed.target ? parsed.target.uuid : parsed.target.slug, err: e instanceof Error ? e.message : String(e) }, 'ping failed');
      return answer(c, 503, 'service unavailable', { 'Retry-After': '5' });
    }
  });
  return app;
}

type Parsed = { target: PingTarget; kind: Pick<Ping, 'kind' | 'exitStatus'> } | 'not_found' | 'bad_status';

/** `/ping/<uuid>[/<what>]` or `/ping/<key>/<slug>[/<what>]`. */
function parsePath(path: string): Parsed {
  const parts = path.split('/').slice(2);
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop(); // a trailing slash
  let segs: string[];
  try {
    segs = parts.map((p) => decodeURIComponent(p));
  } catch {
    return 'not_found';
  }
  const [first, ...rest] = segs;
  if (first === undefined || first === '') return 'not_found';
  let target: PingTarget;
  if (UUID_RE.test(first)) target = { uuid: first.toLowerCase() };
  else {
    const slug = rest.shift();
    if (slug === undefined || slug === '') return 'not_found';
    target = { pingKey: first, slug };
  }
  if (rest.length > 1) return 'not_found';
  const what = rest[0];
  if (what === undefined) return { target, kind: { kind: 'success' } };
  if (what === 'start' || what === 'fail' || what === 'log') return { target, kind: { kind: what } };
  if (/^\d{1,9}$/.test(what)) {
    const n = Number(what);
    if (n > MAX_EXIT_STATUS) return 'bad_status';
    return { target, kind: { kind: kindOfExitStatus(n), exitStatus: n } };
  }
  return /^\d+$/.test(what) ? 'bad_status' : 'not_found';
}

/** The body's first `limit` bytes as text; the rest is read and dropped up to a bound (then left unread). */
async function readKept(req: Request, limit: number): Promise<string | undefined> {
  const stream = req.body;
  if (!stream) return undefined;
  const reader = stream.getReader();
  const kept = new Uint8Array(limit);
  let size = 0;
  let seen = 0;
  const bound = Math.max(DISCARD_MIN_BYTES, limit * 4);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += value.byteLength;
      if (size < limit) {
        const take = value.subarray(0, limit - size);
        kept.set(take, size);
        size += take.byteLength;
      }
      if (seen > bound) {
        await reader.cancel().catch(() => {});
        break;
      }
    }
  } catch {
    // The client went away mid-body: what came is kept (its ping still counts, as healthchecks' would).
  }
  return decoder.decode(kept.subarray(0, size));
}
