/**
 * @module kafka/retry-record
 * A notification on the retry topic (cluster mode), as JSON: its id, method, attempts and times, and its
 * alarms whole, so any instance can deliver it with nothing of the instance that wrote it. Key: the
 * (first) alarm's dedup key (the notifications of one alarm stay in order on one partition). Read back tolerantly across versions (fields it does not know are left
 * out, a newer version number is accepted), but a record missing what delivery needs is reported,
 * never guessed.
 */
import { z } from 'zod';
import { SEVERITIES, STATUSES, type Alarm, type JsonValue } from '../domain/alarm.ts';
import type { HandoffRecord } from '../outbox/handoff.ts';

export const RETRY_RECORD_VERSION = 1;

const strings = z.record(z.string(), z.string());
const alarm = z.looseObject({
  id: z.string().min(1),
  source: z.string(),
  name: z.string(),
  severity: z.enum(SEVERITIES),
  status: z.enum(STATUSES),
  summary: z.string().optional(),
  description: z.string().optional(),
  labels: strings,
  annotations: strings,
  occurredAt: z.number().int(),
  receivedAt: z.number().int(),
  dedupKey: z.string(),
  endsAt: z.number().int().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

const record = z.looseObject({
  v: z.number().int().min(RETRY_RECORD_VERSION),
  id: z.string().min(1),
  method: z.string().min(1),
  attempts: z.number().int().min(0),
  createdAt: z.number().int(),
  nextAttemptAt: z.number().int(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  alarms: z.array(alarm).min(1),
  afterId: z.string().optional(),
  repeat: z.number().int().min(0).optional(),
});

export function encodeRetryRecord(r: HandoffRecord): { key: string; value: string } {
  return { key: r.alarms[0]?.dedupKey ?? r.id, value: JSON.stringify({ v: RETRY_RECORD_VERSION, ...r }) };
}

/** The record, or why it cannot be read. */
export function decodeRetryRecord(text: string): HandoffRecord | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { error: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  const r = record.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    return { error: `${i.path.join('.') || 'record'}: ${i.message}` };
  }
  const { id, method, attempts, createdAt, nextAttemptAt, lastStatus, lastError, alarms, afterId, repeat } = r.data;
  return {
    id, method, attempts, createdAt, nextAttemptAt, lastStatus, lastError,
    ...(afterId !== undefined && { afterId }),
    ...(repeat !== undefined && repeat > 0 && { repeat }),
    alarms: alarms.map((a): Alarm => ({
      id: a.id, source: a.source, name: a.name, severity: a.severity, status: a.status, labels: a.labels, annotations: a.annotations,
      occurredAt: a.occurredAt, receivedAt: a.receivedAt, dedupKey: a.dedupKey,
      ...(a.summary !== undefined && { summary: a.summary }),
      ...(a.description !== undefined && { description: a.description }),
      ...(a.endsAt !== undefined && { endsAt: a.endsAt }),
      ...(a.details !== undefined && { details: a.details as { [k: string]: JsonValue } }),
    })),
  };
}
