/**
 * @module http/alertmanager-api-routes
 * The read side of the Alertmanager v2 API, so `amtool --alertmanager.url=<tocsin> alert query` works:
 * GET /api/v2/status (cluster disabled, no peers) and GET /api/v2/alerts (tocsin's firing alarm states in
 * Alertmanager's gettableAlert shape, filtered by `active`, `silenced`, `inhibited`, `unprocessed`,
 * `filter` matchers and `receiver`, sorted by fingerprint as Alertmanager does). The write side,
 * POST /api/v2/alerts, is the `prometheus` ingest format. Same auth as ingest: with sources configured,
 * each source sees only its own alarms.
 */
import { RE2JS } from 're2js';
import { Hono } from 'hono';
import type { Alarm } from '../domain/alarm.ts';
import { labelSetFingerprint } from '../ingest/am-fingerprint.ts';
import { GO_ZERO_TIME_MS } from '../ingest/prometheus.ts';
import type { AlarmState } from '../lifecycle/state.ts';
import type { LifecycleStore } from '../outbox/lifecycle-store.ts';
import type { AuthResult } from './auth.ts';
import { errorResponse } from './errors.ts';

export interface AlertmanagerApiDeps {
  readonly states: Pick<LifecycleStore, 'list'>;
  readonly authenticate: (authorization: string | undefined) => AuthResult;
  /** tocsin's version (versionInfo.version). */
  readonly version: string;
  readonly now: () => number;
}

/** Alertmanager's gettableAlert (api/v2/openapi.yaml). */
export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  fingerprint: string;
  receivers: { name: string }[];
  status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
  generatorURL?: string;
}

const iso = (t: number) => new Date(t).toISOString();

/**
 * An alarm state and its latest occurrence → Alertmanager's gettableAlert. Labels gain `alertname` (the
 * alarm's name) when they lack it; annotations gain the alarm's summary/description when they lack them.
 * The fingerprint is that of the labels shown (for Prometheus and Alertmanager alarms: their dedup key).
 * startsAt: when the current status began, or the occurrence's own start if earlier (Prometheus' startsAt);
 * endsAt: a firing alarm's expiry (Go's zero time when it has none), a resolved one's end; updatedAt:
 * last seen. Receivers: the methods the alarm goes to. A silenced alarm is `suppressed`.
 */
export function toGettableAlert(state: AlarmState, alarm: Alarm): GettableAlert {
  const labels: Record<string, string> = { ...alarm.labels };
  if (!Object.hasOwn(labels, 'alertname')) labels.alertname = alarm.name;
  const annotations: Record<string, string> = { ...alarm.annotations };
  if (alarm.summary !== undefined && !Object.hasOwn(annotations, 'summary')) annotations.summary = alarm.summary;
  if (alarm.description !== undefined && !Object.hasOwn(annotations, 'description')) annotations.description = alarm.description;
  const endsAt = state.status === 'firing' ? (state.endsAt ?? GO_ZERO_TIME_MS) : (alarm.endsAt ?? state.since);
  const generatorURL = alarm.details?.generatorURL;
  return {
    labels,
    annotations,
    startsAt: iso(Math.min(state.since, alarm.occurredAt)),
    endsAt: iso(endsAt),
    updatedAt: iso(state.lastSeen),
    fingerprint: labelSetFingerprint(labels),
    receivers: Object.keys(state.methods).sort().map((name) => ({ name })),
    status: state.silencedBy !== undefined
      ? { state: 'suppressed', silencedBy: [state.silencedBy], inhibitedBy: [] }
      : { state: 'active', silencedBy: [], inhibitedBy: [] },
    ...(typeof generatorURL === 'string' && generatorURL !== '' && { generatorURL }),
  };
}

/** One label matcher as Alertmanager reads a `filter` (pkg/labels ParseMatcher): `name="value"`, `name=~"re"`, … */
export interface LabelMatcher {
  readonly name: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
  matches(v: string): boolean;
}

const MATCHER = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*([\s\S]*?)\s*$/;
/** Longest matcher or receiver regex accepted (they run against every alarm listed). */
const MAX_PATTERN = 1024;

/** A compiled matcher regex: `test` is a match of the whole value, as Alertmanager anchors them. */
interface Anchored {
  test(value: string): boolean;
}

/**
 * An anchored regex, compiled as Alertmanager does: RE2 (re2js), whose matching time is linear in the
 * input, so no pattern can stall the relay (a JavaScript RegExp can backtrack for ever), and whose
 * syntax is Go's (`(?i)` flags included). Undefined when RE2 cannot compile it.
 */
function anchored(re: string): Anchored | undefined {
  try {
    const compiled = RE2JS.compile(re);
    return { test: (value) => compiled.matches(value) };
  } catch {
    return undefined;
  }
}

