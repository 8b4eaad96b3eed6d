/**
 * @module cli/silence-command
 * `tocsin silence add|list|expire`: the silences of a RUNNING relay, through its admin API
 * (src/http/silence-routes.ts) with the global fetch (Node, Bun and Deno alike). The command line is
 * checked here (matchers, times, durations: a problem is a usage error, exit 2); the relay's errors are
 * printed in its own words (exit 1). The admin token goes into the Authorization header and nowhere else:
 * it is never printed, not even in an error.
 */
import { parseDuration } from '../lib/duration.ts';
import type { SilenceView } from '../app/silences.ts';

export type SilenceSubcommand = 'add' | 'list' | 'expire';

/** The options of main.ts's OPTIONS table that the silence commands read. */
export interface SilenceValues {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
  readonly duration?: string;
  readonly 'ends-at'?: string;
  readonly 'starts-at'?: string;
  readonly comment?: string;
  readonly 'created-by'?: string;
  readonly state?: string;
}

export interface SilenceCommandOptions {
  readonly command: SilenceSubcommand;
  /** The positional arguments after `silence <command>` (MATCHERs of add, IDs of expire). */
  readonly args: readonly string[];
  readonly values: SilenceValues;
  /** TOCSIN_URL, TOCSIN_TOKEN, USER. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The command's usage, printed after a usage error. */
  readonly usage: string;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /** Default: Date.now. */
  readonly now?: () => number;
}

export const DEFAULT_URL = 'http://127.0.0.1:9095';
/** How long one request may take before the relay counts as unreachable. */
export const REQUEST_TIMEOUT_MS = 30_000;
export const STATES = ['active', 'pending', 'expired'] as const;

// ---- matchers --------------------------------------------------------------------------------

/** The match fields of an alarm (routes[].match) other than labels. */
export type MatchField = 'source' | 'name' | 'severity' | 'status';
/** A silence's match, in the syntax of routes[].match. */
export interface SilenceMatch {
  source?: string;
  name?: string;
  severity?: string;
  status?: string;
  labels?: Record<string, string>;
}

/** Matcher names that mean an alarm field, not a label. */
const FIELDS: Readonly<Record<string, MatchField>> = { alertname: 'name', name: 'name', source: 'source', severity: 'severity', status: 'status' };
/** amtool's operator → the prefix of the routes[].match pattern. */
const PREFIX = { '=': '', '=~': '~', '!=': '!', '!~': '!~' } as const;
const MATCHER = /^([^=!~\s]+)(=~|!~|!=|=)(.*)$/s;

export type ParsedMatcher =
  | { readonly ok: true; readonly field: MatchField | undefined; readonly label: string; readonly pattern: string }
  | { readonly ok: false; readonly problem: string };

/**
 * One amtool-style matcher: `label=value`, `label=~regex`, `label!=value`, `label!~regex` (a value may be
 * written in double quotes), as the pattern of routes[].match ("value", "~regex", "!value", "!~regex");
 * `field` is set for alertname/name, source, severity and status.
 */
export function parseMatcher(arg: string): ParsedMatcher {
  const m = MATCHER.exec(arg);
  if (!m) return { ok: false, problem: `bad matcher "${arg}": write label=value, label=~regex, label!=value or label!~regex` };
  const [, label, op, raw] = m as unknown as [string, string, keyof typeof PREFIX, string];
  const value = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if ((op === '=' || op === '!=') && /^[!~]/.test(value)) {
    return { ok: false, problem: `bad matcher "${arg}": a value starting with ! or ~ cannot be matched exactly (use =~ or !~ with a regex)` };
  }
  return { ok: true, field: FIELDS[label], label, pattern: PREFIX[op] + value };
}

/** The match of a silence from its MATCHER arguments (at least one; each field and label once). */
export function buildMatch(args: readonly string[]): { ok: true; match: SilenceMatch } | { ok: false; problem: string } {
  if (args.length === 0) return { ok: false, problem: 'at least one MATCHER is required (e.g. alertname=DiskFull host=db-1)' };
  const fields: Partial<Record<MatchField, string>> = {};
  const labels = new Map<string, string>();
  for (const arg of args) {
    const p = parseMatcher(arg);
    if (!p.ok) return p;
    const taken = p.field ? fields[p.field] !== undefined : labels.has(p.label);
    if (taken) return { ok: false, problem: `"${p.field ?? p.label}" is matched twice; a silence takes one matcher per name` };
    if (p.field) fields[p.field] = p.pattern;
    else labels.set(p.label, p.pattern);
  }
  return { ok: true, match: { ...fields, ...(labels.size > 0 && { labels: Object.fromEntries(labels) }) } };
}

