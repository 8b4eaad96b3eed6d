/**
 * @module cli/alarms-command
 * `tocsin alarms [list]` and `tocsin alarms show ID`: the alarms of a RUNNING relay through its admin API
 * (`GET /api/v1/alarms`, `GET /api/v1/alarms/{id}`): the current state of each alarm (one row per source
 * and dedup key, newest first), filtered by state, source, name, labels and time, a page at a time or
 * every page (--all); and one alarm occurrence with its state and its notifications.
 */
import { parseLabels } from './check-command.ts';
import { adminCommand, isoSeconds, type AdminCommandOptions } from './admin-client.ts';
import { EXIT } from './exit-codes.ts';
import { parseListOptions, readPages } from './pages.ts';
import { renderFields, renderTable, styleFor, type TableStyle } from './table.ts';

export type AlarmsSubcommand = 'list' | 'show';

/** The options of main.ts's OPTIONS table that the alarms commands read. */
export interface AlarmsValues {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
  readonly state?: string;
  readonly source?: string;
  readonly name?: string;
  readonly label?: readonly string[];
  readonly since?: string;
  readonly until?: string;
  readonly limit?: string;
  readonly cursor?: string;
  readonly all?: boolean;
}

export interface AlarmsCommandOptions extends AdminCommandOptions {
  readonly command: AlarmsSubcommand;
  /** The positional arguments after `alarms <command>` (the ID of show). */
  readonly args: readonly string[];
  readonly values: AlarmsValues;
  /** Default: Date.now (for --since 2h). */
  readonly now?: () => number;
  /** Default: the style of process.stdout. */
  readonly style?: TableStyle;
}

export const ALARM_STATES = ['firing', 'resolved'] as const;

/** One row of `GET /api/v1/alarms`. */
export interface AlarmItem {
  id: string;
  source: string;
  dedup_key: string;
  name: string;
  severity: string;
  status: string;
  since: string | null;
  last_seen: string | null;
  count: number;
  silenced_by: string | string[] | null;
  labels: Record<string, string>;
}

/** One notification of `GET /api/v1/alarms/{id}`. */
export interface AlarmNotification {
  id: string;
  method: string;
  state: string;
  attempts: number;
  created_at: string | null;
  next_attempt_at: string | null;
  sent_at: string | null;
  dead_at: string | null;
  dead_reason: string | null;
  last_status: number | null;
  last_error: string | null;
}

