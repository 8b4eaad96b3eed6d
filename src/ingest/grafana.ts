/**
 * @module ingest/grafana
 * Grafana Alerting's webhook contact point (the JSON Grafana documents, schema `version: "1"`) → alarms:
 * POST /v1/grafana. One message holds a group of alerts, each with its own status (a message can mix firing
 * and resolved); each alert becomes one alarm.
 *
 * Mapping, per alert: name ← the `alertname` label (else the message `title`); status ← `status` (an `endsAt`
 * that has passed means resolved, as in Alertmanager); severity ← a `severity` label that is one of tocsin's
 * severities (any case), else warning; summary/description ← the annotations of those names; occurredAt ←
 * `startsAt`; endsAt ← `endsAt` (Go's zero time `0001-01-01T00:00:00Z` means none); dedup key ← `fingerprint`
 * (else computed from the labels, as the generic format does); details ← `values`, the URLs, `orgId`, `groupKey`.
 */
import { parseRfc3339 } from '../lib/rfc3339.ts';
import { z } from 'zod';
import { SEVERITIES, type AlarmInput, type JsonValue, type Severity } from '../domain/alarm.ts';
import { defaultDedupKey } from '../domain/dedup-key.ts';
import { fieldPath, IngestError, issueToIngestError } from './errors.ts';
import { describe, optString } from './fields.ts';
import { defineFormat, type ParseContext } from './format.ts';
import { parseJsonLossless } from './lossless.ts';
import type { ParsedAlarm, ParseOutcome } from './types.ts';

/** Go's zero `time.Time` as encoding/json writes it: Grafana's "not set" (firing alerts' endsAt, startsAt in tests). */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';
const GO_ZERO_MS = Date.parse(GO_ZERO_TIME);

/** Limits of tocsin's alarm fields (as POST /v1/alarms enforces them). */
const MAX_NAME = 256;
const MAX_SUMMARY = 4096;
const MAX_DESCRIPTION = 65_536;
const MAX_DEDUP_KEY = 512;

const TIME_MSG = 'must be an RFC 3339 time like 2021-10-12T09:51:03.157076+02:00';

/**
 * An RFC 3339 time (as Go writes `time.Time`) → epoch ms; Go's zero time, null, absent or "" → undefined.
 * A time before 1970 or one that does not exist (a leap second, hour 25) is refused.
 */
const goTime = z
  .string({ error: (iss) => `${TIME_MSG}, got ${describe(iss.input)}` })
  .nullish()
  .transform((s, ctx) => {
    if (s == null || s === '') return undefined;
    const ms = parseRfc3339(s) ?? Number.NaN;
    if (ms === GO_ZERO_MS) return undefined;
    if (!Number.isFinite(ms) || ms < 0) {
      ctx.issues.push({ code: 'custom', message: `${TIME_MSG}, got ${describe(s)}`, input: s });
      return z.NEVER;
    }
    return ms;
  });

/** Labels and annotations: a map of strings (numbers and booleans are turned into their text, as /v1/alarms does). */
const stringMap = z
  .record(
    z.string().min(1),
    z.union([z.string(), z.number(), z.boolean()], { error: (iss) => `must be a string, got ${describe(iss.input)}` }).transform(String),
    {
      error: (iss) =>
        iss.code === 'invalid_key' ? 'must not have an empty name as a key' : `must be an object of string values, got ${describe(iss.input)}`,
    },
  )
  .nullish()
  .transform((x) => x ?? {});

/** `values`: what the rule's expressions evaluated to (Go `map[string]float64`; an integer beyond 2^53 arrives as its digits). */
const numberError = (iss: { input?: unknown }) => `must be a number, got ${describe(iss.input)}`;
const values = z
  .record(z.string(), z.union([z.number({ error: numberError }), z.string().regex(/^-?\d+$/, { error: numberError })], { error: numberError }), {
    error: (iss) => `must be an object of numbers, got ${describe(iss.input)}`,
  })
  .nullish();

const integerError = (iss: { input?: unknown }) => `must be an integer, got ${describe(iss.input)}`;
/** An org id: an integer (one beyond 2^53 arrives as its digits). */
const orgId = z
  .union([z.number({ error: integerError }).int({ error: integerError }), z.string().regex(/^-?\d+$/, { error: integerError })], {
    error: integerError,
  })
  .nullish();

const alertSchema = z.object(
  {
    status: z.enum(['firing', 'resolved'], {
      error: (iss) => (iss.input == null ? 'is required' : `must be firing or resolved, got ${describe(iss.input)}`),
    }),
    labels: stringMap,
    annotations: stringMap,
    startsAt: goTime,
    endsAt: goTime,
    fingerprint: optString.pipe(z.string().max(MAX_DEDUP_KEY, `must be at most ${MAX_DEDUP_KEY} characters`).optional()),
    values,
    generatorURL: optString,
    silenceURL: optString,
    dashboardURL: optString,
    panelURL: optString,
    imageURL: optString,
    ruleUID: optString,
    orgId,
  },
  { error: (iss) => `must be an alert object, got ${describe(iss.input)}` },
);

export const messageSchema = z.object(
  {
    version: z.literal('1', {
      error: (iss) =>
        iss.input == null ? 'is required: "1", the schema version of Grafana\'s webhook' : `must be "1" (the schema version of Grafana's webhook), got ${describe(iss.input)}`,
    }),
    alerts: z.array(alertSchema, { error: (iss) => (iss.input == null ? 'is required' : `must be a list of alerts, got ${describe(iss.input)}`) }),
    orgId,
    groupKey: optString,
    title: optString,
  },
  { error: (iss) => `must be a Grafana webhook message (a JSON object), got ${describe(iss.input)}` },
);

