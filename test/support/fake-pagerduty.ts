/**
 * A strict fake of PagerDuty's Events API v2 (alert events) for the pagerduty channel's tests: node:http
 * on 127.0.0.1, port 0. Configure its `url` (the base URL) as the channel's `url`.
 *
 * Written from PagerDuty's docs and schema:
 * https://github.com/PagerDuty/developer-docs/blob/main/docs/events-API-v2/02-Trigger-Events.md,
 * https://github.com/PagerDuty/developer-docs/blob/main/docs/events-API-v2/01-Overview.md and
 * https://github.com/PagerDuty/api-schema/blob/main/reference/events-v2/openapiv3.json.
 *
 * It answers like PagerDuty: 202 `{"status":"success","message":"Event processed","dedup_key":…}` for a
 * valid event; 400 `{"status":"invalid event","message":"Event object is invalid","errors":[…]}` for an
 * invalid one, and 400 "Event object format is unrecognized" for a body that is not a JSON object. Every
 * request is checked, and each problem is recorded in `violations` ("<what>: <problem>"):
 *
 * - POST to /v2/enqueue with Content-Type application/json; a body of at most 512 000 bytes;
 * - `routing_key`: 32 letters and digits; `event_action`: trigger, acknowledge or resolve;
 * - `dedup_key`: 1 to 255 characters; required for acknowledge and resolve (and always sent by tocsin);
 * - a trigger's `payload`: `summary` (not blank, ≤ 1024 characters), `source` (not blank), `severity`
 *   (critical, error, warning, info); `timestamp` ISO 8601; `custom_details` an object; a payload sent
 *   with another action is checked the same way;
 * - `links` [{href (http(s) URL), text?}], `images` [{src (https URL), href?, alt?}], `client`, `client_url`;
 * - no field the API does not define (PagerDuty may ignore one; tocsin must not send any: no 400 for it).
 *
 * Incidents are tracked per (routing key, dedup key), as PagerDuty does: a trigger opens one (or adds to
 * the open one), acknowledge acknowledges it, resolve resolves it; a resolve or acknowledge with no open
 * incident is dropped, still with 202. `fail(...)` queues answers for the next requests (400, 429 with
 * Retry-After, 5xx): such a request is checked and recorded but not ingested.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { closePeer, listenOnLoopback, waitUntil } from './peer-server.ts';

/** PagerDuty's "512 KB", read as the smaller 512 000 bytes (what tocsin keeps under). */
export const PAGERDUTY_BODY_LIMIT = 512_000;

const ACTIONS = ['trigger', 'acknowledge', 'resolve'] as const;
const SEVERITIES = ['critical', 'error', 'warning', 'info'];
const EVENT_FIELDS = new Set(['routing_key', 'event_action', 'dedup_key', 'payload', 'client', 'client_url', 'links', 'images']);
const PAYLOAD_FIELDS = new Set(['summary', 'source', 'severity', 'timestamp', 'component', 'group', 'class', 'custom_details']);
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

export type EventAction = (typeof ACTIONS)[number];

/** One request as received. */
export interface ReceivedRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly bytes: number;
  /** The body parsed, when it is a JSON object. */
  readonly event: Readonly<Record<string, any>> | undefined;
  /** The status answered. */
  readonly status: number;
}

/** An incident (PagerDuty: an alert and its incident), by routing key and dedup key. */
export interface FakeIncident {
  readonly routingKey: string;
  readonly dedupKey: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  /** The actions applied to it, in order. */
  readonly actions: EventAction[];
  /** The payload of the latest trigger. */
  payload: Readonly<Record<string, any>>;
}

/** A queued answer: a status, with PagerDuty's body for it; `echo` puts the request body in the error (to test redaction). */
export interface FakeFault {
  readonly status: 400 | 429 | 500 | 502 | 503;
  readonly retryAfter?: string;
  readonly errors?: readonly string[];
  readonly echo?: boolean;
}

