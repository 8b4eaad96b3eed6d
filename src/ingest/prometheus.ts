/**
 * @module ingest/prometheus
 * The Alertmanager v2 API that Prometheus speaks (POST /api/v2/alerts): a JSON array of
 * `{labels, annotations, startsAt, endsAt, generatorURL}`, so Prometheus lists tocsin under
 * `alerting.alertmanagers` unchanged. Also the pieces the Alertmanager webhook format shares (label sets,
 * Go times, severity, the alarm built from one alert).
 *
 * Mapping: `alertname` label → name (required); every label kept, annotations kept, `summary` and
 * `description` annotations also → summary/description; `severity` label → severity when it is one of
 * tocsin's (any case), else warning; startsAt → occurredAt; endsAt → endsAt, and an endsAt at or before
 * now means resolved, else firing. With no endsAt the alert ends `RESOLVE_TIMEOUT_MS` after it arrived
 * unless refreshed (Alertmanager's default `resolve_timeout`). The dedup key is the label set's
 * fingerprint, exactly as Alertmanager computes it, so the re-send Prometheus makes every cycle (with a
 * moving endsAt) is the same alarm: one notification while it keeps firing, and each re-send refreshes
 * its endsAt. No natural idempotency key: it would drop those refreshes.
 */
import { z } from 'zod';
import { SEVERITIES, type AlarmInput, type AlarmStatus, type JsonValue, type Severity } from '../domain/alarm.ts';
import { labelSetFingerprint } from './am-fingerprint.ts';
import { IngestError, issueToIngestError } from './errors.ts';
import { describe, optString } from './fields.ts';
import { defineFormat, type ParseContext } from './format.ts';
import { parseJsonLossless } from './lossless.ts';
import { parseRfc3339 } from '../lib/rfc3339.ts';
import type { ParsedAlarm, ParseOutcome } from './types.ts';

/** Alertmanager's default `resolve_timeout`: an alert posted without endsAt ends this long after it arrived. */
export const RESOLVE_TIMEOUT_MS = 5 * 60_000;

/** Go's zero time (`0001-01-01T00:00:00Z`), which Alertmanager writes for "not ended". */
export const GO_ZERO_TIME_MS = -62_135_596_800_000;

/** An RFC 3339 time as Go writes and reads it → epoch ms; undefined when it is not one (see lib/rfc3339). */
export const parseGoTime = (s: string): number | undefined => parseRfc3339(s);

const timeMessage = (input: unknown) => `must be an RFC 3339 time like 2026-11-22T01:00:41.721Z, got ${describe(input)}`;

/** An optional Go time: absent, null, "" and the zero time → undefined; else epoch ms. */
export const goTime = z
  .string({ error: (iss) => timeMessage(iss.input) })
  .nullish()
  .transform((x, ctx) => {
    if (x == null || x === '') return undefined;
    const t = parseGoTime(x);
    if (t === undefined) {
      ctx.issues.push({ code: 'custom', message: timeMessage(x), input: x });
      return z.NEVER;
    }
    return t === GO_ZERO_TIME_MS ? undefined : t;
  });

/**
 * A label set (Go `map[string]string`) read by hand, for exact field paths (`[2].labels.host`): an object
 * of string values, no empty name, no `__proto__` (zod would drop it silently). Absent or null → {} unless required.
 */
