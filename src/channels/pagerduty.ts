/**
 * @module channels/pagerduty
 * Trigger and resolve PagerDuty alerts through the Events API v2: one JSON event per notification,
 * POSTed to `<url>/v2/enqueue` (default https://events.pagerduty.com; EU accounts use
 * https://events.eu.pagerduty.com).
 *
 * Followed (PagerDuty's own docs and schema):
 * - https://github.com/PagerDuty/developer-docs/blob/main/docs/events-API-v2/02-Trigger-Events.md
 *   (fields; routing_key is the 32-character integration key; dedup_key ≤ 255 characters; summary ≤ 1024)
 * - https://github.com/PagerDuty/developer-docs/blob/main/docs/events-API-v2/01-Overview.md
 *   (202 accepted; 400 invalid, do not retry; 429 and 5xx retry; payloads are limited to 512 KB)
 * - https://github.com/PagerDuty/api-schema/blob/main/reference/events-v2/openapiv3.json
 *   (the request schema; 202 `{status, message, dedup_key}`; error bodies `{status, message, errors[]}`)
 *
 * The mapping:
 * - `event_action`: `trigger` for a firing alarm, `resolve` for a resolved one; `dedup_key`: the alarm's
 *   dedup key, so the resolve closes what the trigger opened (no remote reference is needed). A key over
 *   PagerDuty's 255 characters is shortened the same way every time (a prefix and its SHA-256).
 * - `payload.summary`: the rendered `title` template, cut to 1024 characters (the alarm's name if blank).
 * - `payload.source`: the affected system, which PagerDuty prefers as a host name: the alarm's `host`,
 *   `hostname` or `instance` label, else the alarm's source (the ingest source's name). The alarm's
 *   source is always in `custom_details.source`.
 * - `payload.severity`: the alarm's, 1:1 (tocsin's severities are PagerDuty's); `timestamp`: occurred_at;
 *   `class`: the alarm's name; `custom_details`: ids, summary, description, labels, annotations, details.
 * - `links`: every annotation whose value is an http(s) URL (runbook, dashboard…), its name as the text.
 * - A notification with several alarms (grouping) sends ONE event, for the first alarm (its dedup key,
 *   status and severity); the others are listed in `custom_details.other_alarms`. PagerDuty correlates
 *   by dedup key, so a resolve of another alarm of the group closes nothing.
 * - Over 512 KB (512 000 bytes, the stricter reading), `custom_details` is replaced by a visible
 *   `{ truncated: "…" }` note (as Alertmanager does); if still too large, the links go too; if even that
 *   is too large, the send fails permanently.
 *
 * Outcomes follow the shared HTTP classifier (202 sent; 400 permanent; 429 and 5xx retried, honouring
 * Retry-After); PagerDuty's JSON error body is rewritten to its message and errors before it becomes the
 * error text. The routing key is redacted from every error text.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { Alarm } from '../domain/alarm.ts';
import type { Delivery } from '../domain/notification.ts';
import type { Secret } from '../lib/secret.ts';
import { TemplateError, type ChannelTemplates, type Renderer } from '../render/template.ts';
import { attemptHttp } from './http.ts';
import { checkHttpUrl } from './settings.ts';
import { defineChannel, type Channel, type ChannelDeps, type HttpClient, type HttpRequest, type HttpResponse } from './types.ts';

export const PAGERDUTY_URL = 'https://events.pagerduty.com';
export const ENQUEUE_PATH = '/v2/enqueue';
/** PagerDuty's payload limit, "512 KB", read as the smaller 512 000 bytes (as Alertmanager does). */
export const MAX_EVENT_BYTES = 512_000;
export const MAX_SUMMARY = 1024;
export const MAX_DEDUP_KEY = 255;
const USER_AGENT = 'tocsin';

export interface PagerDutySettings {
  readonly routingKey: Secret;
  /** Base URL; `/v2/enqueue` is appended (unless the URL already ends with it). */
  readonly url: string;
  /** `client`: the name of the monitoring tool shown on the alert. */
  readonly client: string;
  readonly clientUrl?: string;
}

/** What `buildPagerDutyRequest` takes from the templates. */
export interface PagerDutyRendered {
  readonly title: string;
}

export interface PagerDutyLink {
  readonly href: string;
  readonly text: string;
}

/** An Events API v2 alert event, as sent (key order is the wire order). */
export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'resolve';
  dedup_key: string;
  payload: {
    summary: string;
    source: string;
    severity: Alarm['severity'];
    timestamp: string;
    class: string;
    custom_details: Record<string, unknown>;
  };
  links?: PagerDutyLink[];
  client: string;
  client_url?: string;
}

