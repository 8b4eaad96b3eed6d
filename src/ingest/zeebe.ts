/**
 * @module ingest/zeebe
 * Zeebe / Camunda 8 exported INCIDENT records (as the incident-alert exporter POSTs them) → alarms.
 * Parsed losslessly: Zeebe keys are 64-bit (`(partitionId << 51) + n`) and are kept as exact decimal strings.
 */
import { MAX_EPOCH_MS, type AlarmInput, type JsonValue, type Severity } from '../domain/alarm.ts';
import { IngestError } from './errors.ts';
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

/**
 * Parse one exported record, or a JSON array of them.
 * INCIDENT EVENT CREATED → firing, RESOLVED → resolved (both share dedupKey `zeebe:<partitionId>:<key>`);
 * any other record → ignored with a reason. Malformed records throw IngestError naming the field
 * (prefixed `[i].` inside an array).
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
  const at = (field: string): string => (prefix ? `${prefix}.${field}` : field);
  if (!isObject(raw)) throw new IngestError(prefix || 'body', `${prefix || 'body'} must be a JSON object`);

  // Envelope: validated for every record, qualifying or not.
  const valueType = requireString(raw.valueType, at('valueType'));
  const intent = requireString(raw.intent, at('intent'));
  const recordType = optString(raw.recordType, at('recordType')) ?? 'EVENT';
  const partitionId = requireInteger(raw.partitionId, at('partitionId'));
  if (partitionId.startsWith('-')) throw new IngestError(at('partitionId'), `${at('partitionId')} must be ≥ 0, got ${partitionId}`);
  const key = requireInteger(raw.key, at('key'));
  const value = raw.value;
  if (!isObject(value)) throw new IngestError(at('value'), `${at('value')} must be a JSON object, got ${describe(value)}`);

  const reason = ignoreReason(valueType, recordType, intent);
  if (reason !== undefined) return reason;

  const v = (field: string): string => at(`value.${field}`);
  const errorType = optString(value.errorType, v('errorType'));
  const errorMessage = optString(value.errorMessage, v('errorMessage'));
  const bpmnProcessId = optString(value.bpmnProcessId, v('bpmnProcessId'));
  const elementId = optString(value.elementId, v('elementId'));
  const tenantId = optString(value.tenantId, v('tenantId'));

  const labels: Record<string, string> = {};
  if (bpmnProcessId !== undefined) labels.bpmnProcessId = bpmnProcessId;
  if (elementId !== undefined) labels.elementId = elementId;
  if (errorType !== undefined) labels.errorType = errorType;
  labels.partitionId = partitionId;
  if (tenantId !== undefined) labels.tenantId = tenantId;

  // Camunda 8 names win; Zeebe 0.22 `workflow*` names are accepted in their place.
  const instanceField = value.processInstanceKey != null ? 'processInstanceKey' : 'workflowInstanceKey';
  const definitionField = value.processDefinitionKey != null ? 'processDefinitionKey' : 'workflowKey';
  const annotations: Record<string, string> = { key };
  const annotate = (name: string, found: string | undefined): void => {
    if (found !== undefined) annotations[name] = found;
  };
  annotate('processInstanceKey', optInteger(value[instanceField], v(instanceField)));
  annotate('processDefinitionKey', optInteger(value[definitionField], v(definitionField)));
  for (const f of ['elementInstanceKey', 'jobKey', 'variableScopeKey']) annotate(f, optInteger(value[f], v(f)));
  annotate('position', optInteger(raw.position, at('position')));
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
    ...optTimestamp(raw.timestamp, at('timestamp')),
    dedupKey: `zeebe:${partitionId}:${key}`,
    details: keysToStrings(raw, false) as JsonObject,
  };
  return { alarm, naturalKey: `zeebe:${partitionId}:${key}:${intent}` };
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

function describe(x: unknown): string {
  if (x === undefined) return 'nothing';
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return 'an object';
  const s = typeof x === 'string' ? JSON.stringify(x) : String(x);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function requireString(x: unknown, field: string): string {
  if (x === undefined || x === null) throw new IngestError(field, `${field} is required`);
  if (typeof x !== 'string' || x === '') throw new IngestError(field, `${field} must be a non-empty string, got ${describe(x)}`);
  return x;
}

/** Absent (undefined, null or "") → undefined; a non-string throws. */
function optString(x: unknown, field: string): string | undefined {
  if (x === undefined || x === null || x === '') return undefined;
  if (typeof x !== 'string') throw new IngestError(field, `${field} must be a string, got ${describe(x)}`);
  return x;
}

/**
 * A 64-bit integer as its exact decimal string. Lossless parsing leaves safe integers as numbers and
 * larger ones as digit strings; a JSON string of decimal digits is accepted the same way.
 */
function requireInteger(x: unknown, field: string): string {
  if (x === undefined || x === null) throw new IngestError(field, `${field} is required`);
  let digits: string | undefined;
  if (typeof x === 'number' && Number.isSafeInteger(x)) digits = String(x);
  else if (typeof x === 'string' && DECIMAL.test(x)) digits = x;
  if (digits === undefined || BigInt(digits) < INT64_MIN || BigInt(digits) > INT64_MAX) {
    const got = typeof x === 'number' && Number.isInteger(x) ? 'a number beyond 2^53 written with a fraction or exponent' : describe(x);
    throw new IngestError(field, `${field} must be a 64-bit integer, got ${got}`);
  }
  return digits;
}

function optInteger(x: unknown, field: string): string | undefined {
  return x === undefined || x === null ? undefined : requireInteger(x, field);
}

function optTimestamp(x: unknown, field: string): { occurredAt?: number } {
  if (x === undefined || x === null) return {};
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0 || x > MAX_EPOCH_MS) {
    throw new IngestError(field, `${field} must be epoch milliseconds, got ${describe(x)}`);
  }
  return { occurredAt: x };
}