export function labelSet(raw: unknown, field: string, required: boolean): Record<string, string> {
  if (raw == null) {
    if (required) throw new IngestError(field, 'is required: an object of label names and string values');
    return {};
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new IngestError(field, `must be an object of string values, got ${describe(raw)}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === '') throw new IngestError(field, 'must not have an empty name');
    if (k === '__proto__') throw new IngestError(`${field}.${k}`, 'is a reserved name and cannot be used as a key');
    if (typeof v !== 'string') throw new IngestError(`${field}.${k}`, `must be a string, got ${describe(v)}`);
    out[k] = v;
  }
  return out;
}

/** The `severity` label → tocsin's severity when it is one of them (any case), else warning. */
export function severityOf(labels: Readonly<Record<string, string>>): Severity {
  const s = labels.severity?.toLowerCase();
  return SEVERITIES.find((x) => x === s) ?? 'warning';
}

/** One Alertmanager alert, its fields checked, as both formats read it. */
export interface AmAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Epoch ms; undefined when absent or the zero time. */
  readonly startsAt?: number;
  readonly endsAt?: number;
  readonly status: AlarmStatus;
  readonly dedupKey: string;
  readonly details?: { readonly [key: string]: JsonValue };
}

/** The `alertname` label: required (Alertmanager alerts are named by it), not empty. */
export function alertName(labels: Readonly<Record<string, string>>, field: string): string {
  const name = labels.alertname;
  if (name === undefined) throw new IngestError(`${field}.alertname`, 'is required: tocsin names the alarm after the alertname label');
  if (name === '') throw new IngestError(`${field}.alertname`, 'must not be empty');
  return name;
}

/** endsAt before startsAt is refused, as Alertmanager does ("start time must be before end time"). */
export function checkTimes(a: { startsAt?: number | undefined; endsAt?: number | undefined }, prefix: string): void {
  if (a.startsAt !== undefined && a.endsAt !== undefined && a.endsAt < a.startsAt) {
    throw new IngestError(`${prefix}.endsAt`, 'must not be before startsAt');
  }
}

/** The alarm of one checked alert. */
export function amAlarm(source: string, name: string, a: AmAlert): AlarmInput {
  const summary = a.annotations.summary || undefined;
  const description = a.annotations.description || undefined;
  return {
    source,
    name,
    severity: severityOf(a.labels),
    status: a.status,
    labels: a.labels,
    annotations: a.annotations,
    dedupKey: a.dedupKey,
    ...(summary !== undefined && { summary }),
    ...(description !== undefined && { description }),
    ...(a.startsAt !== undefined && { occurredAt: a.startsAt }),
    ...(a.endsAt !== undefined && { endsAt: a.endsAt }),
    ...(a.details !== undefined && { details: a.details }),
  };
}

/** `raw` as a JSON object (an alert, a webhook message), else IngestError(prefix or body, "must be <what>, got …"). */
export function alertObject(raw: unknown, prefix: string, what: string): Record<string, unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new IngestError(prefix || 'body', `must be ${what}, got ${describe(raw)}`);
  return raw as Record<string, unknown>;
}

/** The fields of a postable alert besides its label sets (unknown fields are ignored, as Alertmanager does). */
export const postableAlert = z.object({ startsAt: goTime, endsAt: goTime, generatorURL: optString });

function parseAlert(raw: unknown, prefix: string, ctx: Pick<ParseContext, 'source' | 'now'>): ParsedAlarm {
  const o = alertObject(raw, prefix, 'an alert object {labels, annotations, startsAt, endsAt, generatorURL}');
  // Like Alertmanager: labels with an empty value are no labels (nor part of the fingerprint).
  const labels = Object.fromEntries(Object.entries(labelSet(o.labels, `${prefix}.labels`, true)).filter(([, v]) => v !== ''));
  const name = alertName(labels, `${prefix}.labels`);
  const annotations = labelSet(o.annotations, `${prefix}.annotations`, false);
  const r = postableAlert.safeParse(o);
  if (!r.success) throw issueToIngestError(prefix, r.error.issues[0]!);
  const { startsAt, generatorURL } = r.data;
  checkTimes(r.data, prefix);
  // Like Alertmanager: an alert without endsAt ends resolve_timeout after it arrived, unless refreshed.
  const endsAt = r.data.endsAt ?? ctx.now + RESOLVE_TIMEOUT_MS;
  const alarm = amAlarm(ctx.source, name, {
    labels,
    annotations,
    startsAt,
    endsAt,
    status: endsAt <= ctx.now ? 'resolved' : 'firing',
    dedupKey: labelSetFingerprint(labels),
    ...(generatorURL !== undefined && { details: { generatorURL } }),
  });
  return { alarm };
}

/**
 * The body Prometheus POSTs to /api/v2/alerts → one alarm per alert (an empty array is ignored, as
 * Alertmanager does). Best effort, like Alertmanager (see bestEffort): one bad alert does not lose the
 * batch (the others are stored, it is counted in `tocsin_alarms_skipped_total{reason="invalid"}`); when
 * none can be read, the first one's error is the answer (400 naming its field).
 */
export function parsePrometheus(body: string, ctx: Pick<ParseContext, 'source' | 'now'>): ParseOutcome {
  const doc = parseJsonLossless(body);
  if (!Array.isArray(doc)) throw new IngestError('body', `must be a JSON array of alerts (the Alertmanager v2 API), got ${describe(doc)}`);
  if (doc.length === 0) return { kind: 'ignored', reason: 'empty array: no alerts' };
  return bestEffort(doc, (a, i) => parseAlert(a, `[${i}]`, ctx));
}

/**
 * Alertmanager's way with a batch: the alerts that can be read, and how many could not (counted as
 * skipped, reason `invalid`); when none can be read, the first one's IngestError.
 */
export function bestEffort(alerts: readonly unknown[], parse: (a: unknown, i: number) => ParsedAlarm): ParseOutcome {
  const items: ParsedAlarm[] = [];
  let first: IngestError | undefined;
  let invalid = 0;
  alerts.forEach((a, i) => {
    try {
      items.push(parse(a, i));
    } catch (e) {
      if (!(e instanceof IngestError)) throw e;
      first ??= e;
      invalid++;
    }
  });
  if (items.length === 0) throw first!;
  return { kind: 'alarms', items, ...(invalid > 0 && { skipped: { invalid } }) };
}

/** POST /api/v2/alerts: what Prometheus sends its Alertmanagers. No options. */
export const prometheusFormat = defineFormat({
  name: 'prometheus',
  path: '/api/v2/alerts',
  defaultSource: 'prometheus',
  options: z.strictObject({}),
  parse: (body, ctx) => parsePrometheus(body, ctx),
});