/** A match back in the MATCHER syntax (`name=DiskFull host=~db-.*`); anything else as JSON. */
export function formatMatch(match: unknown): string {
  if (match === null || typeof match !== 'object' || Array.isArray(match)) return JSON.stringify(match) ?? '';
  const { labels, ...fields } = match as Record<string, unknown>;
  const labelEntries = labels === undefined ? [] : labels !== null && typeof labels === 'object' && !Array.isArray(labels) ? Object.entries(labels) : [['labels', labels]];
  const entries = [...Object.entries(fields), ...labelEntries];
  return entries
    .map(([k, v]) => {
      if (typeof v !== 'string') return `${k}:${JSON.stringify(v)}`;
      const [op, value] = v.startsWith('!~') ? ['!~', v.slice(2)] : v.startsWith('!') ? ['!=', v.slice(1)] : v.startsWith('~') ? ['=~', v.slice(1)] : ['=', v];
      return `${k}${op}${value === '' || /[\s"]/.test(value) ? JSON.stringify(value) : value}`;
    })
    .join(' ');
}

// ---- times -------------------------------------------------------------------------------------

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 time (as the admin API takes it) in epoch ms, or undefined. */
export function parseTime(text: string): number | undefined {
  if (!RFC3339.test(text.trim())) return undefined;
  const t = Date.parse(text.trim().replace(/^(.{10})[t ]/, '$1T').toUpperCase());
  return Number.isFinite(t) ? t : undefined;
}

/** A duration of at least 1 ms: 30s, 90m, 2h, 1d, or a sum like 1h30m; undefined if not one. */
export function parseSilenceDuration(text: string): number | undefined {
  const parts = text.trim().match(/\d+(?:\.\d+)?(?:ms|s|m|h|d)/g);
  if (!parts || parts.join('') !== text.trim()) return undefined;
  let ms = 0;
  for (const p of parts) ms += parseDuration(p) ?? NaN;
  return Number.isFinite(ms) && ms >= 1 ? ms : undefined;
}

// ---- output ------------------------------------------------------------------------------------


/** Whitespace and control characters (terminal escapes) become one space; cut to `width` characters. */
function oneLine(text: unknown, width = Infinity): string {
  const chars = [...String(text ?? '').replace(/[\s\p{Cc}]+/gu, ' ').trim()];
  return chars.length <= width ? chars.join('') : `${chars.slice(0, width - 1).join('')}…`;
}

/** "2026-12-01T12:00:00Z" (seconds), or the text as the relay sent it. */
function isoSeconds(text: string): string {
  const t = Date.parse(text);
  return Number.isFinite(t) ? new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z') : oneLine(text);
}