export interface FakePagerDuty {
  readonly origin: string;
  /** The base URL to configure (the channel appends /v2/enqueue). */
  readonly url: string;
  readonly requests: readonly ReceivedRequest[];
  /** Every incident ever opened, in order. */
  readonly incidents: readonly FakeIncident[];
  /** The open (triggered or acknowledged) incident of a dedup key (any routing key unless given). */
  openIncident(dedupKey: string, routingKey?: string): FakeIncident | undefined;
  readonly violations: readonly string[];
  /** Queues answers: the next requests get them, one each, in order. */
  fail(...faults: FakeFault[]): void;
  /** Resolves true when pred() holds (checked on every request and every 50 ms), false on timeout. */
  waitUntil(pred: () => boolean, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

const BODIES: Readonly<Record<number, { status: string; message: string }>> = {
  429: { status: 'throttle event', message: 'Requests for this service are arriving too quickly. Please retry later.' },
  500: { status: 'error', message: 'Internal server error' },
  502: { status: 'error', message: 'Bad gateway' },
  503: { status: 'error', message: 'Service unavailable' },
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const blank = (v: unknown) => typeof v !== 'string' || v.trim() === '';
const isUrl = (v: unknown, protocols: readonly string[]): boolean => {
  if (typeof v !== 'string') return false;
  try {
    return protocols.includes(new URL(v).protocol);
  } catch {
    return false;
  }
};

/** What PagerDuty would reject in an event (→ 400), and what only tocsin must not do (→ still 202). */
export function checkEvent(e: Record<string, unknown>): { invalid: string[]; notes: string[] } {
  const invalid: string[] = [];
  const notes: string[] = [];
  for (const k of Object.keys(e)) if (!EVENT_FIELDS.has(k)) notes.push(`unknown field ${k}`);
  if (typeof e.routing_key !== 'string' || !/^[A-Za-z0-9]{32}$/.test(e.routing_key)) invalid.push('routing_key must be 32 letters and digits');
  const action = e.event_action;
  if (!ACTIONS.includes(action as EventAction)) invalid.push('event_action must be trigger, acknowledge or resolve');
  if (e.dedup_key === undefined) {
    if (action === 'trigger') notes.push('a trigger without dedup_key (tocsin always sends the alarm\'s)');
    else invalid.push('dedup_key is required for acknowledge and resolve');
  } else if (typeof e.dedup_key !== 'string' || e.dedup_key.length === 0 || e.dedup_key.length > 255) {
    invalid.push('dedup_key must be a string of 1 to 255 characters');
  }
  if (e.payload === undefined) {
    if (action === 'trigger') invalid.push('payload is required for a trigger');
  } else if (!isObject(e.payload)) invalid.push('payload must be an object');
  else {
    const p = e.payload;
    for (const k of Object.keys(p)) if (!PAYLOAD_FIELDS.has(k)) notes.push(`unknown field payload.${k}`);
    if (blank(p.summary)) invalid.push("'payload.summary' is missing or blank");
    else if ((p.summary as string).length > 1024) invalid.push(`payload.summary is ${(p.summary as string).length} characters, over 1024`);
    if (blank(p.source)) invalid.push("'payload.source' is missing or blank");
    if (!SEVERITIES.includes(p.severity as string)) invalid.push('payload.severity must be critical, error, warning or info');
    if (p.timestamp !== undefined && (typeof p.timestamp !== 'string' || !ISO_8601.test(p.timestamp) || Number.isNaN(Date.parse(p.timestamp)))) {
      invalid.push('payload.timestamp must be an ISO 8601 time');
    }
    for (const k of ['component', 'group', 'class']) if (p[k] !== undefined && typeof p[k] !== 'string') invalid.push(`payload.${k} must be a string`);
    if (p.custom_details !== undefined && !isObject(p.custom_details)) invalid.push('payload.custom_details must be an object');
  }
  if (e.links !== undefined) {
    if (!Array.isArray(e.links)) invalid.push('links must be an array');
    else for (const [i, l] of e.links.entries()) {
      if (!isObject(l) || !isUrl(l.href, ['http:', 'https:'])) invalid.push(`links[${i}].href must be an http(s) URL`);
      else if (l.text !== undefined && typeof l.text !== 'string') invalid.push(`links[${i}].text must be a string`);
    }
  }
  if (e.images !== undefined) {
    if (!Array.isArray(e.images)) invalid.push('images must be an array');
    else for (const [i, m] of e.images.entries()) if (!isObject(m) || !isUrl(m.src, ['https:'])) invalid.push(`images[${i}].src must be an https URL`);
  }
  if (e.client !== undefined && typeof e.client !== 'string') invalid.push('client must be a string');
  if (e.client_url !== undefined && !isUrl(e.client_url, ['http:', 'https:'])) invalid.push('client_url must be an http(s) URL');
  return { invalid, notes };
}

export async function startFakePagerDuty(opts: { readonly bodyLimit?: number } = {}): Promise<FakePagerDuty> {
  const bodyLimit = opts.bodyLimit ?? PAGERDUTY_BODY_LIMIT;
  const requests: ReceivedRequest[] = [];
  const incidents: FakeIncident[] = [];
  const violations: string[] = [];
  const faults: FakeFault[] = [];
  const sockets = new Set<Socket>();
  const waiters = new Set<() => void>();

  const open = (dedupKey: string, routingKey?: string) =>
    incidents.find((i) => i.dedupKey === dedupKey && (routingKey === undefined || i.routingKey === routingKey) && i.status !== 'resolved');

  /** PagerDuty's processing of a valid, ingested event. */
  const ingest = (e: Record<string, any>): string => {
    const action = e.event_action as EventAction;
    const dedupKey: string = e.dedup_key ?? randomUUID();
    const current = open(dedupKey, e.routing_key);
    if (action === 'trigger') {
      if (current) {
        current.actions.push('trigger');
        current.payload = e.payload;
      } else incidents.push({ routingKey: e.routing_key, dedupKey, status: 'triggered', actions: ['trigger'], payload: e.payload });
    } else if (current) {
      current.actions.push(action);
      current.status = action === 'resolve' ? 'resolved' : 'acknowledged';
    }
    return dedupKey;
  };

  /** Checks one request; returns [status, JSON body, extra headers]. */
  const handle = (method: string, target: string, headers: IncomingHttpHeaders, body: string, bytes: number): [number, unknown, Record<string, string>, Record<string, any> | undefined] => {
    const what = `${method} ${target}`;
    const violation = (problem: string) => violations.push(`${what}: ${problem}`);
    if (target.split('?')[0] !== '/v2/enqueue') {
      violation('not the enqueue endpoint (/v2/enqueue)');
      return [404, { status: 'not found', message: 'Not found' }, {}, undefined];
    }
    if (method !== 'POST') {
      violation('method is not POST');
      return [405, { status: 'method not allowed', message: 'Method not allowed' }, {}, undefined];
    }
    const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') violation(`content-type is ${JSON.stringify(headers['content-type'] ?? '')}, not application/json`);
    if (bytes > bodyLimit) violation(`body of ${bytes} bytes is over the ${bodyLimit}-byte limit`);
    let event: Record<string, any> | undefined;
    try {
      const parsed: unknown = JSON.parse(body);
      if (isObject(parsed)) event = parsed;
    } catch {
      // below
    }
    if (!event) {
      violation('the body is not a JSON object');
      return [400, { status: 'Unrecognized object', message: 'Event object format is unrecognized', errors: ['JSON parse error'] }, {}, undefined];
    }
    const { invalid, notes } = checkEvent(event);
    for (const p of [...invalid, ...notes]) violation(p);
    const fault = faults.shift();
    if (fault) {
      const extra = fault.echo ? [`received: ${body}`] : [];
      const errorBody = fault.status === 400
        ? { status: 'invalid event', message: 'Event object is invalid', errors: [...(fault.errors ?? ['Invalid routing key']), ...extra] }
        : { ...BODIES[fault.status]!, ...(extra.length > 0 && { errors: extra }) };
      return [fault.status, errorBody, fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {}, event];
    }
    if (invalid.length > 0 || type !== 'application/json' || bytes > bodyLimit) {
      const errors = invalid.length > 0 ? invalid : [bytes > bodyLimit ? 'Event is too large' : 'Unsupported content type'];
      return [400, { status: 'invalid event', message: 'Event object is invalid', errors }, {}, event];
    }
    return [202, { status: 'success', message: 'Event processed', dedup_key: ingest(event) }, {}, event];
  };

  const server: Server = createServer((req, res) => {
    res.on('error', () => {});
    req.on('error', () => {});
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const method = req.method ?? '';
      const target = req.url ?? '';
      let answer: ReturnType<typeof handle>;
      try {
        answer = handle(method, target, req.headers, raw.toString('utf8'), raw.length);
      } catch (e) {
        violations.push(`fake pagerduty failed: ${String(e)}`);
        answer = [500, { status: 'error', message: 'fake pagerduty failed' }, {}, undefined];
      }
      const [status, body, headers, event] = answer;
      requests.push({ method, target, headers: req.headers, body: raw.toString('utf8'), bytes: raw.length, event, status });
      for (const w of [...waiters]) w();
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    });
  });
  const port = await listenOnLoopback(server, sockets);
  const origin = `http://127.0.0.1:${port}`;
  let closed = false;
  return {
    origin,
    url: origin,
    requests,
    incidents,
    openIncident: open,
    violations,
    fail(...f) {
      faults.push(...f);
    },
    waitUntil(pred, timeoutMs) {
      return waitUntil(pred, timeoutMs, waiters, 50);
    },
    async close() {
      if (closed) return;
      closed = true;
      await closePeer(server, sockets);
    },
  };
}
