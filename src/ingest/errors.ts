/**
 * @module ingest/errors
 * The one error type a source parser throws for bad input: it names the offending field, and its message
 * reads after the field name (`{"error":"must be a string","field":"[2].labels.host"}`).
 */
import type * as z from 'zod';
export class IngestError extends Error {
  constructor(
    /** Dotted path of the offending field ("alarms[3].severity", "value.processInstanceKey"), or "body". */
    readonly field: string,
    message: string,
    readonly status: 400 | 401 | 403 | 413 | 415 = 400,
  ) {
    super(message);
    this.name = 'IngestError';
  }
}

/** Dotted path of a field under `prefix` (`[2].value.jobKey`); `keys`: an unknown key's name is appended. `body` when empty. */
export function fieldPath(prefix: string, path: readonly PropertyKey[], keys?: readonly string[]): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  if (keys && keys.length > 0) out += (out === '' ? '' : '.') + keys[0];
  return out || 'body';
}

/** A zod issue → IngestError(field path, message): the style every format reports in. */
export function issueToIngestError(prefix: string, issue: z.core.$ZodIssue): IngestError {
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : undefined;
  return new IngestError(fieldPath(prefix, issue.path, keys), issue.message);
}