/** At most `max` UTF-16 units (so at most `max` characters however counted), never splitting a pair; `…` marks a cut. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max - 1;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return `${text.slice(0, cut)}…`;
}

/** The alarm's dedup key, or for one over 255 characters a stable prefix + `…sha256:` + its hash (252 or fewer). */
export function pagerDutyDedupKey(key: string): string {
  if (key.length <= MAX_DEDUP_KEY) return key;
  const hash = createHash('sha256').update(key, 'utf8').digest('hex');
  const prefix = clip(key, 181).slice(0, -1); // ≤ 180 units, no split pair
  return `${prefix}…sha256:${hash}`;
}

/** The affected system: a host-like label, else the alarm's source. */
export function pagerDutySource(a: Alarm): string {
  for (const label of ['host', 'hostname', 'instance']) {
    const v = a.labels[label]?.trim();
    if (v) return v;
  }
  return a.source || 'tocsin';
}

/** Annotations whose whole value is an http(s) URL, as links (in the annotations' order). */
export function pagerDutyLinks(annotations: Readonly<Record<string, string>>): PagerDutyLink[] {
  const links: PagerDutyLink[] = [];
  for (const [name, value] of Object.entries(annotations)) {
    const v = value.trim();
    if (!/^https?:\/\/\S+$/i.test(v) || checkHttpUrl(v) !== undefined) continue;
    links.push({ href: v, text: name });
  }
  return links;
}

/** The enqueue endpoint under a base URL (its query kept); a URL already ending in /v2/enqueue is used as is. */
export function enqueueUrl(base: string): string {
  const u = new URL(base);
  const path = u.pathname.replace(/\/+$/, '');
  u.pathname = path.endsWith(ENQUEUE_PATH) ? path : `${path}${ENQUEUE_PATH}`;
  return u.href;
}

/** The alarm's own facts, for custom_details (absent fields left out). */
function alarmDetails(a: Alarm): Record<string, unknown> {
  return {
    alarm_id: a.id,
    source: a.source,
    ...(a.summary !== undefined && { summary: a.summary }),
    ...(a.description !== undefined && { description: a.description }),
    labels: { ...a.labels },
    annotations: { ...a.annotations },
    ...(a.details !== undefined && { details: a.details }),
  };
}

/** Pure: the event for a delivery (its first alarm; the others in custom_details.other_alarms). */
export function pagerDutyEvent(cfg: PagerDutySettings, rendered: PagerDutyRendered, d: Delivery): PagerDutyEvent {
  const [a, ...others] = d.alarms;
  if (!a) throw new Error('the notification carries no alarm');
  const title = rendered.title.trim() ? rendered.title : a.name;
  const links = pagerDutyLinks(a.annotations);
  return {
    routing_key: cfg.routingKey.reveal(),
    event_action: a.status === 'resolved' ? 'resolve' : 'trigger',
    dedup_key: pagerDutyDedupKey(a.dedupKey),
    payload: {
      summary: clip(title, MAX_SUMMARY),
      source: pagerDutySource(a),
      severity: a.severity,
      timestamp: new Date(a.occurredAt).toISOString(),
      class: a.name,
      custom_details: {
        notification_id: d.notificationId,
        ...alarmDetails(a),
        ...(others.length > 0 && {
          other_alarms: others.map((o) => ({ alarm_id: o.id, name: o.name, severity: o.severity, status: o.status, dedup_key: o.dedupKey, ...(o.summary !== undefined && { summary: o.summary }) })),
        }),
      },
    },
    ...(links.length > 0 && { links }),
    client: cfg.client,
    ...(cfg.clientUrl !== undefined && { client_url: cfg.clientUrl }),
  };
}

const utf8Bytes = (text: string): number => new TextEncoder().encode(text).length;

/**
 * The event as JSON within MAX_EVENT_BYTES: custom_details replaced by a visible note when too large,
 * then the links dropped; throws when even that does not fit.
 */
export function pagerDutyBody(event: PagerDutyEvent): string {
  const body = JSON.stringify(event);
  const size = utf8Bytes(body);
  if (size <= MAX_EVENT_BYTES) return body;
  const details = event.payload.custom_details;
  const truncated: PagerDutyEvent = {
    ...event,
    payload: {
      ...event.payload,
      custom_details: {
        truncated: `custom_details (${utf8Bytes(JSON.stringify(details))} bytes) removed: the event was ${size} bytes, over PagerDuty's ${MAX_EVENT_BYTES}-byte limit`,
        notification_id: details['notification_id'],
        alarm_id: details['alarm_id'],
      },
    },
  };
  const smaller = JSON.stringify(truncated);
  if (utf8Bytes(smaller) <= MAX_EVENT_BYTES) return smaller;
  const { links: _links, ...bare } = truncated;
  const smallest = JSON.stringify(bare);
  const left = utf8Bytes(smallest);
  if (left <= MAX_EVENT_BYTES) return smallest;
  throw new Error(`the event is ${left} bytes even without custom_details and links, over PagerDuty's ${MAX_EVENT_BYTES}-byte limit`);
}

