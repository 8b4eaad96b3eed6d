/**
 * @module cli/methods-command
 * `tocsin methods [list]|show NAME|add NAME|remove NAME` and `tocsin test-method NAME --url`: the
 * notification methods of a RUNNING relay through its admin API (`/api/v1/methods`). Secrets come back
 * masked ("***"). A method added here is kept in the relay's database and checked as the config file's
 * would be; a method of the file is read-only (the relay answers 409). `add` builds the method from
 * `--file` (YAML or JSON, a method as written in the config), `--type` and `--set key=value` (a YAML
 * scalar; a dotted key sets a nested one: `--set headers.X-Team=ops`).
 */
import { readFileSync } from 'node:fs';
import { adminCommand, defaultBy, isoSeconds, oneLine, type AdminCommandOptions } from './admin-client.ts';
import { EXIT } from './exit-codes.ts';
import { renderFields, renderTable, styleFor, type TableStyle } from './table.ts';

export type MethodsSubcommand = 'list' | 'show' | 'add' | 'remove' | 'test';

export interface MethodsValues {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
  readonly type?: string;
  readonly set?: readonly string[];
  readonly file?: string;
  readonly by?: string;
}

export interface MethodsCommandOptions extends AdminCommandOptions {
  readonly command: MethodsSubcommand;
  /** The positional arguments after `methods <command>` (the NAME). */
  readonly args: readonly string[];
  readonly values: MethodsValues;
  /** Default: the style of process.stdout. */
  readonly style?: TableStyle;
  /** Default: readFileSync as UTF-8 (for --file). */
  readonly readFile?: (path: string) => string;
  /** Default: os.hostname (for the default --by). */
  readonly hostname?: () => string;
}

/** One method of `GET /api/v1/methods`. */
export interface MethodItem {
  name: string;
  type: string;
  origin: string;
  settings: Record<string, unknown>;
  created_at: string | null;
  created_by: string | null;
}

const valueText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** `url=***, timeout=5s`. */
export function settingsText(settings: unknown): string {
  if (settings === null || typeof settings !== 'object') return '';
  return Object.entries(settings as Record<string, unknown>).map(([k, v]) => `${k}=${valueText(v)}`).join(', ');
}

/** NAME, TYPE, ORIGIN, CREATED, CREATED BY, SETTINGS. */
export function renderMethods(items: readonly Partial<MethodItem>[], style: TableStyle = {}): string {
  if (items.length === 0) return 'no methods\n';
  return renderTable(
    [{ header: 'NAME', max: 60 }, { header: 'TYPE' }, { header: 'ORIGIN' }, { header: 'CREATED' }, { header: 'CREATED BY', max: 40 }, { header: 'SETTINGS', flex: true, max: 300 }],
    items.map((m) => [m.name, m.type, m.origin, m.created_at ? isoSeconds(m.created_at) : null, m.created_by, settingsText(m.settings)]),
    style,
  );
}

/** One method: its fields, then each setting on a line. */
export function renderMethod(m: Partial<MethodItem>): string {
  const settings = m.settings && typeof m.settings === 'object' ? Object.entries(m.settings) : [];
  return renderFields([
    ['name', m.name], ['type', m.type], ['origin', m.origin], ['created at', m.created_at ? isoSeconds(m.created_at) : null], ['created by', m.created_by],
  ]) + `settings:\n${settings.map(([k, v]) => `  ${k}: ${oneLine(valueText(v))}\n`).join('')}`;
}

/** Sets `key` (dotted: nested) in `target`; the problem if a part of the path is not a mapping. */
function setPath(target: Record<string, unknown>, key: string, value: unknown): string | undefined {
  const parts = key.split('.');
  let at = target;
  for (const part of parts.slice(0, -1)) {
    const next = at[part] ?? (at[part] = {});
    if (next === null || typeof next !== 'object' || Array.isArray(next)) return `--set ${key}: "${part}" is not a mapping`;
    at = next as Record<string, unknown>;
  }
  at[parts.at(-1)!] = value;
  return undefined;
}

/**
 * The method to add: the --file's mapping, then --type, then each --set (its value read as YAML: 5 is a
 * number, true a boolean, "5" a string; what YAML cannot read stays text).
 */
