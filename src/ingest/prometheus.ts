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
import type { ParsedAlarm, ParseOutcome } from './types.ts';

/** Alertmanager's default `resolve_timeout`: an alert posted without endsAt ends this long after it arrived. */
export const RESOLVE_TIMEOUT_MS = 5 * 60_000;

/** Go's zero time (`0001-01-01T00:00:00Z`), which Alertmanager writes for "not ended". */
export const GO_ZERO_TIME_MS = -62_135_596_800_000;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * An RFC 3339 time as Go writes and reads it (`2026-11-22T00:54:22.534Z`, up to nanoseconds, `Z` or an
 * offset) → epoch ms (sub-millisecond digits dropped); undefined when it is not one (Feb 30 included).
 * Parsed by hand: Date.parse differs between engines on such edges, and maps years below 100 to 19xx.
 */
export function parseGoTime(s: string): number | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMin = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  const t = d.getTime() - offsetMin * 60_000;
  // In UTC, within years 0000–9999 (what Go clients such as amtool can read back).
  return t < YEAR_0000_MS || t > YEAR_9999_END_MS ? undefined : t;
}

const YEAR_0000_MS = -62_167_219_200_000;
const YEAR_9999_END_MS = 253_402_300_799_999;

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
const postableAlert = z.object({ startsAt: goTime, endsAt: goTime, generatorURL: optString });

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
