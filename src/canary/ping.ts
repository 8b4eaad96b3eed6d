/**
 * @module canary/ping
 * Pings of the heartbeat canary (issue #10) to a healthchecks.io check (hosted or self-hosted):
 * `start` when a canary cycle begins, `success` or `fail` when it ends, all three carrying the cycle's
 * run id (`rid`), so healthchecks pairs them and measures the run.
 *
 * The ping URL is a secret (whoever holds it can ping the check): it is never written into an error
 * text, and the error texts of the peer and of the HTTP client are redacted of it and of its parts.
 *
 * A ping never throws and never blocks: `ping()` returns a promise of a `PingResult` (the caller may
 * ignore it, or count failures in a metric). Each attempt has a deadline (10 s); a failed attempt is
 * retried a few times after short waits (1 s, then 3 s), as the shared HTTP classifier says
 * (channels/http: network errors, 408, 425, 429 and 5xx are retried; other 4xx are not).
 */
import { attemptHttp, basicAuthorization, splitUserinfo } from '../channels/http.ts';
import type { HttpClient, HttpRequest } from '../channels/types.ts';
import type { SendResult } from '../domain/notification.ts';
import type { Scheduler, Timer } from '../lib/clock.ts';
import { Secret } from '../lib/secret.ts';

export type PingKind = 'start' | 'success' | 'fail';

export interface PingResult {
  /** The check got the ping (a 2xx answer). */
  readonly ok: boolean;
  /** HTTP requests made (0 when the ping was not sent at all). */
  readonly attempts: number;
  /** Why the ping failed, redacted: never the URL or any part of it. */
  readonly error?: string;
  /** The HTTP status of the last attempt, if it was answered. */
  readonly status?: number;
}

export interface PingerOptions {
  /** The runtime's outbound HTTP client. */
  readonly http: HttpClient;
  /** tocsin's version, for `User-Agent: tocsin/<version>`. */
  readonly version: string;
  /** Deadlines and backoff waits (a fake clock in tests). */
  readonly scheduler: Scheduler;
  /** Deadline of one attempt (default 10 s). */
  readonly timeoutMs?: number;
  /** Attempts in all, the first included (default 3). */
  readonly attempts?: number;
  /** Wait before attempt n+2 is backoffMs[n] (the last one repeats): default 1 s, 3 s. */
  readonly backoffMs?: readonly number[];
  /**
   * The longest Retry-After the pinger waits for (default 10 s): a longer one ends the ping at once (a
   * canary ping that late is stale; the next cycle pings again).
   */
  readonly maxRetryAfterMs?: number;
  /** Epoch ms, for Retry-After dates (default Date.now). */
  readonly now?: () => number;
}

export interface Pinger {
  /**
   * Sends one ping to the check at `url` (the configured ping URL), with `rid` (a UUID) and `body` (text,
   * cut to 10 kB; secrets must already be redacted by the caller). Never rejects.
   */
  ping(url: Secret, kind: PingKind, rid: string, body?: string): Promise<PingResult>;
  /** Aborts pings under way and cancels their retries (they resolve as failed); later pings are not sent. */
  stop(): void;
}

/** The most a ping body holds, in UTF-8 bytes (healthchecks.io keeps 100 kB; self-hosted default 10 kB). */
export const MAX_PING_BODY_BYTES = 10_000;

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_ATTEMPTS = 3;
const DEFAULT_BACKOFF_MS: readonly number[] = [1_000, 3_000];
const DEFAULT_MAX_RETRY_AFTER_MS = 10_000;

