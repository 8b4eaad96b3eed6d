/**
 * @module channels/monasca-body
 * The webhook `body: monasca`: the exact body monasca-notification's webhook plugin POSTs
 * (monasca_notification/plugins/webhook_notifier.py), so a receiver written for monasca works unchanged.
 * Pure; imports only domain types.
 *
 * Each of the 10 fields comes from the original monasca `alarm-transitioned` message when the alarm
 * carries one in `details` (either the whole message `{"alarm-transitioned": {...}}` or the inner
 * object), exactly as monasca takes it; a field that message lacks, and every field of an alarm from
 * any other source, comes from tocsin's own alarm (the README's webhook section has the same table).
 * A field present in the message is sent as it is there, `null` included:
 *
 * | field | monasca message | otherwise |
 * |---|---|---|
 * | alarm_id | alarmId | label alarm_id, else the dedup key |
 * | alarm_definition_id | alarmDefinitionId | label alarm_definition_id, else null |
 * | alarm_name | alarmName | name |
 * | alarm_description | alarmDescription | description, else "" |
 * | alarm_timestamp | trunc(timestamp / 1000) | floor(occurredAt / 1000) |
 * | state | newState | firing → ALARM, resolved → OK |
 * | old_state | oldState | annotation old_state, else the other state (OK / ALARM) |
 * | message | stateChangeReason | summary, else name |
 * | tenant_id | tenantId | label tenant_id, else null |
 * | metrics | metrics | [{ dimensions: labels }] |
 */
import type { Alarm, JsonValue } from '../domain/alarm.ts';

export const BODY_FORMATS = ['tocsin', 'monasca'] as const;
export type BodyFormat = (typeof BODY_FORMATS)[number];

/** The body monasca-notification's webhook plugin POSTs: these 10 fields, nothing else. */
export interface MonascaWebhookBody {
  alarm_id: JsonValue;
  alarm_definition_id: JsonValue;
  alarm_name: JsonValue;
  alarm_description: JsonValue;
  alarm_timestamp: JsonValue;
  state: JsonValue;
  old_state: JsonValue;
  message: JsonValue;
  tenant_id: JsonValue;
  metrics: JsonValue;
}

type JsonObject = { readonly [key: string]: JsonValue };

const WRAPPER = 'alarm-transitioned';

function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The monasca `alarm-transitioned` object kept in the alarm's details, if any: the details themselves
 * wrapped as monasca sends them, or already unwrapped. An object counts as one when it has `alarmId`
 * and `newState` (every transition has both), so other sources' details are never mistaken for it.
 */
export function monascaTransition(details: JsonObject | undefined): JsonObject | undefined {
  if (details === undefined) return undefined;
  const inner = Object.hasOwn(details, WRAPPER) ? details[WRAPPER] : details;
  if (!isObject(inner)) return undefined;
  return Object.hasOwn(inner, 'alarmId') && Object.hasOwn(inner, 'newState') ? inner : undefined;
}

/** Epoch ms → Unix seconds, as monasca does (`int(timestamp / 1000)`); undefined for a non-number. */
function seconds(ms: JsonValue): number | undefined {
  const n = typeof ms === 'number' ? ms : typeof ms === 'string' && /^-?\d+$/.test(ms) ? Number(ms) : NaN;
  return Number.isFinite(n) ? Math.trunc(n / 1000) : undefined;
}

/** The body for one alarm (see the module's table). */
export function toMonascaBody(a: Alarm): MonascaWebhookBody {
  const t = monascaTransition(a.details);
  /** The message's value for `key` when it has that key (even `null`, as monasca would send it), else `otherwise`. */
  const from = (key: string, otherwise: JsonValue): JsonValue => (t !== undefined && Object.hasOwn(t, key) ? t[key]! : otherwise);
  const state = a.status === 'firing' ? 'ALARM' : 'OK';
  const ownSeconds = Math.floor(a.occurredAt / 1000);
  return {
    alarm_id: from('alarmId', a.labels['alarm_id'] ?? a.dedupKey),
    alarm_definition_id: from('alarmDefinitionId', a.labels['alarm_definition_id'] ?? null),
    alarm_name: from('alarmName', a.name),
    alarm_description: from('alarmDescription', a.description ?? ''),
    alarm_timestamp: seconds(from('timestamp', ownSeconds * 1000)) ?? ownSeconds,
    state: from('newState', state),
    old_state: from('oldState', a.annotations['old_state'] ?? (state === 'ALARM' ? 'OK' : 'ALARM')),
    message: from('stateChangeReason', a.summary ?? a.name),
    tenant_id: from('tenantId', a.labels['tenant_id'] ?? null),
    metrics: from('metrics', [{ dimensions: { ...a.labels } }]),
  };
}
