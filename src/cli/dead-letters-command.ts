/**
 * @module cli/dead-letters-command
 * `tocsin dead-letters`: the dead letters of a RUNNING relay through its admin API. Without an action it
 * lists them (`GET /api/v1/dead-letters`, filtered by method, reason and time). `--replay ID` sends the
 * given ones again (a new attempt series, recorded with who replayed it), `--replay-all` every one the
 * filter matches; `--discard ID` deletes the given ones, `--discard-all` (or `--discard` with filter flags)
 * every one matching (and, with `--method` of a method that is no longer configured, its pending
 * notifications). An action on everything (no filter) needs `--yes`. The filter actions loop while the
 * relay reports more remaining, with a progress display on stderr.
 */
import { adminCommand, defaultBy, isoSeconds, oneLine, type Answer, type AdminCommandOptions, type Client } from './admin-client.ts';
import { EXIT } from './exit-codes.ts';
import { MAX_LIMIT, parseListOptions, readPages } from './pages.ts';
import { createProgress, type ProgressTarget } from './progress.ts';
import { renderTable, styleFor, type TableStyle } from './table.ts';

export interface DeadLettersValues {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
  readonly method?: string;
  readonly reason?: string;
  readonly since?: string;
  readonly until?: string;
  readonly limit?: string;
  readonly cursor?: string;
  readonly all?: boolean;
  readonly replay?: readonly string[];
  readonly 'replay-all'?: boolean;
  readonly discard?: readonly string[];
  readonly 'discard-all'?: boolean;
  readonly yes?: boolean;
  readonly by?: string;
}

export interface DeadLettersCommandOptions extends AdminCommandOptions {
  readonly values: DeadLettersValues;
  /** Default: Date.now (for --since 2h). */
  readonly now?: () => number;
  /** Default: the style of process.stdout. */
  readonly style?: TableStyle;
  /** Where the progress goes; default: process.stderr (a bar when it is a terminal). */
  readonly progress?: ProgressTarget;
  /** Default: os.hostname (for the default --by). */
  readonly hostname?: () => string;
}

/** One row of `GET /api/v1/dead-letters`. */
export interface DeadLetterItem {
  id: string;
  alarm_id: string;
  alarm_name: string | null;
  method: string;
  dead_at: string | null;
  dead_reason: string | null;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  created_at: string | null;
}

/** The answer of a replay or discard call. */
export interface ActionAnswer {
  replayed?: number;
  discarded?: number;
  ids?: string[];
  not_found?: string[];
  skipped?: { id: string; reason: string }[];
  pending_cleared?: number;
  remaining?: number;
}

/** What a whole action did, over every call. */
export interface ActionResult {
  done: string[];
  not_found: string[];
  skipped: { id: string; reason: string }[];
  /** Of `done`: pending notifications of a method no longer configured (a discard by that method). */
  pendingCleared: number;
  remaining: number;
}

interface Filter {
  method?: string;
  reason?: string;
  since?: string;
  until?: string;
}

const time = (t: unknown) => (typeof t === 'string' && t !== '' ? isoSeconds(t) : '-');

/** ID, METHOD, DEAD AT, ATTEMPTS, LAST STATUS, ALARM, REASON. */
export function renderDeadLetters(items: readonly Partial<DeadLetterItem>[], style: TableStyle = {}): string {
  if (items.length === 0) return 'no dead letters\n';
  return renderTable(
    [
      { header: 'ID' }, { header: 'METHOD', max: 40 }, { header: 'DEAD AT' }, { header: 'ATTEMPTS', right: true },
      { header: 'LAST STATUS', right: true }, { header: 'ALARM', max: 50 }, { header: 'REASON', flex: true, max: 300 },
    ],
    items.map((d) => [
      d.id, d.method, time(d.dead_at), d.attempts, d.last_status, d.alarm_name ?? d.alarm_id,
      d.dead_reason && d.last_error ? `${d.dead_reason}: ${d.last_error}` : (d.last_error ?? d.dead_reason),
    ]),
    style,
  );
}

/** IDs from repeated `--replay A,B --replay C`: each once, in order; blanks dropped. */
export function splitIds(args: readonly string[]): string[] {
  return [...new Set(args.flatMap((a) => a.split(',')).map((s) => s.trim()).filter((s) => s !== ''))];
}

type Verb = 'replay' | 'discard';
const PAST = { replay: 'replayed', discard: 'discarded' } as const;

