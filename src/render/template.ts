/**
 * @module render/template
 * Message templates (eta): compiled once, rendered per delivery with the same variables for every
 * channel, and checked at startup against a sample alarm, so a template that does not compile or calls
 * an unknown helper is a config error naming its line, never a surprise at 3 a.m.
 *
 * Variables (`it.`): `alarm` (the first alarm, as the envelope writes it: id, source, name, severity,
 * status, summary, description, labels, annotations, occurred_at, received_at, dedup_key, details),
 * `alarms` (all of them: grouping hands a channel several), `status` (firing | resolved), `method`,
 * `attempt`, `notification_id`, `repeat` (0, or n for the n-th reminder of a still-firing alarm). Helpers (plain names): `json(x)`, `truncate(s, n)`,
 * `time(t, format?, zone?)`, `label(name, default?)`, `severityEmoji(severity?)`.
 */
import { Eta, type TemplateFunction } from 'eta';
import { alarmToJson, type Alarm, type AlarmJson, type Severity } from '../domain/alarm.ts';
import type { Delivery } from '../domain/notification.ts';

/** The parts a channel renders (each channel uses some of them). */
export const TEMPLATE_PARTS = ['title', 'text', 'html', 'body'] as const;
export type TemplatePart = (typeof TEMPLATE_PARTS)[number];

/** Template sources by part. */
export type MessageTemplates = Readonly<Partial<Record<TemplatePart, string>>>;

/** A channel's default templates, per status, and which of its parts are HTML (auto-escaped). */
export interface ChannelTemplates {
  readonly parts: readonly TemplatePart[];
  readonly firing: MessageTemplates;
  readonly resolved: MessageTemplates;
  readonly html?: readonly TemplatePart[];
  /** Parts whose output must be JSON (checked at startup). */
  readonly json?: readonly TemplatePart[];
}

/** A template that does not compile or throws; the message names the line when eta knows it. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export interface TemplateVars {
  readonly alarm: AlarmJson;
  readonly alarms: readonly AlarmJson[];
  readonly status: 'firing' | 'resolved';
  readonly method: string;
  readonly attempt: number;
  readonly notification_id: string;
  /** 0: a state change; n: the n-th reminder (repeat_interval). */
  readonly repeat: number;
}

const EMOJI: Readonly<Record<Severity, string>> = { critical: '🚨', error: '🔴', warning: '🟠', info: 'ℹ️' };

/** The helpers a template calls by name. */
function helpers(vars: TemplateVars, zone: string) {
  return {
    json: (x: unknown): string => JSON.stringify(x) ?? 'null',
    truncate: (s: unknown, n: number): string => {
      const t = String(s ?? '');
      return t.length > n ? `${t.slice(0, Math.max(0, n - 1))}…` : t;
    },
    time: (t: unknown, format = 'YYYY-MM-DD HH:mm:ss z', tz?: string): string => formatTime(t, format, tz ?? zone),
    label: (name: string, fallback = ''): string => vars.alarm.labels[name] ?? fallback,
    severityEmoji: (severity: string = vars.alarm.severity): string => (vars.status === 'resolved' ? '✅' : (EMOJI[severity as Severity] ?? '')),
  };
}
const HELPER_NAMES = Object.keys(helpers({ alarm: { labels: {} } } as unknown as TemplateVars, 'UTC'));

/** Is `zone` an IANA time zone this runtime knows? */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Tokens: YYYY MM DD HH mm ss (24 h), z (zone name), and `iso` alone for RFC 3339 UTC. */
export function formatTime(t: unknown, format: string, zone: string): string {
  const ms = typeof t === 'number' ? t : Date.parse(String(t));
  if (!Number.isFinite(ms)) return String(t ?? '');
  const d = new Date(ms);
  if (format === 'iso') return d.toISOString();
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZoneName: 'short',
    })
      .formatToParts(d)
      .map((p) => [p.type, p.value]),
  );
  const map: Record<string, string> = { YYYY: parts.year!, MM: parts.month!, DD: parts.day!, HH: parts.hour === '24' ? '00' : parts.hour!, mm: parts.minute!, ss: parts.second!, z: parts.timeZoneName! };
  return format.replace(/YYYY|MM|DD|HH|mm|ss|z/g, (k) => map[k]!);
}

