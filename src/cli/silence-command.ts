/**
 * @module cli/silence-command
 * `tocsin silence add|list|expire`: the silences of a RUNNING relay, through its admin API
 * (src/http/silence-routes.ts) with the global fetch (Node, Bun and Deno alike). The command line is
 * checked here (matchers, times, durations: a problem is a usage error, exit 2); the relay's errors are
 * printed in its own words (exit 1). The admin token goes into the Authorization header and nowhere else:
 * it is never printed, not even in an error.
 */
import { parseRfc3339 } from '../lib/rfc3339.ts';
import { parseDuration } from '../lib/duration.ts';
import { adminCommand, isoSeconds, oneLine, renderRows } from './admin-client.ts';
export { DEFAULT_URL, REQUEST_TIMEOUT_MS, relayUrl } from './admin-client.ts';
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

/** An RFC 3339 time (as the admin API takes it) in epoch ms, or undefined. */
export function parseTime(text: string): number | undefined {
  return parseRfc3339(text.trim(), { space: true });
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


/** The columns ID, STATE, ENDS, CREATED BY, MATCH, COMMENT; one silence a line. */
export function renderTable(silences: readonly SilenceView[]): string {
  if (silences.length === 0) return 'no silences\n';
  const rows = [
    ['ID', 'STATE', 'ENDS', 'CREATED BY', 'MATCH', 'COMMENT'],
    ...silences.map((s) => [oneLine(s.id), oneLine(s.state), isoSeconds(String(s.ends_at)), oneLine(s.created_by, 40), oneLine(formatMatch(s.match)), oneLine(s.comment, 80)]),
  ];
  return renderRows(rows);
}

// ---- the commands ------------------------------------------------------------------------------

/** Runs `tocsin silence <command>`; returns the exit code (0 done, 1 the relay's error or unreachable, 2 usage). */
export async function silenceCommand(opts: SilenceCommandOptions): Promise<number> {
  const cmd = adminCommand('silence', opts);
  if (!cmd.ok) return cmd.code;
  const { out, err, usageError, base, api, fail: failed, json } = cmd;
  const { values, env } = opts;

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
      if (!Array.isArray(silences)) return failed({ ok: false, status: a.status, message: `${a.status} an answer without "silences" (is ${base.href} a tocsin relay?)` });
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
        code = failed(a, `${oneLine(id, 80)}: `);
        // An unknown id does not stop the others; anything else (unreachable, the token, storage) would fail them all.
        if (a.status !== 404) break;
      }
      return code;
    }
  }
}
