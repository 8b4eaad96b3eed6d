/**
 * @module ingest/fields
 * Field schemas the source formats share (zod), with messages that read after the field's name:
 * {"error":"must be a non-empty string, got 42","field":"alarm-transitioned.alarmName"}.
 */
import { z } from 'zod';

/** A value as an error message quotes it: short, and never a whole object. */
export function describe(x: unknown): string {
  if (x === undefined) return 'nothing';
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return 'an object';
  const s = typeof x === 'string' ? JSON.stringify(x) : String(x);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

export const requiredString = z
  .string({ error: (iss) => (iss.input == null ? 'is required' : `must be a non-empty string, got ${describe(iss.input)}`) })
  .min(1, { error: (iss) => `must be a non-empty string, got ${describe(iss.input)}` });

/** Absent (undefined, null or "") → undefined; a non-string is refused. */
export const optString = z
  .string({ error: (iss) => `must be a string, got ${describe(iss.input)}` })
  .nullish()
  .transform((x) => x || undefined);
