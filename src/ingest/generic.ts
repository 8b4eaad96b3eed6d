/**
 * @module ingest/generic
 * tocsin's own alarm schema (POST /v1/alarms): one object or an array of them.
 */
import { RFC3339 } from '../lib/rfc3339.ts';
import { z } from 'zod';
import { MAX_EPOCH_MS, SEVERITIES, STATUSES, type AlarmInput } from '../domain/alarm.ts';
import { defaultDedupKey } from '../domain/dedup-key.ts';
import { fieldPath, IngestError, issueToIngestError } from './errors.ts';
import { parseJsonLossless } from './lossless.ts';
import { defineFormat, type ParseContext } from './format.ts';
import type { ParseOutcome, ParsedAlarm } from './types.ts';


/** Label values: strings; numbers and booleans are accepted and turned into their text. */
const labelMap = z.record(
  z.string().min(1, 'must not be an empty name').max(256),
  z.union([z.string(), z.number(), z.boolean()], { error: 'must be a string' }).transform(String),
  { error: 'must be an object of string values' },
);

const occurredAt = z.union(
  [
    z
      .number()
      .int('must be an integer of epoch milliseconds')
      .min(0, 'must not be negative')
      .max(MAX_EPOCH_MS, 'is beyond the latest representable time'),
    z.string().regex(RFC3339, 'must be an RFC 3339 time like 2026-11-22T01:00:41Z or epoch milliseconds'),
  ],
  { error: 'must be an RFC 3339 time like 2026-11-22T01:00:41Z or epoch milliseconds' },
);

export const alarmSchema = z.strictObject(
  {
    name: z.string({ error: 'is required: a short alarm name like DiskFull' }).min(1, 'must not be empty').max(256),
    source: z.string().min(1).max(128).optional(),
    severity: z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` }).optional(),
    status: z.enum(STATUSES, { error: `must be one of ${STATUSES.join(', ')}` }).optional(),
    summary: z.string().max(4096).optional(),
    description: z.string().max(65_536).optional(),
    labels: labelMap.optional(),
    annotations: labelMap.optional(),
    occurred_at: occurredAt.optional(),
    ends_at: occurredAt.optional(),
    dedup_key: z.string().min(1, 'must not be empty').max(512).optional(),
  },
  { error: (iss) => (iss.code === 'unrecognized_keys' ? 'unknown field' : 'must be an alarm object') },
);

/** What the generic parser needs of the request context. */
export type GenericContext = Pick<ParseContext, 'source' | 'sourceIsAuthenticated' | 'hash' | 'now'>;

/** zod drops a `__proto__` key from records; refuse it explicitly rather than lose a label silently. */
function refuseProtoKeys(raw: unknown, prefix: string): void {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return;
  for (const field of ['labels', 'annotations']) {
    const map = (raw as Record<string, unknown>)[field];
    if (map !== null && typeof map === 'object' && Object.hasOwn(map, '__proto__')) {
      throw new IngestError(fieldPath(prefix, [field, '__proto__']), 'is a reserved name and cannot be used as a key');
    }
  }
}

function toAlarm(raw: unknown, prefix: string, opts: GenericContext): ParsedAlarm {
  refuseProtoKeys(raw, prefix);
  const r = alarmSchema.safeParse(raw);
  if (!r.success) throw issueToIngestError(prefix, r.error.issues[0]!);
  const v = r.data;
  if (v.source !== undefined && opts.sourceIsAuthenticated && v.source !== opts.source) {
    throw new IngestError(
      fieldPath(prefix, ['source']),
      `this token belongs to source "${opts.source}" and cannot post alarms for source "${v.source}"`,
      403,
    );
  }
  const source = v.source ?? opts.source;
  const labels = v.labels ?? {};
  const occurred = typeof v.occurred_at === 'string' ? Date.parse(v.occurred_at) : v.occurred_at;
  if (occurred !== undefined && !Number.isFinite(occurred)) {
    throw new IngestError(fieldPath(prefix, ['occurred_at']), 'is not a valid time');
  }
  const ends = typeof v.ends_at === 'string' ? Date.parse(v.ends_at) : v.ends_at;
  if (ends !== undefined && !Number.isFinite(ends)) {
    throw new IngestError(fieldPath(prefix, ['ends_at']), 'is not a valid time');
  }
  // Like Alertmanager: an alarm whose ends_at has passed has ended (whatever its status says).
  const status = ends !== undefined && ends <= opts.now ? 'resolved' : (v.status ?? 'firing');
  const dedupKey = v.dedup_key ?? defaultDedupKey(source, v.name, labels, opts.hash);
  const alarm: AlarmInput = {
    source,
    name: v.name,
    severity: v.severity ?? 'warning',
    status,
    labels,
    annotations: v.annotations ?? {},
    dedupKey,
    ...(v.summary !== undefined ? { summary: v.summary } : {}),
    ...(v.description !== undefined ? { description: v.description } : {}),
    ...(occurred !== undefined ? { occurredAt: occurred } : {}),
    ...(ends !== undefined ? { endsAt: ends } : {}),
  };
  // Without occurred_at every POST is a new occurrence; with it, a resend of the same occurrence is a repeat.
  return occurred === undefined ? { alarm } : { alarm, naturalKey: `g:${dedupKey}:${status}:${occurred}` };
}

export function parseGeneric(body: string, opts: GenericContext): ParseOutcome {
  const doc = parseJsonLossless(body);
  if (Array.isArray(doc)) {
    if (doc.length === 0) throw new IngestError('body', 'empty array: send at least one alarm');
    return { kind: 'alarms', items: doc.map((a, i) => toAlarm(a, `[${i}]`, opts)) };
  }
  if (doc === null || typeof doc !== 'object') throw new IngestError('body', 'must be an alarm object or an array of them');
  return { kind: 'alarms', items: [toAlarm(doc, '', opts)] };
}

/** tocsin's own format: no options. */
export const genericFormat = defineFormat({
  name: 'generic',
  path: '/v1/alarms',
  defaultSource: 'generic',
  options: z.strictObject({}),
  parse: (body, ctx) => parseGeneric(body, ctx),
});
