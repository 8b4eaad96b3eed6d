/**
 * @module ingest/monasca
 * Monasca `alarm-transitioned` messages (as monasca-thresh produces them, and monasca-notification reads
 * them from Kafka) → alarms. Over HTTP: POST /v1/monasca, one message or a JSON array of them.
 */
import { z } from 'zod';
import { MAX_EPOCH_MS, type AlarmInput, type AlarmStatus, type JsonValue, type Severity } from '../domain/alarm.ts';
import { parseDuration } from '../lib/duration.ts';
import { IngestError, issueToIngestError } from './errors.ts';
import { defineFormat } from './format.ts';
import { describe, optString, requiredString } from './fields.ts';
import { parseJsonLossless } from './lossless.ts';
import type { ParsedAlarm, ParseOutcome, SkipReason } from './types.ts';

export const MONASCA_STATES = ['ALARM', 'OK', 'UNDETERMINED'] as const;
export type MonascaState = (typeof MONASCA_STATES)[number];

export const UNDETERMINED_ACTIONS = ['firing', 'resolved', 'ignore'] as const;
export type UndeterminedAction = (typeof UNDETERMINED_ACTIONS)[number];

/** Monasca alarm-definition severity → tocsin severity (a missing severity reads as LOW, monasca's default). */
export const MONASCA_SEVERITY: Readonly<Record<string, Severity>> = {
  LOW: 'info',
  MEDIUM: 'warning',
  HIGH: 'error',
  CRITICAL: 'critical',
};

export interface MonascaOptions {
  /** What an UNDETERMINED transition becomes. */
  readonly undetermined: UndeterminedAction;
  /** Transitions older than this (now − timestamp, in ms) are skipped; 0: never. */
  readonly alarm_ttl: number;
}

export interface MonascaContext {
  readonly source: string;
  /** Epoch ms, for the alarm TTL. */
  readonly now: number;
}

const WRAPPER = 'alarm-transitioned';

// ---- schemas. As in zeebe.ts, a message reads after its field and does not repeat it:
// {"error":"must be one of ALARM, OK, UNDETERMINED, got \"alarm\"","field":"alarm-transitioned.newState"}.

/** An id: a non-empty string, or an integer (monasca's own tests send `alarmDefinitionId: 0`) → its text. */
const idError = (iss: { input?: unknown }) =>
  iss.input == null ? 'is required' : `must be a non-empty string or an integer, got ${describe(iss.input)}`;
const id = z.union([z.string().min(1, { error: idError }), z.number().int({ error: idError })], { error: idError }).transform(String);
const optId = id.nullish().transform((x) => x ?? undefined);

const stateError = (required: boolean) => (iss: { input?: unknown }) =>
  iss.input == null && required ? 'is required' : `must be one of ${MONASCA_STATES.join(', ')}, got ${describe(iss.input)}`;

const epochMsError = (iss: { input?: unknown }) =>
  iss.input == null ? 'is required' : `must be epoch milliseconds, got ${describe(iss.input)}`;

const severities = Object.keys(MONASCA_SEVERITY);
/** LOW | MEDIUM | HIGH | CRITICAL in any case; absent → LOW. */
const severity = z
  .string({ error: (iss) => `must be one of ${severities.join(', ')}, got ${describe(iss.input)}` })
  .nullish()
  .transform((x, ctx) => {
    const s = MONASCA_SEVERITY[(x || 'LOW').toUpperCase()];
    if (s !== undefined) return s;
    ctx.issues.push({ code: 'custom', message: `must be one of ${severities.join(', ')}, got ${describe(x)}`, input: x });
    return z.NEVER;
  });

/** `actionsEnabled`: a boolean, or 0/1 (monasca's own tests send 1); absent → true. */
const actionsEnabled = z
  .union([z.boolean(), z.literal(0), z.literal(1)], { error: (iss) => `must be true or false, got ${describe(iss.input)}` })
  .nullish()
  .transform((x) => (x == null ? true : Boolean(x)));

