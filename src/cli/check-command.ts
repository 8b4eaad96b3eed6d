/**
 * @module cli/check-command
 * `tocsin check add|list|pause|resume|remove`: the heartbeat checks (issue #15) of a RUNNING relay, through
 * its admin API (src/http/check-admin-routes.ts), as `tocsin silence` does it: --url / $TOCSIN_URL,
 * --token / $TOCSIN_TOKEN (never printed), the global fetch. The command line is checked here (a problem is
 * a usage error, exit 2); the relay's errors are printed in its own words (exit 1).
 */
import { parseDuration } from '../lib/duration.ts';
import type { CheckView } from '../app/checks-api.ts';
import { adminCommand, isoSeconds, oneLine, renderRows } from './admin-client.ts';

export type CheckSubcommand = 'add' | 'list' | 'pause' | 'resume' | 'remove';

/** The options of main.ts's OPTIONS table that the check commands read. */
export interface CheckValues {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
  readonly period?: string;
  readonly schedule?: string;
  readonly tz?: string;
  readonly grace?: string;
  readonly label?: readonly string[];
}

export interface CheckCommandOptions {
  readonly command: CheckSubcommand;
  /** The positional arguments after `check <command>` (the NAME). */
  readonly args: readonly string[];
  readonly values: CheckValues;
  /** TOCSIN_URL, TOCSIN_TOKEN. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The command's usage, printed after a usage error. */
  readonly usage: string;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
}

/** The grace time of `check add` without --grace. */
export const DEFAULT_GRACE = '1m';

// ---- the command line --------------------------------------------------------------------------

/** `--label k=v`, each name once; the relay checks the names further. */
export function parseLabels(args: readonly string[]): { ok: true; labels: Record<string, string> } | { ok: false; problem: string } {
  const labels = new Map<string, string>();
  for (const arg of args) {
    const at = arg.indexOf('=');
    const name = at < 0 ? '' : arg.slice(0, at).trim();
    if (name === '') return { ok: false, problem: `--label must be NAME=VALUE, not "${oneLine(arg, 40)}"` };
    if (labels.has(name)) return { ok: false, problem: `the label "${oneLine(name, 40)}" is given twice` };
    labels.set(name, arg.slice(at + 1));
  }
  return { ok: true, labels: Object.fromEntries(labels) };
}

/** Milliseconds as the config writes a duration: 1d, 1h30m, 90s, 500ms. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return String(ms);
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

// ---- output ------------------------------------------------------------------------------------

/** "every 5m", or "0 3 * * * Europe/Berlin". */
function scheduleText(c: Partial<CheckView>): string {
  if (typeof c.period_ms === 'number') return `every ${formatDuration(c.period_ms)}`;
  if (c.schedule !== undefined) return oneLine(`${c.schedule}${c.tz ? ` ${c.tz}` : ''}`, 60);
  return '-';
}

/** "up", "down (missing)", "paused". */
function statusText(c: Partial<CheckView>): string {
  return oneLine(`${c.status ?? '?'}${c.down_reason ? ` (${c.down_reason})` : ''}`, 30);
}

/** The columns NAME, STATUS, SCHEDULE, GRACE, LAST PING, PING PATH; one check a line. */
export function renderTable(checks: readonly Partial<CheckView>[]): string {
  if (checks.length === 0) return 'no checks\n';
  const rows = [
    ['NAME', 'STATUS', 'SCHEDULE', 'GRACE', 'LAST PING', 'PING PATH'],
    ...checks.map((c) => [
      oneLine(c.name, 60),
      statusText(c),
      scheduleText(c),
      typeof c.grace_ms === 'number' ? formatDuration(c.grace_ms) : '-',
      c.last_ping_at ? isoSeconds(String(c.last_ping_at)) : 'never',
      oneLine(c.ping_path ?? '-'),
    ]),
  ];
  return renderRows(rows);
}

// ---- the commands ------------------------------------------------------------------------------

/** Runs `tocsin check <command>`; returns the exit code (0 done, 1 the relay's error or unreachable, 2 usage). */
export async function checkCommand(opts: CheckCommandOptions): Promise<number> {
  const cmd = adminCommand('check', opts);
  if (!cmd.ok) return cmd.code;
  const { out, usageError, base, api, fail: failed, json } = cmd;
  const { values } = opts;

  // Every command but list takes one NAME (main.ts lets no second one through).
  const name = opts.args[0];
  if (opts.command !== 'list') {
    if (name === undefined) return usageError("the check's NAME is required");
    if (name.trim() === '') return usageError("the check's NAME must not be empty");
  }
  const path = name === undefined ? '' : `/${encodeURIComponent(name)}`;

  let newCheck: Record<string, unknown> | undefined;
  if (opts.command === 'add') {
    const { period, schedule, tz } = values;
    if (period !== undefined && schedule !== undefined) return usageError('give either --period or --schedule, not both');
    if (period === undefined && schedule === undefined) return usageError('--period D or --schedule CRON is required');
    if (tz !== undefined && schedule === undefined) return usageError('--tz goes only with --schedule');
    if (period !== undefined && !(parseDuration(period) !== undefined && parseDuration(period)! > 0)) {
      return usageError(`--period must be a duration like 30s, 5m, 1h or 1d, not "${oneLine(period, 40)}"`);
    }
    if (schedule !== undefined && schedule.trim() === '') return usageError('--schedule must be a cron expression like "0 3 * * *"');
    if (tz !== undefined && tz.trim() === '') return usageError('--tz must be an IANA time zone like Europe/Berlin');
    const grace = values.grace ?? DEFAULT_GRACE;
    if (parseDuration(grace) === undefined) return usageError(`--grace must be a duration like 30s, 5m, 1h or 1d, not "${oneLine(grace, 40)}"`);
    const labels = parseLabels(values.label ?? []);
    if (!labels.ok) return usageError(labels.problem);
    newCheck = {
      name,
      ...(period !== undefined && { period: period.trim() }),
      ...(schedule !== undefined && { schedule: schedule.trim() }),
      ...(tz !== undefined && { tz: tz.trim() }),
      grace: grace.trim(),
      ...(Object.keys(labels.labels).length > 0 && { labels: labels.labels }),
    };
  }

  switch (opts.command) {
    case 'add': {
      const a = await api.request('POST', '/api/v1/checks', newCheck);
      if (!a.ok) return failed(a);
      const pingPath = (a.body as { ping_path?: unknown }).ping_path;
      // The ping URL alone, for scripts: url=$(tocsin check add backup --period 1d)
      out(values.json ? json(a.body) : `${base.href.replace(/\/+$/, '')}${oneLine(pingPath)}\n`);
      return 0;
    }
    case 'list': {
      const a = await api.request('GET', '/api/v1/checks');
      if (!a.ok) return failed(a);
      const checks = (a.body as { checks?: unknown }).checks;
      if (!Array.isArray(checks)) return failed({ ok: false, status: a.status, message: `${a.status} an answer without "checks" (is ${base.href} a tocsin relay?)` });
      out(values.json ? json(a.body) : renderTable(checks as Partial<CheckView>[]));
      return 0;
    }
    case 'pause':
    case 'resume':
    case 'remove': {
      const a = opts.command === 'remove'
        ? await api.request('DELETE', `/api/v1/checks${path}`)
        : await api.request('POST', `/api/v1/checks${path}/${opts.command}`);
      if (!a.ok) return failed(a);
      const done = { pause: 'paused', resume: 'resumed', remove: 'removed' }[opts.command];
      out(values.json ? json(a.body) : `${done} ${oneLine(name)}\n`);
      return 0;
    }
  }
}
