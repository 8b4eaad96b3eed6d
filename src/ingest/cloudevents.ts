/**
 * @module ingest/cloudevents
 * CloudEvents 1.0 over HTTP (cloudevents/spec: bindings/http-protocol-binding.md, formats/json-format.md) →
 * alarms: POST /v1/cloudevents. The Content-Type chooses the mode:
 * - `application/cloudevents+json`: structured, the whole event as a JSON object with `data` inside;
 * - `application/cloudevents-batch+json`: batched, a JSON array of structured events (may be empty);
 * - anything else (`application/json`): binary, the attributes in `ce-*` headers and the body is `data`.
 *
 * `data` is one alarm in tocsin's own schema (the object POST /v1/alarms takes). The event's `source` + `id`
 * identify it (a redelivered event is a repeat); its `time` is the alarm's occurred_at when the data has none;
 * `type`, `source`, `id` and `subject` are kept in the alarm's details. `data_base64` is refused.
 */
import { parseRfc3339 } from '../lib/rfc3339.ts';
import { z } from 'zod';
import type { JsonValue } from '../domain/alarm.ts';
import { IngestError, issueToIngestError } from './errors.ts';
import { describe, optString, requiredString } from './fields.ts';
import { defineFormat, type ParseContext } from './format.ts';
import { parseGeneric } from './generic.ts';
import { parseJsonLossless } from './lossless.ts';
import type { ParsedAlarm, ParseOutcome } from './types.ts';

export const STRUCTURED_TYPE = 'application/cloudevents+json';
export const BATCH_TYPE = 'application/cloudevents-batch+json';

const SPEC_VERSION = '1.0';
const TIME_MSG = 'must be an RFC 3339 time like 2018-04-05T17:31:00Z';
/** A media type declaring JSON content: `*\/json` or `*\/*+json`, parameters aside (json-format.md 3.1.1). */
const JSON_MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/([a-z0-9!#$&^_.+-]*\+)?json$/i;

const BINARY_HINT =
  'send the ce-specversion, ce-id, ce-source and ce-type headers with the alarm as the body (binary mode), ' +
  `or the whole event as ${STRUCTURED_TYPE} (structured mode)`;

/** What the CloudEvents parser needs of the request context. */
export type CloudEventsContext = Pick<ParseContext, 'source' | 'sourceIsAuthenticated' | 'hash' | 'now' | 'header'>;

/** The attributes tocsin uses, checked. */
interface Attributes {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject?: string;
  /** `time`, epoch ms. */
  readonly time?: number;
}

/** The media type of a Content-Type value: lower case, without parameters. */
function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/** An RFC 3339 timestamp → epoch ms, or undefined if it is not one. */
function timestamp(s: string): number | undefined {
  const ms = parseRfc3339(s) ?? Number.NaN;
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

// ---- structured mode: the event as a JSON object ------------------------------------------------

const specversion = z.unknown().transform((v, ctx) => {
  if (v === SPEC_VERSION) return v;
  ctx.issues.push({
    code: 'custom',
    input: v,
    message: v == null ? `is required: "${SPEC_VERSION}"` : `must be "${SPEC_VERSION}" (tocsin speaks CloudEvents 1.0), got ${describe(v)}`,
  });
  return z.NEVER;
});

const time = optString.transform((s, ctx) => {
  if (s === undefined) return undefined;
  const ms = timestamp(s);
  if (ms === undefined) ctx.issues.push({ code: 'custom', input: s, message: `${TIME_MSG}, got ${describe(s)}` });
  return ms;
});

// In the order the checks are reported: specversion first.
export const eventSchema = z.object(
  { specversion, id: requiredString, source: requiredString, type: requiredString, subject: optString, time, datacontenttype: optString },
  { error: (iss) => `must be a CloudEvent (a JSON object), got ${describe(iss.input)}` },
);

/** One structured event → an alarm; `prefix` is its path (`[2]` in a batch, empty alone). */
function structuredEvent(raw: unknown, prefix: string, ctx: CloudEventsContext): ParsedAlarm {
  const r = eventSchema.safeParse(raw);
  if (!r.success) throw issueToIngestError(prefix, r.error.issues[0]!);
  const event = raw as Record<string, unknown>;
  const at = (field: string) => (prefix === '' ? field : `${prefix}.${field}`);
  // null is an unset attribute (json-format.md 2.2).
  if (event.data_base64 != null) {
    throw new IngestError(at('data_base64'), 'is not accepted: send data as JSON, an alarm object in tocsin\'s schema (as POST /v1/alarms takes)');
  }
  const contentType = r.data.datacontenttype;
  if (contentType !== undefined && !JSON_MEDIA_TYPE.test(mediaType(contentType))) {
    throw new IngestError(
      at('datacontenttype'),
      `must declare JSON (application/json or a +json type): data is an alarm object, got ${describe(contentType)}`,
    );
  }
  if (!Object.hasOwn(event, 'data')) {
    throw new IngestError(at('data'), 'is required: the alarm, an object in tocsin\'s schema (as POST /v1/alarms takes)');
  }
  return toAlarm(event.data, at('data'), JSON.stringify(event.data), r.data, ctx);
}

// ---- binary mode: attributes in ce-* headers ----------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A ce-* header value → the attribute's string (http-protocol-binding.md 3.1.3.2): a double-quoted value is
 * unquoted first, then one round of percent-decoding; bytes that are not UTF-8 (overlong forms included) are refused.
 */
function headerValue(ctx: CloudEventsContext, name: string): string | undefined {
  let v = ctx.header(name);
  if (v === undefined) return undefined;
  v = v.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).replace(/\\(.)/gs, '$1');
  if (!/[%\u0080-\uffff]/.test(v)) return v;
  const bytes: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const hex = v.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new IngestError(name, `has a % not followed by two hex digits: ${describe(v)}`);
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (c > 0xff) {
      throw new IngestError(name, 'must be percent-encoded UTF-8');
    } else bytes.push(c); // a header's raw bytes arrive as Latin-1 characters
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw new IngestError(name, 'is not UTF-8 once percent-decoded');
  }
}

function binaryEvent(body: string, ctx: CloudEventsContext): ParsedAlarm {
  const version = headerValue(ctx, 'ce-specversion');
  if (version === undefined || version === '') throw new IngestError('ce-specversion', `is required: ${BINARY_HINT}`);
  if (version !== SPEC_VERSION) {
    throw new IngestError('ce-specversion', `must be "${SPEC_VERSION}" (tocsin speaks CloudEvents 1.0), got ${describe(version)}`);
  }
  const required = (name: string): string => {
    const v = headerValue(ctx, name);
    if (v === undefined || v === '') throw new IngestError(name, `is required: ${BINARY_HINT}`);
    return v;
  };
  const id = required('ce-id');
  const source = required('ce-source');
  const type = required('ce-type');
  const subject = headerValue(ctx, 'ce-subject') || undefined;
  const timeText = headerValue(ctx, 'ce-time') || undefined;
  const ms = timeText === undefined ? undefined : timestamp(timeText);
  if (timeText !== undefined && ms === undefined) throw new IngestError('ce-time', `${TIME_MSG}, got ${describe(timeText)}`);
  if (body.trim() === '') throw new IngestError('body', 'is empty: in binary mode the body is the alarm, an object in tocsin\'s schema');
  const attrs: Attributes = { id, source, type, ...(subject !== undefined && { subject }), ...(ms !== undefined && { time: ms }) };
  // The body is `data`: its field paths are the body's own (as for POST /v1/alarms).
  return toAlarm(parseJsonLossless(body), '', body, attrs, ctx);
}

// ---- data → alarm -------------------------------------------------------------------------------

/**
 * `data` (already parsed, and as JSON text) → the alarm, read by the generic format's parser; its errors are
 * re-reported under `prefix` (`data.labels.host`, `[1].data.severity`).
 */
function toAlarm(data: unknown, prefix: string, text: string, attrs: Attributes, ctx: CloudEventsContext): ParsedAlarm {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new IngestError(prefix || 'body', `must be an alarm object in tocsin's schema (as POST /v1/alarms takes), got ${describe(data)}`);
  }
  let item: ParsedAlarm;
  try {
    const out = parseGeneric(text, ctx);
    item = (out.kind === 'alarms' ? out.items[0] : undefined)!;
  } catch (e) {
    if (!(e instanceof IngestError) || prefix === '') throw e;
    throw new IngestError(e.field === 'body' ? prefix : `${prefix}.${e.field}`, e.message, e.status);
  }
  const details: Record<string, JsonValue> = { type: attrs.type, source: attrs.source, id: attrs.id };
  if (attrs.subject !== undefined) details.subject = attrs.subject;
  const alarm = {
    ...item.alarm,
    ...(item.alarm.occurredAt === undefined && attrs.time !== undefined && { occurredAt: attrs.time }),
    details,
  };
  // A CloudEvent is identified by source + id (the spec's uniqueness rule): a redelivery is a repeat.
  return { alarm, naturalKey: `ce:${JSON.stringify([attrs.source, attrs.id])}` };
}

