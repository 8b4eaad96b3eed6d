/**
 * @module domain/alarm
 * The alarm: what a source reports. Pure types and helpers; imports nothing of ours.
 */

export const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const STATUSES = ['firing', 'resolved'] as const;
export type AlarmStatus = (typeof STATUSES)[number];

/** The latest time a JavaScript Date can hold (epoch ms); later times are refused at ingest. */
/** The source of the heartbeat canary's alarms (reserved: no configured source may take it). */
export const CANARY_SOURCE = 'canary';

export const MAX_EPOCH_MS = 8_640_000_000_000_000;

/** JSON value whose 64-bit integers are already decimal strings (never lossy numbers). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** An alarm as a source parser produces it, before tocsin assigns ids and routing. */
export interface AlarmInput {
  readonly source: string;
  readonly name: string;
  readonly severity: Severity;
  readonly status: AlarmStatus;
  readonly summary?: string;
  readonly description?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Epoch milliseconds; undefined means "when tocsin received it". */
  readonly occurredAt?: number;
  readonly dedupKey: string;
  /** Epoch ms when a firing alarm resolves by itself unless a later occurrence refreshes it; undefined: never. */
  readonly endsAt?: number;
  /** Source-specific structured detail (for Zeebe: the incident record with keys as decimal strings). */
  readonly details?: { readonly [key: string]: JsonValue };
}

/** An accepted, stored alarm. */
export interface Alarm extends AlarmInput {
  readonly id: string;
  readonly occurredAt: number;
  readonly receivedAt: number;
}

/** The alarm as it appears on the wire (webhook envelope, log line, API). */
export interface AlarmJson {
  id: string;
  source: string;
  name: string;
  severity: Severity;
  status: AlarmStatus;
  summary: string | null;
  description: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  occurred_at: string;
  received_at: string;
  dedup_key: string;
  ends_at?: string;
  details?: { [key: string]: JsonValue };
}

export function alarmToJson(a: Alarm): AlarmJson {
  const out: AlarmJson = {
    id: a.id,
    source: a.source,
    name: a.name,
    severity: a.severity,
    status: a.status,
    summary: a.summary ?? null,
    description: a.description ?? null,
    labels: { ...a.labels },
    annotations: { ...a.annotations },
    occurred_at: new Date(a.occurredAt).toISOString(),
    received_at: new Date(a.receivedAt).toISOString(),
    dedup_key: a.dedupKey,
  };
  if (a.endsAt !== undefined) out.ends_at = new Date(a.endsAt).toISOString();
  if (a.details !== undefined) out.details = a.details as { [key: string]: JsonValue };
  return out;
}
