/**
 * @module channels/http
 * The one shared HTTP outcome classifier (status, Retry-After, network errors) and the attempt helper
 * every HTTP channel sends through. Retry-After is reported as the server asked; capping it is the
 * retry policy's job (dispatch/decide).
 */
import type { SendResult } from '../domain/notification.ts';
import { redact, Secret } from '../lib/secret.ts';
import type { HttpClient, HttpRequest, HttpResponse } from './types.ts';

const MAX_EXCERPT = 300;

// HTTP-date shapes (RFC 9110 §5.6.7). Only these go to Date.parse, which is far too lenient on its own ("-1", "5").
const IMF_FIXDATE = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/** Retry-After (delay-seconds or HTTP-date) → delay in ms (≥ 0); undefined when absent or malformed. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, Number.MAX_SAFE_INTEGER);
  let at: number;
  if (IMF_FIXDATE.test(v) || RFC850_DATE.test(v)) at = Date.parse(v);
  else if (ASCTIME_DATE.test(v)) at = Date.parse(`${v} GMT`); // asctime carries no zone but means GMT
  else return undefined;
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Whitespace collapsed, trimmed, at most 300 chars. */
export function excerpt(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > MAX_EXCERPT ? t.slice(0, MAX_EXCERPT - 1) + '…' : t;
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599);
}

export function classifyResponse(res: HttpResponse, nowMs: number): SendResult {
  const status = res.status;
  if (status >= 200 && status <= 299) return { outcome: 'sent', status };
  const body = excerpt(res.bodyExcerpt);
  const error = body ? `HTTP ${status}: ${body}` : `HTTP ${status}`;
  if (!isRetryableStatus(status)) return { outcome: 'permanent', status, error };
  const after = parseRetryAfter(res.header('retry-after'), nowMs);
  if (after === undefined) return { outcome: 'retry', status, error };
  return { outcome: 'retry', status, error, retryAfterMs: after };
}

const NETWORK_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection closed',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connect timeout',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout waiting for response headers',
  UND_ERR_BODY_TIMEOUT: 'timeout reading response body',
  UND_ERR_SOCKET: 'socket error',
  UND_ERR_CLOSED: 'connection closed',
  ECONNCLOSED: 'connection closed',
};
/** Errors that no retry can fix: the request itself is malformed. */
const PERMANENT_CODES: Readonly<Record<string, string>> = {
  ERR_INVALID_URL: 'invalid URL',
  ERR_INVALID_HTTP_TOKEN: 'invalid header name',
  ERR_INVALID_CHAR: 'invalid header value',
  UND_ERR_INVALID_ARG: 'invalid request',
};

interface ErrInfo {
  readonly code?: string;
  readonly names: readonly string[];
  readonly message: string;
}

/** Walks `cause` chains (bounded, cycle-safe) for the first `code`, every `name`, and the innermost message. */
function inspect(err: unknown): ErrInfo {
  let code: string | undefined;
  const names: string[] = [];
  let message = '';
  const seen = new Set<unknown>();
  for (let e = err, depth = 0; e != null && depth < 8 && !seen.has(e); depth++) {
    seen.add(e);
    if (typeof e !== 'object' && typeof e !== 'function') {
      message = String(e);
      break;
    }
    const o = e as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    if (code === undefined && typeof o.code === 'string' && o.code) code = o.code;
    if (typeof o.name === 'string') names.push(o.name);
    if (typeof o.message === 'string' && o.message) message = o.message;
    e = o.cause;
  }
  return { ...(code !== undefined ? { code } : {}), names, message };
}

function short(text: string): string {
  return excerpt(text) || 'unknown error';
}

/** An abort (deadline or shutdown) as a retryable result; `reason` is `signal.reason` or the thrown error. */
export function classifyAbort(reason: unknown): SendResult {
  const { names, message } = inspect(reason);
  if (names.includes('TimeoutError')) return { outcome: 'retry', error: 'timeout after request deadline' };
  const why = message && message !== 'This operation was aborted' ? `: ${short(message)}` : '';
  return { outcome: 'retry', error: `request aborted${why}` };
}

/** A rejected request (network failure, timeout, abort) → retry; a malformed request → permanent. */
export function classifyError(err: unknown): SendResult {
  const { code, names, message } = inspect(err);
  if (names.includes('TimeoutError')) return { outcome: 'retry', error: 'timeout after request deadline' };
  if (names.includes('AbortError') || code === 'ABORT_ERR' || code === 'UND_ERR_ABORTED') return classifyAbort(err);
  if (code !== undefined && PERMANENT_CODES[code]) {
    return { outcome: 'permanent', error: `${PERMANENT_CODES[code]} (${code})` };
  }
  if (code !== undefined && NETWORK_CODES[code]) return { outcome: 'retry', error: `${NETWORK_CODES[code]} (${code})` };
  if (/socket hang up/i.test(message)) return { outcome: 'retry', error: 'connection closed (socket hang up)' };
  if (code !== undefined) return { outcome: 'retry', error: `network error (${code}): ${short(message)}` };
  return { outcome: 'retry', error: `request failed: ${short(message)}` };
}

