/**
 * @module cli/pages
 * The list options the admin commands share (`tocsin alarms`, `tocsin dead-letters`): --since/--until (an
 * RFC 3339 time, or a duration meaning that long ago), --limit (1..1000), --cursor; and reading a list
 * of the admin API page by page (`?cursor=` from the previous page's `next_cursor`).
 */
import { parseSilenceDuration, parseTime } from './silence-command.ts';
import { oneLine, query, type Answer, type Client } from './admin-client.ts';

/** The most items the admin API gives per page (and the most ids per replay or discard). */
export const MAX_LIMIT = 1000;

export interface ListValues {
  readonly since?: string;
  readonly until?: string;
  readonly limit?: string;
  readonly cursor?: string;
}

export interface ListOptions {
  /** RFC 3339 (UTC, milliseconds), as the API takes it. */
  readonly since?: string;
  readonly until?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

/** An RFC 3339 time, or a duration before `now` (30m, 2h, 1d, 1h30m); as an ISO string, or undefined. */
export function parseWhen(text: string, now: number): string | undefined {
  const at = parseTime(text);
  if (at !== undefined) return new Date(at).toISOString();
  const ago = parseSilenceDuration(text);
  return ago === undefined ? undefined : new Date(now - ago).toISOString();
}

/** --limit N: a whole number 1..1000. */
export function parseLimit(text: string | undefined): { ok: true; limit: number | undefined } | { ok: false; problem: string } {
  if (text === undefined) return { ok: true, limit: undefined };
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > MAX_LIMIT) return { ok: false, problem: `--limit must be a whole number from 1 to ${MAX_LIMIT}, not "${oneLine(text, 40)}"` };
  return { ok: true, limit: n };
}

/** The shared list options, or the usage problem with one. */
export function parseListOptions(values: ListValues, now: number): { ok: true; list: ListOptions } | { ok: false; problem: string } {
  const when: Record<'since' | 'until', string | undefined> = { since: undefined, until: undefined };
  for (const key of ['since', 'until'] as const) {
    const text = values[key];
    if (text === undefined) continue;
    when[key] = parseWhen(text, now);
    if (when[key] === undefined) return { ok: false, problem: `--${key} must be an RFC 3339 time like 2026-12-01T12:00:00Z or a duration ago like 2h, not "${oneLine(text, 40)}"` };
  }
  if (when.since !== undefined && when.until !== undefined && when.since > when.until) return { ok: false, problem: '--since must not be after --until' };
  const limit = parseLimit(values.limit);
  if (!limit.ok) return limit;
  if (values.cursor !== undefined && values.cursor.trim() === '') return { ok: false, problem: '--cursor must not be empty' };
  return {
    ok: true,
    list: {
      ...(when.since !== undefined && { since: when.since }),
      ...(when.until !== undefined && { until: when.until }),
      ...(limit.limit !== undefined && { limit: limit.limit }),
      ...(values.cursor !== undefined && { cursor: values.cursor.trim() }),
    },
  };
}

export interface Page<T> {
  readonly items: T[];
  readonly next_cursor: string | null;
}

/**
 * GET `path` with `params` (and `limit`, `cursor`): one page, or with `all` every page (following
 * `next_cursor` to its end; `onPage` hears of each). A failed request or an answer without `items` is the
 * failure to print.
 */
export async function readPages<T>(
  api: Client,
  path: string,
  params: Readonly<Record<string, string | number | readonly string[] | undefined>>,
  opts: { readonly all?: boolean; readonly limit?: number; readonly cursor?: string; readonly onPage?: (count: number) => void },
): Promise<{ ok: true; page: Page<T> } | { ok: false; failure: Answer & { ok: false } }> {
  const items: T[] = [];
  let cursor = opts.cursor;
  const seen = new Set<string>();
  for (;;) {
    const a = await api.request('GET', `${path}${query({ ...params, limit: opts.limit, cursor })}`);
    if (!a.ok) return { ok: false, failure: a };
    const body = a.body as { items?: unknown; next_cursor?: unknown } | null;
    if (!Array.isArray(body?.items)) return { ok: false, failure: { ok: false, status: a.status, message: `${a.status} an answer without "items" (is the relay a tocsin relay of this version?)` } };
    items.push(...(body.items as T[]));
    opts.onPage?.(items.length);
    const next = typeof body.next_cursor === 'string' && body.next_cursor !== '' ? body.next_cursor : null;
    // A cursor seen before would loop for ever: the relay's answer is wrong, the pages read so far stand.
    if (!opts.all || next === null || seen.has(next)) return { ok: true, page: { items, next_cursor: opts.all ? null : next } };
    seen.add(next);
    cursor = next;
  }
}