/** The columns ID, STATE, ENDS, CREATED BY, MATCH, COMMENT; one silence a line. */
export function renderTable(silences: readonly SilenceView[]): string {
  if (silences.length === 0) return 'no silences\n';
  const rows = [
    ['ID', 'STATE', 'ENDS', 'CREATED BY', 'MATCH', 'COMMENT'],
    ...silences.map((s) => [oneLine(s.id), oneLine(s.state), isoSeconds(String(s.ends_at)), oneLine(s.created_by, 40), oneLine(formatMatch(s.match)), oneLine(s.comment, 80)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  return rows.map((r) => r.map((cell, i) => (i < r.length - 1 ? cell + ' '.repeat(widths[i]! - [...cell].length) : cell)).join('  ').trimEnd()).join('\n') + '\n';
}

// ---- HTTP --------------------------------------------------------------------------------------

type Answer = { ok: true; status: number; body: unknown } | { ok: false; status?: number; message: string };

interface Client {
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

function errorText(e: unknown): string {
  const err = e as { name?: unknown; message?: unknown; cause?: { message?: unknown; code?: unknown } } | undefined;
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = err?.cause?.message ?? err?.cause?.code;
  return oneLine(cause ?? err?.message ?? e);
}

function client(base: URL, token: string | undefined, fetchFn: typeof fetch): Client {
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
      if (res.ok) return { ok: false, status: res.status, message: `${res.status} an answer that is not JSON (is ${root} a tocsin relay?)` };
      const error = (parsed as { error?: unknown } | undefined)?.error;
      const retry = res.status === 503 && res.headers.get('retry-after') ? ` (retry after ${oneLine(res.headers.get('retry-after'), 20)} s)` : '';
      const why = typeof error === 'string' ? oneLine(error, 500) : `${res.statusText || 'error'} (not a tocsin answer: is ${root} a tocsin relay?)`;
      return { ok: false, status: res.status, message: `${res.status} ${why}${retry}` };
    },
  };
}

// ---- the commands ------------------------------------------------------------------------------

/** Runs `tocsin silence <command>`; returns the exit code (0 done, 1 the relay's error or unreachable, 2 usage). */
export async function silenceCommand(opts: SilenceCommandOptions): Promise<number> {
  const out = opts.stdout ?? ((t) => void process.stdout.write(t));
  const err = opts.stderr ?? ((t) => void process.stderr.write(t));
  const prefix = `tocsin silence ${opts.command}`;
  const usageError = (problem: string) => {
    err(`${prefix}: ${problem}\n\n${opts.usage}`);
    return 2;
  };
  const { values, env } = opts;

  const base = relayUrl(values.url ?? (env.TOCSIN_URL || DEFAULT_URL));
  if (!base.ok) return usageError(base.problem);
  const token = (values.token ?? (env.TOCSIN_TOKEN || undefined))?.trim();
  // Never echoed: a token fetch would refuse (a space, a control character) is refused here, unnamed.
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) return usageError('the admin token (--token or $TOCSIN_TOKEN) must be one word of printable ASCII');
  const api = client(base.url, token, opts.fetch ?? fetch);
  const failed = (a: Answer & { ok: false }, what = '') => {
    const hint = a.status === 401 && token === undefined ? ' (give the admin token with --token or $TOCSIN_TOKEN)' : '';
    err(`${prefix}: ${what}${a.message}${hint}\n`);
    return 1;
  };
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

  switch (opts.command) {
    case 'add': {
      const built = buildMatch(opts.args);
      if (!built.ok) return usageError(built.problem);
      if (values.duration !== undefined && values['ends-at'] !== undefined) return usageError('give either --duration or --ends-at, not both');
      if (values.duration === undefined && values['ends-at'] === undefined) return usageError('--duration or --ends-at is required');
      let startsAt: number | undefined;
      if (values['starts-at'] !== undefined) {
        startsAt = parseTime(values['starts-at']);
        if (startsAt === undefined) return usageError('--starts-at must be an RFC 3339 time like 2026-12-01T12:00:00Z');
      }
      let endsAt: number | undefined;
      if (values.duration !== undefined) {
        const ms = parseSilenceDuration(values.duration);
        if (ms === undefined) return usageError(`--duration must be a duration like 30s, 90m, 2h or 1d, not "${oneLine(values.duration, 40)}"`);
        endsAt = (startsAt ?? (opts.now ?? Date.now)()) + ms;
      } else {
        endsAt = parseTime(values['ends-at']!);
        if (endsAt === undefined) return usageError('--ends-at must be an RFC 3339 time like 2026-12-01T12:00:00Z');
      }
      const comment = values.comment?.trim();
      if (!comment) return usageError('--comment TEXT is required: why the alarms are silenced');
      const createdBy = values['created-by']?.trim() || env.USER?.trim() || 'tocsin-cli';
      const a = await api.request('POST', '/api/v1/silences', {
        match: built.match,
        ...(startsAt !== undefined && { starts_at: new Date(startsAt).toISOString() }),
        ends_at: new Date(endsAt).toISOString(),
        comment,
        created_by: createdBy,
      });
      if (!a.ok) return failed(a);
      const id = (a.body as { id?: unknown }).id;
      out(values.json ? json(a.body) : `${oneLine(id)}\n`);
      return 0;
    }
    case 'list': {
      const state = values.state;
      if (state !== undefined && !(STATES as readonly string[]).includes(state)) return usageError(`--state must be one of: ${STATES.join(', ')}`);
      const a = await api.request('GET', `/api/v1/silences${state ? `?state=${state}` : ''}`);
      if (!a.ok) return failed(a);
      const silences = (a.body as { silences?: unknown }).silences;
      if (!Array.isArray(silences)) return failed({ ok: false, message: `${a.status} an answer without "silences" (is ${base.url.href} a tocsin relay?)` });
      out(values.json ? json(a.body) : renderTable(silences as SilenceView[]));
      return 0;
    }
    case 'expire': {
      if (opts.args.length === 0) return usageError('at least one silence ID is required');
      let code = 0;
      for (const id of opts.args) {
        const a = await api.request('DELETE', `/api/v1/silences/${encodeURIComponent(id)}`);
        if (a.ok) {
          out(values.json ? `${JSON.stringify(a.body)}\n` : `expired ${oneLine(id)}\n`);
          continue;
        }
        failed(a, `${oneLine(id, 80)}: `);
        code = 1;
        // An unknown id does not stop the others; anything else (unreachable, the token, storage) would fail them all.
        if (a.status !== 404) break;
      }
      return code;
    }
  }
}