const SUFFIX: Readonly<Record<PingKind, string>> = { start: '/start', success: '', fail: '/fail' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TRUNCATED = '\n…[truncated]';

/** The name of one `name=value` query parameter, decoded (`+` is a space), or the raw text if malformed. */
function paramName(param: string): string {
  const eq = param.indexOf('=');
  const raw = (eq === -1 ? param : param.slice(0, eq)).replace(/\+/g, ' ');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The URL of one ping: `<check URL>[/start|/fail]?<its query>&rid=<rid>`. Works with both forms of a
 * check's ping URL (`<base>/<uuid>` and `<base>/<ping-key>/<slug>`). The configured text is kept as
 * written (nothing re-encoded), except: trailing slashes of the path are dropped, a fragment is dropped,
 * and a `rid` parameter already in the query is replaced (every other parameter is kept, in order).
 */
export function pingUrl(base: string, kind: PingKind, rid: string): string {
  const hash = base.indexOf('#');
  const noFragment = hash === -1 ? base : base.slice(0, hash);
  const q = noFragment.indexOf('?');
  const path = (q === -1 ? noFragment : noFragment.slice(0, q)).replace(/\/+$/, '');
  const params = q === -1 ? [] : noFragment.slice(q + 1).split('&').filter((p) => p !== '' && paramName(p) !== 'rid');
  params.push(`rid=${encodeURIComponent(rid)}`);
  return `${path}${SUFFIX[kind]}?${params.join('&')}`;
}

/**
 * Checks a configured ping URL (for the config parser). Returns the problem, never quoting the value, or
 * undefined when it is usable.
 */
export function checkPingUrl(value: string): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'is not a valid URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be an http:// or https:// URL';
  if (!u.hostname) return 'has no host';
  try {
    splitUserinfo(value);
  } catch (e) {
    return (e as Error).message;
  }
  const segments = u.pathname.split('/').filter((s) => s !== '');
  if (segments.length === 0) {
    return "has no check in its path: give the check's ping URL, <base>/<uuid> or <base>/<ping-key>/<slug>";
  }
  const last = segments[segments.length - 1]!;
  const before = segments[segments.length - 2];
  // `<uuid>/start` and the like: an endpoint of the check, not the check itself.
  if (before !== undefined && UUID.test(before) && (/^(start|fail|log)$/.test(last) || /^\d{1,3}$/.test(last))) {
    return "ends in a ping endpoint (/start, /fail, /log or an exit status): give the check's ping URL without it (tocsin adds /start and /fail)";
  }
  let decoded = last;
  try {
    decoded = decodeURIComponent(last);
  } catch {
    return 'has a path that is not valid percent-encoding';
  }
  if (decoded !== decoded.toLowerCase()) {
    return 'has upper-case letters in its UUID or slug (healthchecks does not find a check by them: use lower case)';
  }
  return undefined;
}

/** `text` cut to at most MAX_PING_BODY_BYTES bytes of UTF-8 (never inside a character), marked when cut. */
export function capPingBody(text: string, maxBytes = MAX_PING_BODY_BYTES): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= maxBytes) return text;
  let end = Math.max(0, maxBytes - new TextEncoder().encode(TRUNCATED).length);
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // back to the start of a character
  return new TextDecoder().decode(bytes.subarray(0, end)) + TRUNCATED;
}

/** What must not appear in an error text besides the URL: its path segments (the UUID, ping key, slug) and query values. */
function urlParts(url: string): Secret[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [];
  }
  const parts = new Set<string>();
  for (const seg of u.pathname.split('/')) if (seg && !/^(ping|start|fail)$/.test(seg)) parts.add(seg);
  for (const v of u.searchParams.values()) parts.add(v);
  for (const p of [...parts]) {
    try {
      parts.add(decodeURIComponent(p));
    } catch {
      /* the raw form only */
    }
  }
  return [...parts].map((p) => new Secret(p));
}

const plural = (n: number) => `${n} attempt${n === 1 ? '' : 's'}`;