/** `k=v, k2=v2`. */
export function labelsText(labels: unknown): string {
  if (labels === null || typeof labels !== 'object') return '';
  return Object.entries(labels as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`).join(', ');
}

const time = (t: unknown) => (typeof t === 'string' && t !== '' ? isoSeconds(t) : '-');
const silenced = (s: unknown) => (Array.isArray(s) ? s.join(', ') : s);

/** STATUS, NAME, SOURCE, SEVERITY, SINCE, LAST SEEN, COUNT, SILENCED BY, ID, LABELS. */
export function renderAlarms(items: readonly Partial<AlarmItem>[], style: TableStyle = {}): string {
  if (items.length === 0) return 'no alarms\n';
  return renderTable(
    [
      { header: 'STATUS' }, { header: 'NAME', max: 60 }, { header: 'SOURCE', max: 30 }, { header: 'SEVERITY', max: 12 },
      { header: 'SINCE' }, { header: 'LAST SEEN' }, { header: 'COUNT', right: true }, { header: 'SILENCED BY', max: 40 },
      { header: 'ID' }, { header: 'LABELS', flex: true },
    ],
    items.map((a) => [a.status, a.name, a.source, a.severity, time(a.since), time(a.last_seen), a.count, silenced(a.silenced_by), a.id, labelsText(a.labels)]),
    style,
  );
}

/** ID, METHOD, STATE, ATTEMPTS, CREATED, SENT/DEAD, LAST STATUS, LAST ERROR. */
export function renderNotifications(items: readonly Partial<AlarmNotification>[], style: TableStyle = {}): string {
  if (items.length === 0) return 'no notifications\n';
  return renderTable(
    [
      { header: 'ID' }, { header: 'METHOD', max: 40 }, { header: 'STATE' }, { header: 'ATTEMPTS', right: true }, { header: 'CREATED' },
      { header: 'SENT/DEAD/NEXT' }, { header: 'LAST STATUS', right: true }, { header: 'LAST ERROR', flex: true, max: 200 },
    ],
    items.map((n) => [
      n.id, n.method, n.state, n.attempts, time(n.created_at),
      time(n.sent_at ?? n.dead_at ?? n.next_attempt_at), n.last_status, n.dead_reason && n.last_error ? `${n.dead_reason}: ${n.last_error}` : (n.last_error ?? n.dead_reason),
    ]),
    style,
  );
}

/** `alarms show`: the occurrence, its alarm's current state, its notifications. */
export function renderAlarm(body: { alarm?: Record<string, unknown>; state?: Partial<AlarmItem> | null; notifications?: Partial<AlarmNotification>[] }, style: TableStyle = {}): string {
  const a = body.alarm ?? {};
  const s = body.state;
  const fields: [string, unknown][] = [
    ['id', a.id], ['name', a.name], ['source', a.source], ['severity', a.severity], ['status', a.status],
    ['summary', a.summary], ['description', a.description], ['labels', labelsText(a.labels)], ['annotations', labelsText(a.annotations)],
    ['occurred at', time(a.occurred_at)], ['received at', time(a.received_at)], ['dedup key', a.dedup_key],
  ];
  if (s) {
    fields.push(['state', `${s.status ?? '?'} since ${time(s.since)}, last seen ${time(s.last_seen)}, ${s.count ?? '?'} occurrence(s)`]);
    if (s.silenced_by) fields.push(['silenced by', silenced(s.silenced_by)]);
  }
  return `${renderFields(fields)}\nNotifications:\n${renderNotifications(body.notifications ?? [], style)}`;
}

/** Runs `tocsin alarms <command>`; returns the exit code (see exit-codes.ts). */
export async function alarmsCommand(opts: AlarmsCommandOptions): Promise<number> {
  const cmd = adminCommand('alarms', { ...opts, command: opts.command === 'list' ? '' : opts.command });
  if (!cmd.ok) return cmd.code;
  const { out, err, usageError, api, fail, json } = cmd;
  const { values } = opts;
  const style = opts.style ?? styleFor(process.stdout, opts.env);

  if (opts.command === 'show') {
    const id = opts.args[0];
    if (id === undefined || id.trim() === '') return usageError("the alarm's ID is required");
    const a = await api.request('GET', `/api/v1/alarms/${encodeURIComponent(id.trim())}`);
    if (!a.ok) return fail(a);
    out(values.json ? json(a.body) : renderAlarm(a.body as Parameters<typeof renderAlarm>[0], style));
    return EXIT.ok;
  }

  if (values.state !== undefined && !(ALARM_STATES as readonly string[]).includes(values.state)) return usageError(`--state must be one of: ${ALARM_STATES.join(', ')}`);
  for (const key of ['source', 'name'] as const) if (values[key] !== undefined && values[key].trim() === '') return usageError(`--${key} must not be empty`);
  const labels = parseLabels(values.label ?? []);
  if (!labels.ok) return usageError(labels.problem);
  const list = parseListOptions(values, (opts.now ?? Date.now)());
  if (!list.ok) return usageError(list.problem);
  if (values.all && values.cursor !== undefined) return usageError('give either --all or --cursor, not both');

  const params: Record<string, string | undefined> = {
    state: values.state,
    source: values.source?.trim(),
    name: values.name?.trim(),
    since: list.list.since,
    until: list.list.until,
  };
  for (const [k, v] of Object.entries(labels.labels)) params[`label.${k}`] = v;
  const read = await readPages<Partial<AlarmItem>>(api, '/api/v1/alarms', params, { all: values.all === true, limit: list.list.limit, cursor: list.list.cursor });
  if (!read.ok) return fail(read.failure);
  if (values.json) {
    out(json(read.page));
    return EXIT.ok;
  }
  out(renderAlarms(read.page.items, style));
  if (read.page.next_cursor !== null) err(`more alarms: --cursor ${read.page.next_cursor} for the next page, or --all\n`);
  return EXIT.ok;
}