/** Parses one matcher (Alertmanager's syntax and unescaping); a string saying what is wrong otherwise. */
export function parseMatcher(s: string): LabelMatcher | string {
  if (s.length > MAX_PATTERN) return `is longer than ${MAX_PATTERN} characters`;
  const m = MATCHER.exec(s);
  if (!m) return `bad matcher format: ${s}`;
  const name = m[1]!;
  const op = m[2] as LabelMatcher['op'];
  let raw = m[3]!;
  let quoted = false;
  if (raw.startsWith('"')) {
    raw = raw.slice(1);
    quoted = true;
  }
  let value = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && i < raw.length - 1) {
      const n = raw[++i]!;
      value += n === 'n' ? '\n' : n === '"' || n === '\\' ? n : `\\${n}`;
    } else if (c === '"') {
      if (!quoted || i < raw.length - 1) return `matcher value contains unescaped double quote: ${m[3]}`;
      quoted = false;
    } else value += c;
  }
  if (quoted) return `matcher value contains unescaped double quote: ${m[3]}`;
  if (op === '=' || op === '!=') {
    return { name, op, value, matches: (v) => (v === value) === (op === '=') };
  }
  const re = anchored(value);
  if (!re) return `invalid regular expression: ${value}`;
  return { name, op, value, matches: (v) => re.test(v) === (op === '=~') };
}

/** Go's strconv.ParseBool. */
function parseBool(s: string | undefined): boolean | undefined | 'bad' {
  if (s === undefined) return undefined;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(s)) return false;
  return 'bad';
}

const PAGE = 1000;

export function alertmanagerApiRoutes(deps: AlertmanagerApiDeps): Hono {
  const app = new Hono();
  const startedAt = deps.now();

  app.get('/api/v2/status', (c) => {
    const auth = deps.authenticate(c.req.header('authorization'));
    if (!auth.ok) return errorResponse(c, 'unauthorized', auth.message);
    return c.json({
      cluster: { status: 'disabled', peers: [] },
      versionInfo: { version: deps.version, revision: '', branch: '', buildUser: '', buildDate: '', goVersion: 'none (tocsin)' },
      // tocsin's config is not Alertmanager's, and holds secrets: nothing is shown.
      config: { original: '' },
      uptime: iso(startedAt),
    });
  });

  app.get('/api/v2/alerts', (c) => {
    const auth = deps.authenticate(c.req.header('authorization'));
    if (!auth.ok) return errorResponse(c, 'unauthorized', auth.message);
    const flags: Record<string, boolean> = {};
    // inhibited and unprocessed are read and checked, and change nothing: tocsin inhibits nothing and
    // processes every alarm as it accepts it.
    for (const k of ['active', 'silenced', 'inhibited', 'unprocessed']) {
      const v = parseBool(c.req.query(k));
      if (v === 'bad') return errorResponse(c, 'invalid_request', `${k} must be true or false`, { field: k });
      flags[k] = v ?? true;
    }
    const matchers: LabelMatcher[] = [];
    for (const f of c.req.queries('filter') ?? []) {
      const m = parseMatcher(f);
      if (typeof m === 'string') return errorResponse(c, 'invalid_request', `filter ${m}`, { field: 'filter' });
      matchers.push(m);
    }
    const receiverParam = c.req.query('receiver');
    let receiver: Anchored | undefined;
    if (receiverParam !== undefined && receiverParam !== '') {
      receiver = receiverParam.length > MAX_PATTERN ? undefined : anchored(receiverParam);
      if (!receiver) return errorResponse(c, 'invalid_request', 'receiver must be a regular expression (at most 1024 characters)', { field: 'receiver' });
    }
    const out: GettableAlert[] = [];
    let after: readonly [string, string] | undefined;
    for (;;) {
      // Resolved alarms are not listed, as in Alertmanager (an alert whose endsAt has passed is not shown).
      const rows = deps.states.list({ status: 'firing', ...(auth.source !== undefined && { source: auth.source }), ...(after && { after }), limit: PAGE });
      for (const { state, alarm } of rows) {
        const a = toGettableAlert(state, alarm);
        const silenced = a.status.state === 'suppressed';
        if (silenced ? !flags.silenced : !flags.active) continue;
        if (!matchers.every((m) => m.matches(Object.hasOwn(a.labels, m.name) ? a.labels[m.name]! : ''))) continue;
        if (receiver && !a.receivers.some((r) => receiver.test(r.name))) continue;
        out.push(a);
      }
      const last = rows[rows.length - 1];
      if (rows.length < PAGE || !last) break;
      after = [last.state.source, last.state.dedupKey];
    }
    out.sort((x, y) => (x.fingerprint < y.fingerprint ? -1 : x.fingerprint > y.fingerprint ? 1 : 0));
    return c.json(out);
  });

  return app;
}
