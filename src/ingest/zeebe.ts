/**
 * @module ingest/zeebe
 * Zeebe / Camunda 8 exported INCIDENT records (as the incident-alert exporter POSTs them) → alarms.
 * Parsed losslessly: Zeebe keys are 64-bit (`(partitionId << 51) + n`) and are kept as exact decimal strings.
 */
import { z } from 'zod';
import { MAX_EPOCH_MS, SEVERITIES, type AlarmInput, type JsonValue, type Severity } from '../domain/alarm.ts';
import { IngestError, issueToIngestError } from './errors.ts';
import { defineFormat } from './format.ts';
import { describe, optString, requiredString } from './fields.ts';
import { parseJsonLossless } from './lossless.ts';
import type { ParsedAlarm, ParseOutcome } from './types.ts';

export interface ZeebeOptions {
  readonly source: string;
  readonly severity: Severity;
}

type JsonObject = { [key: string]: JsonValue };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL = /^(0|-?[1-9][0-9]*)$/;
const COMMAND_INTENTS = new Set(['CREATE', 'RESOLVE']);

// ---- schemas. As in generic.ts, a message reads after its field and does not repeat it:
// {"error":"must be a 64-bit integer, got 1.5","field":"[2].value.jobKey"}.

/**
 * A 64-bit integer as its exact decimal string. Lossless parsing leaves safe integers as numbers and
 * larger ones as digit strings; a JSON string of decimal digits is accepted the same way.
 */
function int64(opts: { nonNegative: boolean }) {
  return z
    .union([z.number(), z.string()], { error: (iss) => (iss.input == null ? 'is required' : notInt64(iss.input)) })
    .transform((x, ctx) => {
      const digits = int64Digits(x);
      if (digits !== undefined && !(opts.nonNegative && digits.startsWith('-'))) return digits;
      const message = digits === undefined ? notInt64(x) : `must be ≥ 0, got ${digits}`;
      ctx.issues.push({ code: 'custom', message, input: x });
      return z.NEVER;
    });
}

/** Absent (undefined or null) → undefined; anything else must be a 64-bit integer. */
const optInt64 = int64({ nonNegative: false })
  .nullish()
  .transform((x) => x ?? undefined);

const epochMsError = { error: (iss: { input?: unknown }) => `must be epoch milliseconds, got ${describe(iss.input)}` };
/** Absent (undefined or null) → undefined. */
const epochMs = z
  .number(epochMsError)
  .int(epochMsError)
  .min(0, epochMsError)
  .max(MAX_EPOCH_MS, epochMsError)
  .nullish()
  .transform((x) => x ?? undefined);

/** Checked on every record, qualifying or not, before deciding whether it is ignored. */
export const envelopeSchema = z.object(
  {
    valueType: requiredString,
    intent: requiredString,
    recordType: optString.transform((x) => x ?? 'EVENT'),
    partitionId: int64({ nonNegative: true }),
    key: int64({ nonNegative: false }),
    value: z.object({}, { error: (iss) => (iss.input == null ? 'is required' : `must be a JSON object, got ${describe(iss.input)}`) }),
  },
  { error: (iss) => `must be a JSON object, got ${describe(iss.input)}` },
);

/** Checked only on INCIDENT CREATED/RESOLVED events, after the envelope. */
const incidentSchema = z.object({
  value: z.preprocess(
    legacyNamesAsFallback,
    z.object({
      errorType: optString,
      errorMessage: optString,
      bpmnProcessId: optString,
      elementId: optString,
      tenantId: optString,
      processInstanceKey: optInt64,
      workflowInstanceKey: optInt64,
      processDefinitionKey: optInt64,
      workflowKey: optInt64,
      elementInstanceKey: optInt64,
      jobKey: optInt64,
      variableScopeKey: optInt64,
    }),
  ),
  position: optInt64,
  timestamp: epochMs,
});

/**
 * Camunda 8 names win; Zeebe 0.22 `workflow*` names are accepted in their place. A `workflow*` field is
 * read (and checked) only when its Camunda 8 counterpart is absent (undefined or null).
 */
function legacyNamesAsFallback(value: unknown): unknown {
  if (!isObject(value)) return value;
  return {
    ...value,
    workflowInstanceKey: value.processInstanceKey != null ? undefined : value.workflowInstanceKey,
    workflowKey: value.processDefinitionKey != null ? undefined : value.workflowKey,
  };
}

/**
 * Parse one exported record, or a JSON array of them.
 * INCIDENT EVENT CREATED → firing, RESOLVED → resolved (both share dedupKey `zeebe:<partitionId>:<key>`);
 * any other record → ignored with a reason. Malformed records throw IngestError(field, message): the
 * dotted field path (prefixed `[i].` inside an array, `body` for the whole body) and a message that reads
 * after it ("must be a 64-bit integer, got \"abc\"").
 */
export function parseZeebe(body: string, opts: ZeebeOptions): ParseOutcome {
  const parsed = parseJsonLossless(body);
  if (!Array.isArray(parsed)) {
    const r = parseRecord(parsed, '', opts);
    return typeof r === 'string' ? { kind: 'ignored', reason: r } : { kind: 'alarms', items: [r] };
  }
  const items: ParsedAlarm[] = [];
  let firstReason: string | undefined;
  parsed.forEach((rec, i) => {
    const r = parseRecord(rec, `[${i}]`, opts);
    if (typeof r === 'string') firstReason ??= r;
    else items.push(r);
  });
  if (items.length > 0) return { kind: 'alarms', items };
  return { kind: 'ignored', reason: firstReason ?? 'empty array: no records' };
}