/** Dimension values: strings; numbers and booleans are turned into their text. */
const dimensions = z
  .record(
    z.string(),
    z.union([z.string(), z.number(), z.boolean()], { error: (iss) => `must be a string, got ${describe(iss.input)}` }).transform(String),
    { error: (iss) => `must be an object of string values, got ${describe(iss.input)}` },
  )
  .nullish()
  .transform((x) => x ?? {});

/** A metric: `{name, dimensions}`, or a plain metric name. */
const metric = z.preprocess(
  (x) => (typeof x === 'string' ? { name: x } : x),
  z.object(
    { name: optString, dimensions },
    { error: (iss) => `must be a metric object {name, dimensions} or a metric name, got ${describe(iss.input)}` },
  ),
);

/** `metrics`: a list of metrics, or a plain metric name (as monasca's own tests send); absent → none. */
const metrics = z.preprocess(
  (x) => (typeof x === 'string' ? [x] : (x ?? [])),
  z.array(metric, { error: (iss) => `must be a list of metrics or a metric name, got ${describe(iss.input)}` }),
);

const transitionSchema = z.object({
  tenantId: optId,
  alarmDefinitionId: optId,
  alarmId: id,
  alarmName: requiredString,
  alarmDescription: optString,
  oldState: z.enum(MONASCA_STATES, { error: stateError(false) }).nullish(),
  newState: z.enum(MONASCA_STATES, { error: stateError(true) }),
  stateChangeReason: optString,
  timestamp: z.number({ error: epochMsError }).int({ error: epochMsError }).min(0, { error: epochMsError }).max(MAX_EPOCH_MS, { error: epochMsError }),
  actionsEnabled,
  severity,
  link: optString,
  lifecycleState: optString,
  metrics,
});

export const messageSchema = z.object(
  {
    [WRAPPER]: z.looseObject(
      {},
      { error: (iss) => (iss.input == null ? 'is required' : `must be a JSON object, got ${describe(iss.input)}`) },
    ),
  },
  { error: (iss) => `must be a JSON object {"${WRAPPER}": {…}}, got ${describe(iss.input)}` },
);

/**
 * Parse one `{"alarm-transitioned": {...}}` message, or a JSON array of them.
 * newState ALARM → firing, OK → resolved, UNDETERMINED → `opts.undetermined` (or ignored); all share
 * dedupKey `monasca:<alarmId>`. Transitions older than `alarm_ttl` (and UNDETERMINED under `ignore`) are
 * dropped and counted by reason; a definition with actions disabled is recorded, not notified (`quiet`). Malformed messages throw IngestError(field, message), the field prefixed `[i].` inside an array.
 */
export function parseMonasca(body: string, ctx: MonascaContext, opts: MonascaOptions): ParseOutcome {
  const parsed = parseJsonLossless(body);
  const messages = Array.isArray(parsed) ? parsed : [parsed];
  const items: ParsedAlarm[] = [];
  const skipped: Partial<Record<SkipReason, number>> = {};
  let first: Skipped | undefined;
  messages.forEach((msg, i) => {
    const r = parseMessage(msg, Array.isArray(parsed) ? `[${i}]` : '', ctx, opts);
    if ('skip' in r) {
      first ??= r;
      skipped[r.skip] = (skipped[r.skip] ?? 0) + 1;
    } else items.push(r);
  });
  if (items.length > 0) return { kind: 'alarms', items, ...(first && { skipped }) };
  if (!first) return { kind: 'ignored', reason: 'empty array: no messages' };
  return { kind: 'ignored', reason: first.reason, skipped };
}

/** A message that is dropped, and why. */
interface Skipped {
  readonly skip: SkipReason;
  readonly reason: string;
}