/**
 * Parse a CloudEvents request in the mode its Content-Type says. An empty batch is ignored (200).
 * @throws IngestError(field, message): the field is an attribute (`specversion`, `[2].id`), a header
 * (`ce-specversion`) or a path in the data (`data.labels.host`).
 */
export function parseCloudEvents(body: string, ctx: CloudEventsContext): ParseOutcome {
  const type = mediaType(ctx.header('content-type'));
  if (type === BATCH_TYPE || type.startsWith('application/cloudevents-batch')) {
    const doc = parseJsonLossless(body);
    if (!Array.isArray(doc)) {
      throw new IngestError('body', `must be a JSON array of CloudEvents (${BATCH_TYPE}), got ${describe(doc)}`);
    }
    if (doc.length === 0) return { kind: 'ignored', reason: 'empty batch: no events' };
    return { kind: 'alarms', items: doc.map((e, i) => structuredEvent(e, `[${i}]`, ctx)) };
  }
  if (type.startsWith('application/cloudevents')) {
    const doc = parseJsonLossless(body);
    if (Array.isArray(doc)) {
      throw new IngestError('body', `must be one CloudEvent (a JSON object); send an array as ${BATCH_TYPE}`);
    }
    return { kind: 'alarms', items: [structuredEvent(doc, '', ctx)] };
  }
  return { kind: 'alarms', items: [binaryEvent(body, ctx)] };
}

/** POST /v1/cloudevents: no options. */
export const cloudeventsFormat = defineFormat({
  name: 'cloudevents',
  path: '/v1/cloudevents',
  defaultSource: 'cloudevents',
  options: z.strictObject({}),
  parse: (body, ctx) => parseCloudEvents(body, ctx),
});