/** Pure: the exact request for one attempt. Throws when the event cannot be made to fit. */
export function buildPagerDutyRequest(cfg: PagerDutySettings, rendered: PagerDutyRendered, d: Delivery): HttpRequest {
  return {
    method: 'POST',
    url: enqueueUrl(cfg.url),
    headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
    body: pagerDutyBody(pagerDutyEvent(cfg, rendered, d)),
  };
}

/** PagerDuty's error body `{status, message, errors[]}` as "message: error, error"; any other text as is. */
export function pagerDutyErrorText(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  if (parsed === null || typeof parsed !== 'object') return body;
  const { status, message, errors } = parsed as { status?: unknown; message?: unknown; errors?: unknown };
  const head = typeof message === 'string' && message ? message : typeof status === 'string' ? status : '';
  const list = Array.isArray(errors) ? errors.filter((e): e is string => typeof e === 'string') : [];
  if (!head && list.length === 0) return body;
  return list.length > 0 ? `${head || 'error'}: ${list.join(', ')}` : head;
}

/** The client, with failure bodies made readable (attemptHttp redacts them afterwards). */
function readableErrors(http: HttpClient): HttpClient {
  return async (req, signal) => {
    const res = await http(req, signal);
    if (res.status >= 200 && res.status <= 299) return res;
    const clean: HttpResponse = { status: res.status, header: (name) => res.header(name), bodyExcerpt: pagerDutyErrorText(String(res.bodyExcerpt ?? '')) };
    return clean;
  };
}

export function createPagerDutyChannel(method: string, cfg: PagerDutySettings, deps: ChannelDeps, renderer?: Renderer): Channel {
  const http = readableErrors(deps.http);
  const now = () => deps.clock.now();
  return {
    method,
    async send(d, signal) {
      let req: HttpRequest;
      try {
        // Without a title template (a renderer with none), the summary falls back to the alarm's name.
        req = buildPagerDutyRequest(cfg, { title: renderer?.render('title', d) ?? '' }, d);
      } catch (e) {
        if (e instanceof TemplateError) return { outcome: 'permanent', error: `template error in title: ${e.message}` };
        return { outcome: 'permanent', error: `cannot build request: ${e instanceof Error ? e.message : String(e)}` };
      }
      return attemptHttp(http, req, signal, { now, secrets: [cfg.routingKey] });
    },
  };
}

/** The summary's default: severity (or "resolved"), name, and the alarm's summary; grouped alarms counted. */
const MORE = '<% if (it.alarms.length > 1) { %> (+<%= it.alarms.length - 1 %> more)<% } %>';
const SUMMARY = "<%= it.alarm.summary ? ': ' + it.alarm.summary : '' %>";
export const PAGERDUTY_TEMPLATES: ChannelTemplates = {
  parts: ['title'],
  firing: { title: `[<%= it.alarm.severity %>] <%= it.alarm.name %>${SUMMARY}${MORE}` },
  resolved: { title: `[resolved] <%= it.alarm.name %>${SUMMARY}${MORE}` },
};

/** Secret check: PagerDuty's integration keys are 32 characters (letters and digits). Never echoes the value. */
export function checkRoutingKey(v: string): string | undefined {
  return /^[A-Za-z0-9]{32}$/.test(v) ? undefined : 'must be the 32-character integration key of an Events API v2 integration';
}

export const pagerdutyChannel = defineChannel({
  type: 'pagerduty',
  summary: 'trigger and resolve PagerDuty alerts (Events API v2), one event per notification keyed by the alarm\'s dedup key',
  fields: z.strictObject({
    url: z.string().describe('the Events API base URL (`https://events.eu.pagerduty.com` for EU accounts); `/v2/enqueue` is appended'),
    client: z.string().min(1).describe('the monitoring client named on the alert'),
    client_url: z.string().optional().describe('a link to the monitoring client shown on the alert'),
  }),
  defaults: { url: PAGERDUTY_URL, client: 'tocsin' },
  // Events API v2: about 120 events a minute per routing key (docs 05-Rate-Limits.md); bursts of 20.
  rateLimit: { perSecond: 2, burst: 20 },
  opensIncidents: true,
  templates: PAGERDUTY_TEMPLATES,
  secrets: {
    routing_key: {
      required: true,
      check: checkRoutingKey,
      description: 'the integration key (routing key) of an Events API v2 integration on a PagerDuty service or ruleset',
    },
  },
  settings: (f, s, problem): PagerDutySettings => {
    const urlProblem = checkHttpUrl(f.url);
    if (urlProblem) problem('url', urlProblem);
    const clientUrlProblem = f.client_url === undefined ? undefined : checkHttpUrl(f.client_url);
    if (clientUrlProblem) problem('client_url', clientUrlProblem);
    return {
      routingKey: s.routing_key!,
      url: f.url,
      client: f.client,
      ...(f.client_url !== undefined && { clientUrl: f.client_url }),
    };
  },
  create: (method, settings, deps, renderer) => createPagerDutyChannel(method, settings, deps, renderer),
});