type Alert = z.output<typeof alertSchema>;
type Message = z.output<typeof messageSchema>;

/** What the Grafana parser needs of the request context. */
export type GrafanaContext = Pick<ParseContext, 'source' | 'now' | 'hash'>;

/** zod drops a `__proto__` key from records; refuse it rather than lose a label silently (Grafana never sends one: it strips `__x__` labels). */
function refuseProtoKeys(doc: unknown): void {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return;
  const alerts = (doc as Record<string, unknown>).alerts;
  if (!Array.isArray(alerts)) return;
  alerts.forEach((a, i) => {
    if (a === null || typeof a !== 'object') return;
    for (const field of ['labels', 'annotations']) {
      const map = (a as Record<string, unknown>)[field];
      if (map !== null && typeof map === 'object' && Object.hasOwn(map, '__proto__')) {
        throw new IngestError(fieldPath('', ['alerts', i, field, '__proto__']), 'is a reserved name and cannot be used as a key');
      }
    }
  });
}

const truncate = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

function severityOf(label: string | undefined): Severity {
  const s = label?.trim().toLowerCase();
  return (SEVERITIES as readonly string[]).includes(s ?? '') ? (s as Severity) : 'warning';
}

function toAlarm(a: Alert, i: number, msg: Message, ctx: GrafanaContext): ParsedAlarm {
  const { labels, annotations } = a;
  const alertname = labels.alertname;
  if (alertname !== undefined && alertname.length > MAX_NAME) {
    throw new IngestError(`alerts[${i}].labels.alertname`, `must be at most ${MAX_NAME} characters (it is the alarm name)`);
  }
  const title = msg.title?.trim();
  const name = alertname || (title ? truncate(title, MAX_NAME) : undefined);
  if (name === undefined) {
    throw new IngestError(`alerts[${i}].labels.alertname`, 'is required: the alarm name (or a message title to fall back on)');
  }
  // Like Alertmanager: an alert whose endsAt has passed has ended (whatever its status says).
  const status = a.endsAt !== undefined && a.endsAt <= ctx.now ? 'resolved' : a.status;
  // Without a fingerprint, the same label set is the same alarm (the title is not part of it: it changes with the status).
  const dedupKey = a.fingerprint ?? defaultDedupKey(ctx.source, alertname ?? '', labels, ctx.hash);
  const details: Record<string, JsonValue> = {};
  if (a.values != null) details.values = a.values;
  for (const k of ['generatorURL', 'dashboardURL', 'panelURL', 'silenceURL', 'imageURL', 'ruleUID'] as const) {
    const v = a[k];
    if (v !== undefined) details[k] = v;
  }
  const org = a.orgId ?? msg.orgId;
  if (org != null) details.orgId = org;
  if (msg.groupKey !== undefined) details.groupKey = msg.groupKey;

  const alarm: AlarmInput = {
    source: ctx.source,
    name,
    severity: severityOf(labels.severity),
    status,
    labels,
    annotations,
    dedupKey,
    ...(annotations.summary ? { summary: truncate(annotations.summary, MAX_SUMMARY) } : {}),
    ...(annotations.description ? { description: truncate(annotations.description, MAX_DESCRIPTION) } : {}),
    ...(a.startsAt !== undefined ? { occurredAt: a.startsAt } : {}),
    ...(a.endsAt !== undefined ? { endsAt: a.endsAt } : {}),
    details,
  };
  // A re-send of the same occurrence (Grafana's repeat_interval, or two Grafana replicas) is a repeat. Not for a
  // firing alert that says when it ends (Grafana zeroes that, as Alertmanager does, but should one come): each
  // re-send must reach the lifecycle to move its endsAt.
  const refreshes = status === 'firing' && a.endsAt !== undefined;
  return a.startsAt === undefined || refreshes ? { alarm } : { alarm, naturalKey: `grafana:${dedupKey}:${status}:${a.startsAt}` };
}

/**
 * Parse a Grafana webhook message: one alarm per alert. A message with no alerts is ignored (200).
 * @throws IngestError(field, message), the field a path like `alerts[1].labels.severity` or `version`.
 */
export function parseGrafana(body: string, ctx: GrafanaContext): ParseOutcome {
  const doc = parseJsonLossless(body);
  refuseProtoKeys(doc);
  const r = messageSchema.safeParse(doc);
  if (!r.success) {
    const e = issueToIngestError('', r.error.issues[0]!);
    // An empty key's path ends in "." (`alerts[0].labels.`): name the map instead.
    throw e.field.endsWith('.') ? new IngestError(e.field.slice(0, -1), e.message) : e;
  }
  const msg = r.data;
  if (msg.alerts.length === 0) return { kind: 'ignored', reason: 'no alerts in the message' };
  return { kind: 'alarms', items: msg.alerts.map((a, i) => toAlarm(a, i, msg, ctx)) };
}

/** POST /v1/grafana: no options. */
export const grafanaFormat = defineFormat({
  name: 'grafana',
  path: '/v1/grafana',
  defaultSource: 'grafana',
  options: z.strictObject({}),
  parse: (body, ctx) => parseGrafana(body, ctx),
});