const engines = new Map<boolean, Eta>();
function engine(html: boolean): Eta {
  let e = engines.get(html);
  if (!e) {
    e = new Eta({
      autoEscape: html,
      autoTrim: false,
      debug: true,
      useWith: false,
      varName: 'it',
      // The helpers as plain names; `it.$` is never shown to the template author.
      functionHeader: `const { ${HELPER_NAMES.join(', ')} } = it.$;`,
    });
    engines.set(html, e);
  }
  return e;
}

/** One compiled template. */
export interface CompiledTemplate {
  render(vars: TemplateVars, zone: string): string;
}

/** Compiles once; throws TemplateError (with the line) when the template does not parse. */
export function compileTemplate(source: string, opts: { readonly html: boolean }): CompiledTemplate {
  const eta = engine(opts.html);
  let fn: TemplateFunction;
  try {
    fn = eta.compile(source);
  } catch (e) {
    throw new TemplateError(syntaxLine(eta, source) ?? cleanMessage(e));
  }
  return {
    render(vars, zone) {
      try {
        return eta.render(fn, { ...vars, $: helpers(vars, zone) });
      } catch (e) {
        throw new TemplateError(cleanMessage(e));
      }
    },
  };
}

/** eta's message, one line, without its echo of the template: "line 3: foo is not defined". */
function cleanMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const lines = msg.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const runtime = /^line (\d+)$/.exec(lines[0] ?? '');
  if (runtime) return `line ${runtime[1]}: ${lines.at(-1)}`;
  // A JavaScript syntax error inside a tag: eta knows no line for it.
  if (lines[0] === 'Bad template syntax') return `bad template syntax: ${lines[1] ?? ''}`;
  return (lines[0] ?? msg).replace(/:$/, '');
}

type Tag = { t: string; val: string; lineNo?: number };

/**
 * A JavaScript syntax error inside a tag: eta knows no line for it, so each interpolation (`<%= %>`,
 * `<%~ %>`) is compiled alone; the first that fails names the line. (A `<% %>` block may open what a later
 * one closes: those are not checked alone.)
 */
function syntaxLine(eta: Eta, source: string): string | undefined {
  let tags: Tag[];
  try {
    tags = eta.parse(source).filter((x): x is Tag => typeof x !== 'string');
  } catch {
    return undefined;
  }
  for (const tag of tags) {
    if (tag.t !== 'i' && tag.t !== 'r') continue;
    try {
      new Function(`return (${tag.val}\n);`);
    } catch (e) {
      return `line ${tag.lineNo ?? '?'}: bad template syntax: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  return undefined;
}

/** Names the template calls as functions: its helpers, JavaScript's globals, and what it declares itself. */
const KEYWORDS = new Set(['if', 'for', 'while', 'switch', 'catch', 'function', 'return', 'typeof', 'new', 'await', 'void', 'delete', 'in', 'of', 'do', 'else', 'throw', 'case']);

/**
 * Calls of names that are neither helpers, globals nor declared in the template: `line N: unknown helper
 * foo`. Found without running the template, so a call on a branch the sample alarm does not take counts too.
 */
export function unknownHelpers(source: string): string[] {
  let tags: Tag[];
  try {
    tags = engine(false).parse(source).filter((x): x is Tag => typeof x !== 'string');
  } catch {
    return [];
  }
  const code = tags.map((t) => t.val).join('\n');
  const declared = new Set([...code.matchAll(/\b(?:function|const|let|var)\s+([A-Za-z_$][\w$]*)/g)].map((m) => m[1]!));
  for (const m of code.matchAll(/\(\s*([A-Za-z_$][\w$]*)(?:\s*,\s*([A-Za-z_$][\w$]*))*\s*\)\s*=>/g)) for (const n of m.slice(1)) if (n) declared.add(n);
  for (const m of code.matchAll(/\b([A-Za-z_$][\w$]*)\s*=>/g)) declared.add(m[1]!);
  const problems: string[] = [];
  for (const tag of tags) {
    // Strings are left out: a name inside one is no call.
    const val = tag.val.replace(/(["'`])(?:\\.|(?!\1)[^\\])*\1/g, '""');
    for (const m of val.matchAll(/(^|[^.\w$])([A-Za-z_$][\w$]*)\s*\(/g)) {
      const name = m[2]!;
      if (KEYWORDS.has(name) || HELPER_NAMES.includes(name) || declared.has(name) || name in globalThis) continue;
      problems.push(`line ${tag.lineNo ?? '?'}: unknown helper ${name}(); the helpers are ${HELPER_NAMES.join(', ')}`);
    }
  }
  return problems;
}

