/**
 * @module cli/reload-command
 * `tocsin reload`: asks a RUNNING relay to re-read its config file (`POST /-/reload`, as SIGHUP does) and
 * prints what changed: the methods added, removed and changed, and the settings that need a restart. An
 * invalid file is refused by the relay, which keeps running on its configuration: its problems are
 * printed one a line (exit 1).
 */
import { adminCommand, oneLine, type AdminCommandOptions } from './admin-client.ts';
import { EXIT } from './exit-codes.ts';

export interface ReloadValues {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
}

export interface ReloadCommandOptions extends AdminCommandOptions {
  readonly values: ReloadValues;
}

export interface ReloadAnswer {
  status?: string;
  methods?: { added?: unknown; removed?: unknown; changed?: unknown };
  restart_needed?: unknown[];
}

/** The names of a list (or a count). */
function names(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map((n) => oneLine(n, 80)).join(', ');
  if (typeof v === 'number') return v === 0 ? undefined : String(v);
  return undefined;
}

/** "reloaded the configuration" and a line per change. */
export function renderReload(body: ReloadAnswer): string {
  const lines = ['reloaded the configuration'];
  const changes = (['added', 'removed', 'changed'] as const).flatMap((k) => {
    const n = names(body.methods?.[k]);
    return n === undefined ? [] : [`  methods ${k}: ${n}`];
  });
  lines.push(...(changes.length === 0 ? ['  methods: no change'] : changes));
  const restart = Array.isArray(body.restart_needed) ? body.restart_needed : [];
  if (restart.length > 0) lines.push(`  a restart is needed to apply: ${restart.map((r) => oneLine(r, 120)).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** Runs `tocsin reload`; returns the exit code (see exit-codes.ts). */
export async function reloadCommand(opts: ReloadCommandOptions): Promise<number> {
  const cmd = adminCommand('reload', { ...opts, command: '' });
  if (!cmd.ok) return cmd.code;
  const { out, err, api, fail, json } = cmd;
  const a = await api.request('POST', '/-/reload');
  if (!a.ok) {
    if (opts.values.json && a.body !== undefined) out(json(a.body));
    const code = fail(a);
    const issues = (a.body as { issues?: unknown } | undefined)?.issues;
    if (Array.isArray(issues)) for (const i of issues) err(`  ${oneLine(i, 500)}\n`);
    return code;
  }
  out(opts.values.json ? json(a.body) : renderReload(a.body as ReloadAnswer));
  return EXIT.ok;
}