export function createPinger(opts: PingerOptions): Pinger {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const attempts = Math.max(1, Math.floor(opts.attempts ?? DEFAULT_ATTEMPTS));
  const backoff = opts.backoffMs && opts.backoffMs.length > 0 ? opts.backoffMs : DEFAULT_BACKOFF_MS;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const now = opts.now ?? (() => Date.now());
  const userAgent = `tocsin/${opts.version}`;
  /** Pings under way: each one's current request or wait, cancelled by stop(). */
  const cancels = new Set<() => void>();
  let stopped = false;

  /** Resolves true after ms, or false when stop() comes first. */
  const sleep = (ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      let timer: Timer | undefined;
      const cancel = () => {
        cancels.delete(cancel);
        timer?.cancel();
        resolve(false);
      };
      cancels.add(cancel);
      timer = opts.scheduler.after(ms, () => {
        cancels.delete(cancel);
        resolve(true);
      }, { background: true });
    });

  /** One attempt with its deadline; aborted by stop(). */
  const attempt = async (req: HttpRequest, secrets: readonly Secret[]): Promise<SendResult> => {
    const ac = new AbortController();
    const timer = opts.scheduler.after(timeoutMs, () => ac.abort(new DOMException('the ping took too long', 'TimeoutError')), { background: true });
    const cancel = () => ac.abort(new Error('the pinger was stopped'));
    cancels.add(cancel);
    try {
      return await attemptHttp(opts.http, req, ac.signal, { now, secrets });
    } finally {
      timer.cancel();
      cancels.delete(cancel);
    }
  };

  const ping = async (url: Secret, kind: PingKind, rid: string, body = ''): Promise<PingResult> => {
    const what = `${kind} ping`;
    let n = 0;
    let status: number | undefined;
    try {
      if (stopped) return { ok: false, attempts: 0, error: `${what} not sent: the pinger is stopped` };
      if (!Object.hasOwn(SUFFIX, kind)) return { ok: false, attempts: 0, error: 'ping not sent: unknown kind' };
      if (typeof rid !== 'string' || !UUID.test(rid)) return { ok: false, attempts: 0, error: `${what} not sent: the run id is not a UUID` };
      const target = pingUrl(url.reveal(), kind, rid);
      // Userinfo becomes Basic auth (a reverse proxy in front of a self-hosted healthchecks), the same on every runtime.
      let split: ReturnType<typeof splitUserinfo>;
      try {
        split = splitUserinfo(target);
      } catch (e) {
        return { ok: false, attempts: 0, error: `${what} not sent: ${(e as Error).message}` }; // never quotes the URL
      }
      const { url: sendTo, auth } = split;
      const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', 'user-agent': userAgent };
      if (auth) headers.authorization = basicAuthorization(auth);
      const req: HttpRequest = { url: sendTo, method: 'POST', headers, body: capPingBody(String(body)) };
      const secrets = [url, new Secret(target), new Secret(sendTo), ...(auth ? [auth.password] : []), ...urlParts(target)];
      for (;;) {
        n++;
        const r = await attempt(req, secrets);
        status = r.status;
        if (r.outcome === 'sent') return { ok: true, attempts: n, ...(r.status !== undefined ? { status: r.status } : {}) };
        let why = r.error;
        if (r.outcome === 'retry' && n < attempts && !stopped) {
          const wait = backoff[Math.min(n - 1, backoff.length - 1)]!;
          if (r.retryAfterMs === undefined || r.retryAfterMs <= maxRetryAfterMs) {
            if (await sleep(Math.max(wait, r.retryAfterMs ?? 0))) continue;
            why += '; the pinger was stopped';
          } else {
            why += `; Retry-After ${Math.ceil(r.retryAfterMs / 1000)} s is longer than a ping waits`;
          }
        }
        return { ok: false, attempts: n, error: `${what} failed after ${plural(n)}: ${why}`, ...(status !== undefined ? { status } : {}) };
      }
    } catch {
      // Nothing above should throw; if it does, say nothing that could hold the URL.
      return { ok: false, attempts: n, error: `${what} failed after ${plural(n)}: internal error`, ...(status !== undefined ? { status } : {}) };
    }
  };

  return {
    ping,
    stop() {
      stopped = true;
      for (const cancel of [...cancels]) cancel();
    },
  };
}