/** The variables of one delivery. */
export function templateVars(d: Pick<Delivery, 'alarms' | 'method' | 'attempt' | 'notificationId' | 'repeat'>): TemplateVars {
  const alarms = d.alarms.map(alarmToJson);
  const alarm = alarms[0]!;
  return { alarm, alarms, status: alarm.status, method: d.method, attempt: d.attempt, notification_id: d.notificationId, repeat: d.repeat ?? 0 };
}

/** A method's templates: its overrides over its channel's defaults, compiled. */
export interface Renderer {
  /** Which parts this method renders. */
  readonly parts: readonly TemplatePart[];
  /** The part for this delivery; undefined when the channel has no template for it. Throws TemplateError. */
  render(part: TemplatePart, d: Pick<Delivery, 'alarms' | 'method' | 'attempt' | 'notificationId' | 'repeat'>): string | undefined;
}

export function createRenderer(channel: ChannelTemplates, overrides: MessageTemplates, zone: string): Renderer {
  const html = new Set(channel.html ?? []);
  const compiled = new Map<string, CompiledTemplate>();
  for (const status of ['firing', 'resolved'] as const) {
    for (const part of channel.parts) {
      const source = overrides[part] ?? channel[status][part];
      if (source !== undefined) compiled.set(`${status}:${part}`, compileTemplate(source, { html: html.has(part) }));
    }
  }
  return {
    parts: channel.parts,
    render(part, d) {
      // Most deliveries have no template for the part (a webhook's envelope): then nothing is built.
      const t = compiled.get(`${d.alarms[0]!.status}:${part}`);
      return t?.render(templateVars(d), zone);
    },
  };
}

/** A sample alarm (firing and resolved) that a template must render at startup. */
export function sampleAlarm(status: 'firing' | 'resolved'): Alarm {
  return {
    id: 'alm_sample', source: 'sample', name: 'SampleAlarm', severity: 'warning', status, summary: 'a sample alarm that checks the templates',
    description: 'Rendered once at startup.', labels: { host: 'db-1', team: 'sre' }, annotations: { runbook: 'https://runbooks.example/sample' },
    occurredAt: Date.UTC(2026, 0, 1), receivedAt: Date.UTC(2026, 0, 1), dedupKey: 'sample', details: {},
  };
}

/**
 * Compiles and renders every part of a method's templates with the sample alarm, firing and resolved.
 * Returns the problems as [part, message]: compile and render errors with their line, and JSON parts
 * whose output does not parse.
 */
export function checkTemplates(channel: ChannelTemplates, overrides: MessageTemplates, zone: string): [TemplatePart, string][] {
  const problems: [TemplatePart, string][] = [];
  const json = new Set(channel.json ?? []);
  for (const part of channel.parts) {
    for (const status of ['firing', 'resolved'] as const) {
      const source = overrides[part] ?? channel[status][part];
      if (source === undefined) continue;
      const unknown = unknownHelpers(source);
      if (unknown.length > 0) {
        problems.push([part, unknown[0]!]);
        break;
      }
      try {
        const out = compileTemplate(source, { html: (channel.html ?? []).includes(part) }).render(
          templateVars({ alarms: [sampleAlarm(status)], method: 'sample', attempt: 1, notificationId: 'ntf_sample' }),
          zone,
        );
        if (json.has(part)) {
          try {
            JSON.parse(out);
          } catch (e) {
            problems.push([part, `the output is not JSON (${e instanceof Error ? e.message : String(e)}) for a ${status} alarm`]);
            break;
          }
        }
      } catch (e) {
        problems.push([part, e instanceof Error ? e.message : String(e)]);
        break;
      }
    }
  }
  return problems;
}