export async function buildMethod(values: MethodsValues, readFile: (path: string) => string): Promise<{ ok: true; method: Record<string, unknown> } | { ok: false; problem: string }> {
  const { parse } = await import('yaml');
  let method: Record<string, unknown> = {};
  if (values.file !== undefined) {
    let text: string;
    try {
      text = readFile(values.file);
    } catch (e) {
      return { ok: false, problem: `--file ${values.file}: ${oneLine((e as { code?: string; message?: string }).code ?? (e as Error).message)}` };
    }
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (e) {
      return { ok: false, problem: `--file ${values.file} is neither YAML nor JSON: ${oneLine((e as Error).message, 200)}` };
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { ok: false, problem: `--file ${values.file} must hold one method: a mapping like "type: webhook" and its settings` };
    method = doc as Record<string, unknown>;
  }
  if (values.type !== undefined) {
    if (values.type.trim() === '') return { ok: false, problem: '--type must not be empty' };
    method.type = values.type.trim();
  }
  for (const arg of values.set ?? []) {
    const at = arg.indexOf('=');
    const key = at < 0 ? '' : arg.slice(0, at).trim();
    if (key === '' || key.split('.').some((p) => p === '')) return { ok: false, problem: `--set must be KEY=VALUE, not "${oneLine(arg, 40)}"` };
    const raw = arg.slice(at + 1);
    let value: unknown = raw;
    try {
      const parsed = parse(raw) as unknown;
      // A mapping or list stays text, and so does what YAML drops as a comment (#alerts).
      if (parsed === null ? /^\s*(null|Null|NULL|~)\s*$/.test(raw) : typeof parsed !== 'object') value = parsed;
    } catch {
      value = raw;
    }
    const problem = setPath(method, key, value);
    if (problem) return { ok: false, problem };
  }
  if (typeof method.type !== 'string' || method.type === '') return { ok: false, problem: "the method's type is required: --type T (webhook, slack, pagerduty, email, ...) or type: in --file" };
  return { ok: true, method };
}

/** Runs `tocsin methods <command>` (and `tocsin test-method NAME --url`); returns the exit code (see exit-codes.ts). */
export async function methodsCommand(opts: MethodsCommandOptions): Promise<number> {
  const group = opts.command === 'test' ? 'test-method' : 'methods';
  const cmd = adminCommand(group, { ...opts, command: opts.command === 'test' || opts.command === 'list' ? '' : opts.command });
  if (!cmd.ok) return cmd.code;
  const { out, err, usageError, api, fail, json } = cmd;
  const { values } = opts;
  const style = opts.style ?? styleFor(process.stdout, opts.env);

  const name = opts.args[0]?.trim();
  if (opts.command !== 'list' && (name === undefined || name === '')) return usageError("the method's NAME is required");
  const path = `/api/v1/methods${name ? `/${encodeURIComponent(name)}` : ''}`;

  switch (opts.command) {
    case 'list': {
      const a = await api.request('GET', '/api/v1/methods');
      if (!a.ok) return fail(a);
      const items = (a.body as { items?: unknown } | null)?.items;
      if (!Array.isArray(items)) return fail({ ok: false, status: a.status, message: `${a.status} an answer without "items" (is the relay a tocsin relay of this version?)` });
      out(values.json ? json(a.body) : renderMethods(items as Partial<MethodItem>[], style));
      return EXIT.ok;
    }
    case 'show': {
      const a = await api.request('GET', path);
      if (!a.ok) return fail(a);
      out(values.json ? json(a.body) : renderMethod(a.body as Partial<MethodItem>));
      return EXIT.ok;
    }
    case 'add': {
      const built = await buildMethod(values, opts.readFile ?? ((p) => readFileSync(p, 'utf8')));
      if (!built.ok) return usageError(built.problem);
      const by = values.by?.trim() || defaultBy(opts.env, opts.hostname);
      const a = await api.request('POST', '/api/v1/methods', { name, by, method: built.method });
      if (!a.ok) return fail(a);
      out(values.json ? json(a.body) : `added ${oneLine(name)} (${oneLine((a.body as Partial<MethodItem>).type ?? built.method.type)})\n`);
      return EXIT.ok;
    }
    case 'remove': {
      const a = await api.request('DELETE', path);
      if (!a.ok) return fail(a);
      out(values.json ? json({ removed: name }) : `removed ${oneLine(name)}\n`);
      return EXIT.ok;
    }
    case 'test': {
      const a = await api.request('POST', `${path}/test`);
      if (!a.ok) return fail(a);
      const r = a.body as { ok?: unknown; status?: unknown; latency_ms?: unknown; error?: unknown; retryable?: unknown } | null;
      if (typeof r?.ok !== 'boolean') return fail({ ok: false, status: a.status, message: `${a.status} an answer without "ok" (is the relay a tocsin relay of this version?)` });
      if (values.json) out(json(r));
      if (r.ok) {
        const how = [typeof r.status === 'number' && `HTTP ${r.status}`, typeof r.latency_ms === 'number' && `${r.latency_ms} ms`].filter(Boolean).join(', ');
        if (!values.json) out(`${oneLine(name)}: sent${how ? ` (${how})` : ''}\n`);
        return EXIT.ok;
      }
      err(`${oneLine(name)}: failed, ${r.retryable === true ? 'would be retried' : 'permanent'}: ${oneLine(r.error, 500)}\n`);
      return EXIT.failed;
    }
  }
}