/** One record → a parsed alarm, or the reason it is ignored. */
function parseRecord(raw: unknown, prefix: string, opts: ZeebeOptions): ParsedAlarm | string {
  // Envelope: validated for every record, qualifying or not.
  const { valueType, intent, recordType, partitionId, key } = check(envelopeSchema, raw, prefix);
  const reason = ignoreReason(valueType, recordType, intent);
  if (reason !== undefined) return reason;

  const { value, position, timestamp } = check(incidentSchema, raw, prefix);
  const { errorType, errorMessage, bpmnProcessId, elementId, tenantId } = value;

  const labels: Record<string, string> = {};
  if (bpmnProcessId !== undefined) labels.bpmnProcessId = bpmnProcessId;
  if (elementId !== undefined) labels.elementId = elementId;
  if (errorType !== undefined) labels.errorType = errorType;
  labels.partitionId = partitionId;
  if (tenantId !== undefined) labels.tenantId = tenantId;

  const annotations: Record<string, string> = { key };
  const annotate = (name: string, found: string | undefined): void => {
    if (found !== undefined) annotations[name] = found;
  };
  annotate('processInstanceKey', value.processInstanceKey ?? value.workflowInstanceKey);
  annotate('processDefinitionKey', value.processDefinitionKey ?? value.workflowKey);
  annotate('elementInstanceKey', value.elementInstanceKey);
  annotate('jobKey', value.jobKey);
  annotate('variableScopeKey', value.variableScopeKey);
  annotate('position', position);
  annotate('errorMessage', errorMessage);

  const alarm: AlarmInput = {
    source: opts.source,
    name: 'ZeebeIncident',
    severity: opts.severity,
    status: intent === 'CREATED' ? 'firing' : 'resolved',
    summary: summarize(errorType, bpmnProcessId, elementId, errorMessage),
    ...(errorMessage !== undefined && { description: errorMessage }),
    labels,
    annotations,
    ...(timestamp !== undefined && { occurredAt: timestamp }),
    dedupKey: `zeebe:${partitionId}:${key}`,
    details: keysToStrings(raw, false) as JsonObject,
  };
  return { alarm, naturalKey: `zeebe:${partitionId}:${key}:${intent}` };
}

/** `raw` checked against `schema`; the first issue is thrown as an IngestError. */
function check<S extends z.ZodType>(schema: S, raw: unknown, prefix: string): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) throw issueToIngestError(prefix, r.error.issues[0]!);
  return r.data;
}

/** Why a well-formed record is not an incident CREATED/RESOLVED event, or undefined when it is one. */
function ignoreReason(valueType: string, recordType: string, intent: string): string | undefined {
  if (valueType !== 'INCIDENT') return `valueType ${valueType} is not INCIDENT`;
  const command = `intent ${intent} is a command; tocsin acts on CREATED and RESOLVED events`;
  if (recordType === 'COMMAND') return command;
  if (recordType !== 'EVENT') return `recordType ${recordType} is not EVENT`;
  if (COMMAND_INTENTS.has(intent)) return command;
  if (intent !== 'CREATED' && intent !== 'RESOLVED') return `intent ${intent} is not CREATED or RESOLVED`;
  return undefined;
}

/** `<errorType> in <bpmnProcessId> at <elementId>: <errorMessage>`, leaving out what is missing. */
function summarize(errorType?: string, processId?: string, elementId?: string, message?: string): string {
  let s = errorType ?? 'Incident';
  if (processId !== undefined) s += ` in ${processId}`;
  if (elementId !== undefined) s += ` at ${elementId}`;
  if (message !== undefined) s += `: ${message}`;
  return s;
}

/** Key and position fields (and every element of `…Path` arrays, nested too) → exact decimal strings. */
function keysToStrings(x: unknown, asKey: boolean): JsonValue {
  if (Array.isArray(x)) return x.map((e) => keysToStrings(e, asKey));
  if (isObject(x)) {
    return Object.fromEntries(
      Object.entries(x).map(([k, e]) => [k, keysToStrings(e, isKeyField(k) || (k.endsWith('Path') && Array.isArray(e)))]),
    );
  }
  if (asKey && typeof x === 'number' && Number.isSafeInteger(x)) return String(x);
  return x as JsonValue;
}

function isKeyField(name: string): boolean {
  return name === 'key' || name === 'position' || name === 'sourceRecordPosition' || name.endsWith('Key');
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}


/** The exact decimal digits of a 64-bit integer, or undefined when `x` is not one. */
function int64Digits(x: number | string): string | undefined {
  let digits: string | undefined;
  if (typeof x === 'number') digits = Number.isSafeInteger(x) ? String(x) : undefined;
  else digits = DECIMAL.test(x) ? x : undefined;
  return digits !== undefined && BigInt(digits) >= INT64_MIN && BigInt(digits) <= INT64_MAX ? digits : undefined;
}

function notInt64(x: unknown): string {
  const got = typeof x === 'number' && Number.isInteger(x) ? 'a number beyond 2^53 written with a fraction or exponent' : describe(x);
  return `must be a 64-bit integer, got ${got}`;
}

/** POST /v1/zeebe; option `severity` (config ingest.formats.zeebe.severity): the severity of every incident. */
export const zeebeFormat = defineFormat({
  name: 'zeebe',
  path: '/v1/zeebe',
  defaultSource: 'zeebe',
  options: z.strictObject({
    severity: z.enum(SEVERITIES, { error: `must be one of: ${SEVERITIES.join(', ')}` }).default('error'),
  }),
  parse: (body, ctx, options) => parseZeebe(body, { source: ctx.source, severity: options.severity }),
});