/** One message → a parsed alarm, or the reason it is ignored. */
function parseMessage(raw: unknown, prefix: string, ctx: MonascaContext, opts: MonascaOptions): ParsedAlarm | Skipped {
  const envelope = check(messageSchema, raw, prefix);
  const t = check(transitionSchema, envelope[WRAPPER], prefix === '' ? WRAPPER : `${prefix}.${WRAPPER}`);

  if (opts.alarm_ttl > 0 && ctx.now - t.timestamp > opts.alarm_ttl) {
    return { skip: 'ttl', reason: `alarm older than alarm_ttl ${formatDuration(opts.alarm_ttl)}: skipped, as monasca-notification does` };
  }
  let status: AlarmStatus;
  if (t.newState === 'ALARM') status = 'firing';
  else if (t.newState === 'OK') status = 'resolved';
  else if (opts.undetermined === 'ignore') return { skip: 'undetermined', reason: 'newState UNDETERMINED is ignored (ingest.formats.monasca.undetermined: ignore)' };
  else status = opts.undetermined;

  // Dimensions first; tocsin's own labels are written after them and win on a clash.
  const labels: Record<string, string> = {};
  const metricNames: string[] = [];
  const dimValues = new Map<string, string[]>();
  for (const m of t.metrics) {
    if (m.name !== undefined && !metricNames.includes(m.name)) metricNames.push(m.name);
    for (const [k, v] of Object.entries(m.dimensions)) {
      if (k === '__proto__') continue; // kept in details; never a label name
      const seen = dimValues.get(k) ?? [];
      if (!seen.includes(v)) seen.push(v);
      dimValues.set(k, seen);
    }
  }
  for (const [k, vs] of dimValues) labels[k] = vs.join(',');
  if (metricNames.length > 0) labels.metric_name = metricNames.join(',');
  if (t.tenantId !== undefined) labels.tenant_id = t.tenantId;
  if (t.alarmDefinitionId !== undefined) labels.alarm_definition_id = t.alarmDefinitionId;
  labels.alarm_id = t.alarmId;
  if (t.lifecycleState !== undefined) labels.lifecycle_state = t.lifecycleState;

  const annotations: Record<string, string> = { new_state: t.newState };
  if (t.oldState != null) annotations.old_state = t.oldState;
  if (t.stateChangeReason !== undefined) annotations.state_change_reason = t.stateChangeReason;
  if (t.link !== undefined) annotations.link = t.link;
  // Recorded, not notified (monasca-notification sends nothing for a definition with actions disabled).
  if (!t.actionsEnabled) annotations.actions_enabled = 'false';

  const alarm: AlarmInput = {
    source: ctx.source,
    name: t.alarmName,
    severity: t.severity,
    status,
    ...(t.stateChangeReason !== undefined && { summary: t.stateChangeReason }),
    ...(t.alarmDescription !== undefined && { description: t.alarmDescription }),
    labels,
    annotations,
    occurredAt: t.timestamp,
    dedupKey: `monasca:${t.alarmId}`,
    details: raw as { [key: string]: JsonValue },
  };
  return { alarm, naturalKey: `monasca:${t.alarmId}:${t.timestamp}:${t.newState}`, ...(!t.actionsEnabled && { quiet: 'actions_disabled' as const }) };
}

/** `raw` checked against `schema`; the first issue is thrown as an IngestError. */
function check<S extends z.ZodType>(schema: S, raw: unknown, prefix: string): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) throw issueToIngestError(prefix, r.error.issues[0]!);
  return r.data;
}

/** Milliseconds as the config writes them: the largest unit that divides them ("4h", "90s", "1500ms"). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}


const DURATION_MSG = 'must be a duration like "4h" or "14400s"';

/** A duration as the config writes them ("4h", "14400s", or a number of milliseconds) → milliseconds. */
const duration = z.union([z.number(), z.string()], { error: DURATION_MSG }).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms !== undefined) return ms;
  ctx.issues.push({ code: 'custom', message: DURATION_MSG, input: v });
  return z.NEVER;
});

/**
 * POST /v1/monasca. Options (config ingest.formats.monasca): `undetermined` (firing | resolved | ignore,
 * default firing): what an UNDETERMINED transition becomes; `alarm_ttl` (a duration, default 4h as in
 * monasca-notification, 0: off): older transitions are skipped.
 */
export const monascaFormat = defineFormat({
  name: 'monasca',
  path: '/v1/monasca',
  defaultSource: 'monasca',
  options: z.strictObject({
    undetermined: z.enum(UNDETERMINED_ACTIONS, { error: `must be one of: ${UNDETERMINED_ACTIONS.join(', ')}` }).default('firing'),
    alarm_ttl: duration.prefault('4h'),
  }),
  parse: (body, ctx, options) => parseMonasca(body, { source: ctx.source, now: ctx.now }, options),
});