/**
 * Secret-looking parts of a URL that a peer might echo on their own: userinfo, query values,
 * and long (token-like) path segments — raw and percent-decoded.
 */
export function urlSecrets(url: string): Secret[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [];
  }
  const parts = [u.username, u.password, ...u.searchParams.values()];
  for (const seg of u.pathname.split('/')) if (seg.length >= 16) parts.push(seg);
  for (const [, raw] of u.search.slice(1).split('&').map((kv) => kv.split('='))) if (raw) parts.push(raw);
  const out = new Set<string>();
  // Some clients (Deno's fetch) quote the URL in their error texts in its normalised form, which can
  // differ from the configured text (host case, default port, dot segments): redact that form whole.
  if (u.href !== url) out.add(u.href);
  for (const p of parts) {
    if (!p) continue;
    out.add(p);
    try {
      out.add(decodeURIComponent(p));
    } catch {
      /* keep the raw form only */
    }
  }
  return [...out].sort((a, b) => b.length - a.length).map((p) => new Secret(p));
}

/** HTTP Basic credentials (RFC 7617). */
export interface BasicAuth {
  readonly username: string;
  /** Its related value "username:password" is redacted too, and so the base64 the header carries. */
  readonly password: Secret;
}

export function basicAuth(username: string, password: string): BasicAuth {
  return { username, password: new Secret(password, [`${username}:${password}`]) };
}

/** The `Authorization` value: `Basic <base64 of "username:password" in UTF-8>`. */
export function basicAuthorization(auth: BasicAuth): string {
  return `Basic ${Buffer.from(`${auth.username}:${auth.password.reveal()}`, 'utf8').toString('base64')}`;
}

/**
 * A URL's userinfo (`https://user:pass@host/…`) as Basic credentials, each part percent-decoded (as Go
 * and Alertmanager do), and the URL without it: the one to send to, so that no runtime's HTTP client
 * ever sees userinfo (undici drops it silently, fetch refuses it or sends it its own way). A URL without
 * userinfo, or one that does not parse, comes back as given. Throws when the userinfo is not valid
 * percent-encoding; the message never quotes it.
 */
export function splitUserinfo(url: string): { readonly url: string; readonly auth?: BasicAuth } {
  if (!url.includes('@')) return { url };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url };
  }
  if (!u.username && !u.password) return { url };
  let username: string;
  let password: string;
  try {
    username = decodeURIComponent(u.username);
    password = decodeURIComponent(u.password);
  } catch {
    throw new Error('the user name or password in the URL is not valid percent-encoding');
  }
  u.username = '';
  u.password = '';
  return { url: u.href, auth: basicAuth(username, password) };
}

/** `truncated`: the error may end with a cut-off body excerpt (see redact). */
function redactResult(r: SendResult, secrets: readonly (Secret | undefined)[], truncated = false): SendResult {
  return r.outcome === 'sent' ? r : { ...r, error: redact(r.error, secrets, { truncated }) };
}

export interface HttpAttemptOptions {
  /** Epoch ms (for Retry-After dates). */
  readonly now: () => number;
  /** Values that must never appear in an error text (the URL's secret-looking parts are added). */
  readonly secrets: readonly (Secret | undefined)[];
  /**
   * Looks at a 2xx answer, for receivers that report failures in the body (Slack `ok:false`, Telegram
   * `ok:false`, Pushover `status:0`): return a failure to replace `sent`, or undefined to keep it. The
   * returned error text is redacted like any other.
   */
  readonly inspect?: (res: HttpResponse) => SendResult | undefined;
}

/**
 * One HTTP attempt, classified. Never throws. Every error text is redacted (the given secrets first,
 * then secret-looking parts of the request URL), and the body is redacted before it is excerpted.
 */
export async function attemptHttp(http: HttpClient, req: HttpRequest, signal: AbortSignal, opts: HttpAttemptOptions): Promise<SendResult> {
  // Redaction work is needed only for failures (a 2xx carries no error text).
  const all = () => [...opts.secrets, ...urlSecrets(req.url)];
  let onAbort: (() => void) | undefined;
  try {
    // Also honour the deadline if the client ignores the signal.
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => {});
    const res = await Promise.race([http(req, signal), aborted]);
    if (res.status >= 200 && res.status < 300) {
      const verdict = opts.inspect?.(res);
      return verdict === undefined ? { outcome: 'sent', status: res.status } : redactResult(verdict, all(), true);
    }
    const redactions = all();
    const clean: HttpResponse = {
      status: res.status,
      header: (name) => res.header(name),
      // Clients keep the first KiB of a body: a secret echoed across that cut would survive in part.
      bodyExcerpt: redact(String(res.bodyExcerpt ?? ''), redactions, { truncated: true }),
    };
    return redactResult(classifyResponse(clean, opts.now()), redactions);
  } catch (err) {
    try {
      return redactResult(signal.aborted ? classifyAbort(signal.reason) : classifyError(err), all());
    } catch {
      return { outcome: 'retry', error: 'request failed' };
    }
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