/** The count of one call's answer (`replayed` or `discarded`), or undefined if the answer is not one. */
function countOf(verb: Verb, body: ActionAnswer | null): number | undefined {
  const n = body?.[PAST[verb]];
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** POSTs the ids in chunks of MAX_LIMIT. */
async function byIds(api: Client, verb: Verb, ids: readonly string[], by: string): Promise<{ ok: true; result: ActionResult } | { ok: false; failure: Answer & { ok: false }; result: ActionResult }> {
  const result: ActionResult = { done: [], not_found: [], skipped: [], pendingCleared: 0, remaining: 0 };
  for (let i = 0; i < ids.length; i += MAX_LIMIT) {
    const a = await api.request('POST', `/api/v1/dead-letters/${verb}`, { ids: ids.slice(i, i + MAX_LIMIT), by });
    if (!a.ok) return { ok: false, failure: a, result };
    const body = a.body as ActionAnswer | null;
    if (countOf(verb, body) === undefined) return { ok: false, failure: unexpected(a.status, verb), result };
    collect(result, body!);
  }
  return { ok: true, result };
}

function collect(result: ActionResult, body: ActionAnswer): void {
  if (Array.isArray(body.ids)) result.done.push(...body.ids.map(String));
  if (Array.isArray(body.not_found)) result.not_found.push(...body.not_found.map(String));
  if (Array.isArray(body.skipped)) result.skipped.push(...body.skipped.map((s) => ({ id: String(s?.id), reason: String(s?.reason) })));
  if (typeof body.pending_cleared === 'number') result.pendingCleared += body.pending_cleared;
  result.remaining = typeof body.remaining === 'number' ? body.remaining : 0;
}

function unexpected(status: number, verb: Verb): Answer & { ok: false } {
  return { ok: false, status, message: `${status} an answer without "${PAST[verb]}" (is the relay a tocsin relay of this version?)` };
}

/**
 * When the newest dead letter matching the filter died (the relay's clock). A filter action is pinned to
 * it: letters that die (again) while it runs are not acted on, so `--replay-all` against a receiver that
 * still fails ends instead of replaying the same letters over and over.
 */
async function newestMatch(api: Client, filter: Filter): Promise<{ ok: true; deadAt: string | undefined } | { ok: false; failure: Answer & { ok: false } }> {
  const read = await readPages<Partial<DeadLetterItem>>(api, '/api/v1/dead-letters', filter as Record<string, string | undefined>, { limit: 1 });
  if (!read.ok) return read;
  const at = read.page.items[0]?.dead_at;
  return { ok: true, deadAt: typeof at === 'string' ? at : undefined };
}

/**
 * POSTs the filter until nothing remains: the total is the first call's count plus its remaining. Stops
 * early when a call does nothing although some remain (they are skipped: their method is gone), so it
 * cannot loop for ever.
 */
async function byFilter(
  api: Client, verb: Verb, filter: Filter, limit: number | undefined, by: string, progress: ProgressTarget,
): Promise<{ ok: true; result: ActionResult } | { ok: false; failure: Answer & { ok: false }; result: ActionResult }> {
  const result: ActionResult = { done: [], not_found: [], skipped: [], pendingCleared: 0, remaining: 0 };
  const bar = createProgress(PAST[verb], progress);
  let total: number | undefined;
  let done = 0;
  try {
    for (;;) {
      const a = await api.request('POST', `/api/v1/dead-letters/${verb}`, { filter, ...(limit !== undefined && { limit }), by });
      if (!a.ok) return { ok: false, failure: a, result };
      const body = a.body as ActionAnswer | null;
      const n = countOf(verb, body);
      if (n === undefined) return { ok: false, failure: unexpected(a.status, verb), result };
      collect(result, body!);
      done += n;
      total ??= n + result.remaining;
      // More may have died while this ran: the total grows, never below what is done plus what remains.
      total = Math.max(total, done + result.remaining);
      bar.update(done, total);
      if (result.remaining <= 0 || n === 0) return { ok: true, result };
    }
  } finally {
    bar.finish();
  }
}

/** Runs `tocsin dead-letters`; returns the exit code (see exit-codes.ts). */
export async function deadLettersCommand(opts: DeadLettersCommandOptions): Promise<number> {
  const cmd = adminCommand('dead-letters', { ...opts, command: '' });
  if (!cmd.ok) return cmd.code;
  const { out, err, usageError, api, fail, json } = cmd;
  const { values } = opts;

  const replayIds = splitIds(values.replay ?? []);
  const discardIds = splitIds(values.discard ?? []);
  const actions = [
    values.replay !== undefined && '--replay', values['replay-all'] && '--replay-all', values.discard !== undefined && '--discard ID', values['discard-all'] && '--discard-all',
  ].filter((a): a is string => typeof a === 'string');
  if (actions.length > 1) return usageError(`give one of ${actions.join(', ')}, not several`);
  const action = actions[0];
  if (values.replay !== undefined && replayIds.length === 0) return usageError('--replay needs dead letter IDs (--replay ID[,ID...]); --replay-all replays every one the filter matches');
  if (values.discard !== undefined && discardIds.length === 0) return usageError('--discard needs dead letter IDs, or filter flags (--discard --method M)');

  for (const key of ['method', 'reason'] as const) if (values[key] !== undefined && values[key].trim() === '') return usageError(`--${key} must not be empty`);
  const list = parseListOptions(values, (opts.now ?? Date.now)());
  if (!list.ok) return usageError(list.problem);
  const filter: Filter = {
    ...(values.method !== undefined && { method: values.method.trim() }),
    ...(values.reason !== undefined && { reason: values.reason.trim() }),
    ...(list.list.since !== undefined && { since: list.list.since }),
    ...(list.list.until !== undefined && { until: list.list.until }),
  };
  const filtered = Object.keys(filter).length > 0;
  const byIdAction = action === '--replay' || action === '--discard ID';
  const allAction = action === '--replay-all' || action === '--discard-all';
  if (byIdAction && filtered) return usageError('the filter flags (--method, --reason, --since, --until) go with a list, --replay-all or --discard-all, not with IDs');
  if (action !== undefined && (values.all || values.cursor !== undefined)) return usageError('--all and --cursor go only with a list');
  if (values.all && values.cursor !== undefined) return usageError('give either --all or --cursor, not both');
  if (values.yes && !allAction) return usageError('--yes goes only with --replay-all or --discard-all');
  if (values.by !== undefined && action === undefined) return usageError('--by goes only with --replay or --discard');
  if (allAction && !filtered && !values.yes) {
    const what = action === '--discard-all' ? '--discard-all (or --discard without IDs)' : action;
    return usageError(`${what} without a filter (--method, --reason, --since, --until) acts on EVERY dead letter; add --yes to do that`);
  }
  const by = values.by?.trim() || defaultBy(opts.env, opts.hostname);
  if ([...by].length > 200) return usageError('--by must be at most 200 characters');

  if (action === undefined) {
    const read = await readPages<Partial<DeadLetterItem>>(api, '/api/v1/dead-letters', filter as Record<string, string | undefined>, {
      all: values.all === true, limit: list.list.limit, cursor: list.list.cursor,
    });
    if (!read.ok) return fail(read.failure);
    if (values.json) {
      out(json(read.page));
      return EXIT.ok;
    }
    out(renderDeadLetters(read.page.items, opts.style ?? styleFor(process.stdout, opts.env)));
    if (read.page.next_cursor !== null) err(`more dead letters: --cursor ${read.page.next_cursor} for the next page, or --all\n`);
    return EXIT.ok;
  }

  const verb: Verb = action.startsWith('--replay') ? 'replay' : 'discard';
  const progress = opts.progress ?? { write: (t: string) => void process.stderr.write(t), isTTY: process.stderr.isTTY === true };
  let pinned = filter;
  if (!byIdAction) {
    const at = await newestMatch(api, filter);
    if (!at.ok) return fail(at.failure);
    if (at.deadAt !== undefined) pinned = { ...filter, until: at.deadAt };
  }
  const run = byIdAction
    ? await byIds(api, verb, verb === 'replay' ? replayIds : discardIds, by)
    : await byFilter(api, verb, pinned, list.list.limit, by, progress);
  const { result } = run;

  // Nothing done before the failure: the failure alone.
  if (!run.ok && result.done.length === 0 && result.not_found.length === 0) return fail(run.failure);
  if (values.json) {
    out(json({
      [PAST[verb]]: result.done.length, ids: result.done, not_found: result.not_found,
      ...(verb === 'replay' ? { skipped: result.skipped } : { pending_cleared: result.pendingCleared }), remaining: result.remaining,
    }));
  } else {
    // By IDs: one line each; by filter (thousands, maybe): the count.
    const dead = result.done.length - result.pendingCleared;
    if (allAction) out(`${PAST[verb]} ${dead} dead letter${dead === 1 ? '' : 's'}\n`);
    else for (const id of result.done) out(`${PAST[verb]} ${oneLine(id)}\n`);
    if (result.pendingCleared > 0) out(`${PAST[verb]} ${result.pendingCleared} pending notification${result.pendingCleared === 1 ? '' : 's'} of ${oneLine(filter.method ?? '', 80)}, a method no longer configured\n`);
  }
  for (const id of result.not_found) err(`tocsin dead-letters: ${oneLine(id, 80)}: no such dead letter\n`);
  for (const s of result.skipped) err(`tocsin dead-letters: ${oneLine(s.id, 80)}: skipped: ${oneLine(s.reason, 300)}\n`);
  if (!run.ok) return fail(run.failure);
  if (allAction && result.remaining > 0) {
    err(`tocsin dead-letters: ${result.remaining} still match the filter and were not ${PAST[verb]}\n`);
    return EXIT.failed;
  }
  return result.not_found.length > 0 || result.skipped.length > 0 ? EXIT.failed : EXIT.ok;
}
