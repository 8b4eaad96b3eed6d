/**
 * @module cli/admin-client
 * What the CLI commands that talk to a running relay share (`tocsin silence`, `tocsin check`, `tocsin
 * alarms`, `dead-letters`, `methods`, `reload`, ...): the relay's URL, an HTTP client of its admin API (the
 * token never printed, errors as one line), query strings, the default "who" of a change, and text helpers
 * for their tables.
 */
import { hostname } from 'node:os';
import { exitCodeOf } from './exit-codes.ts';

export const DEFAULT_URL = 'http://127.0.0.1:9095';
/** How long one request may take before the relay counts as unreachable. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** Whitespace and control characters (terminal escapes) become one space; cut to `width` characters. */
export function oneLine(text: unknown, width = Infinity): string {
  const chars = [...String(text ?? '').replace(/[\s\p{Cc}]+/gu, ' ').trim()];
  return chars.length <= width ? chars.join('') : `${chars.slice(0, width - 1).join('')}…`;
}

/** "2026-12-01T12:00:00Z" (seconds), or the text as the relay sent it. */
export function isoSeconds(text: string): string {
  const t = Date.parse(text);
  return Number.isFinite(t) ? new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z') : oneLine(text);
}


/** A relay's answer; a failure without a status is an unreachable relay. */
export type Answer = { ok: true; status: number; body: unknown } | { ok: false; status?: number; message: string; body?: unknown };

/** A query string ("?a=1&b=2", or "" for none) from the defined values; an array repeats its key. */
export function query(params: Readonly<Record<string, string | number | readonly string[] | undefined>>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  }
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}

/** Who makes a change (`by` of a replay, a method): "$USER@hostname", or "tocsin-cli@hostname". */
export function defaultBy(env: Readonly<Record<string, string | undefined>>, host: () => string = hostname): string {
  let h = 'localhost';
  try {
    h = host() || h;
  } catch {
    // A host without a name: the user alone is still worth recording.
  }
  return oneLine(`${env.USER?.trim() || env.USERNAME?.trim() || 'tocsin-cli'}@${h}`, 200);
}

export interface Client {
  request(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<Answer>;
}

/** The base URL (`--url`, else $TOCSIN_URL, else the default), or the usage problem with it. */
export function relayUrl(given: string): { ok: true; url: URL } | { ok: false; problem: string } {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    return { ok: false, problem: `--url must be an http:// or https:// URL like ${DEFAULT_URL}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, problem: `--url must be an http:// or https:// URL like ${DEFAULT_URL}` };
  if (url.username !== '' || url.password !== '') return { ok: false, problem: '--url must not hold credentials; give the admin token with --token or $TOCSIN_TOKEN' };
  url.search = '';
  url.hash = '';
  return { ok: true, url };
}

export function errorText(e: unknown): string {
  const err = e as { name?: unknown; message?: unknown; cause?: { message?: unknown; code?: unknown } } | undefined;
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = err?.cause?.message ?? err?.cause?.code;
  return oneLine(cause ?? err?.message ?? e);
}

export function client(base: URL, token: string | undefined, fetchFn: typeof fetch): Client {
  const root = base.href.replace(/\/+$/, '');
  return {
    async request(method, path, body) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      let text: string;
      try {
        res = await fetchFn(root + path, {
          method, headers, ...(body !== undefined && { body: JSON.stringify(body) }), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), redirect: 'error',
        });
        text = await res.text();
      } catch (e) {
        return { ok: false, message: `could not reach the relay at ${root}: ${errorText(e)}` };
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (res.ok && parsed !== undefined) return { ok: true, status: res.status, body: parsed };
      // 204 No Content (a removal) has no body to parse.
      if (res.status === 204) return { ok: true, status: 204, body: null };
      if (res.ok) return { ok: false, status: res.status, message: `${res.status} an answer that is not JSON (is ${root} a tocsin relay?)` };
      const error = (parsed as { error?: unknown } | undefined)?.error;
      const retry = res.status === 503 && res.headers.get('retry-after') ? ` (retry after ${oneLine(res.headers.get('retry-after'), 20)} s)` : '';
      const why = typeof error === 'string' ? oneLine(error, 500) : `${res.statusText || 'error'} (not a tocsin answer: is ${root} a tocsin relay?)`;
      return { ok: false, status: res.status, message: `${res.status} ${why}${retry}`, ...(parsed !== undefined && { body: parsed }) };
    },
  };
}

/** Rows (the header first) as left-aligned columns two spaces apart, the last column unpadded. */
export function renderRows(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  return rows.map((r) => r.map((cell, i) => (i < r.length - 1 ? cell + ' '.repeat(widths[i]! - [...cell].length) : cell)).join('  ').trimEnd()).join('\n') + '\n';
}

/** What an admin command (`tocsin silence …`, `tocsin check …`) is given. */
export interface AdminCommandOptions {
  readonly command: string;
  readonly values: { readonly url?: string; readonly token?: string };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly usage: string;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  readonly fetch?: typeof fetch;
}

/** An admin command's output, usage errors, relay URL, token and client; or the exit code of a usage error. */
export type AdminCommand =
  | { ok: false; code: number }
  | {
    ok: true;
    out: (text: string) => void;
    err: (text: string) => void;
    /** Prints the problem and the usage; returns 2. */
    usageError: (problem: string) => number;
    base: URL;
    api: Client;
    /** Prints the relay's error (with a hint at the token on a 401 without one); returns 1. */
    failed: (a: Answer & { ok: false }, what?: string) => number;
    /** As failed, but returns the code of the exit-code table (3 unreachable, 4 a 401/403, else 1). */
    fail: (a: Answer & { ok: false }, what?: string) => number;
    json: (v: unknown) => string;
  };

/** The start every admin command shares: `--url` / $TOCSIN_URL, `--token` / $TOCSIN_TOKEN (never echoed). */
export function adminCommand(group: string, opts: AdminCommandOptions): AdminCommand {
  const out = opts.stdout ?? ((t) => void process.stdout.write(t));
  const err = opts.stderr ?? ((t) => void process.stderr.write(t));
  const prefix = opts.command === '' ? `tocsin ${group}` : `tocsin ${group} ${opts.command}`;
  const usageError = (problem: string) => {
    err(`${prefix}: ${problem}\n\n${opts.usage}`);
    return 2;
  };
  const { values, env } = opts;

  const base = relayUrl(values.url ?? (env.TOCSIN_URL || DEFAULT_URL));
  if (!base.ok) return { ok: false, code: usageError(base.problem) };
  const token = (values.token ?? (env.TOCSIN_TOKEN || undefined))?.trim();
  // Never echoed: a token fetch would refuse (a space, a control character) is refused here, unnamed.
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) return { ok: false, code: usageError('the admin token (--token or $TOCSIN_TOKEN) must be one word of printable ASCII') };
  const api = client(base.url, token, opts.fetch ?? fetch);
  const failed = (a: Answer & { ok: false }, what = '') => {
    const hint = a.status === 401 && token === undefined ? ' (give the admin token with --token or $TOCSIN_TOKEN)' : '';
    err(`${prefix}: ${what}${a.message}${hint}\n`);
    return 1;
  };
  const fail = (a: Answer & { ok: false }, what = '') => {
    failed(a, what);
    return exitCodeOf(a);
  };
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  return { ok: true, out, err, usageError, base: base.url, api, failed, fail, json };
}
