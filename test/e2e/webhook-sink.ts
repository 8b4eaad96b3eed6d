/**
 * A webhook receiver for end-to-end tests: node:http on 127.0.0.1, port 0.
 * Records every request (envelope fields, raw body, headers, the answer it chose), tracks which
 * notifications were accepted (answered 2xx, response fully written) and how often, and can be told
 * to fail: a behaviour function decides the answer of each request (status, Retry-After, delay, or a
 * dropped connection).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { listenOnLoopback, waitUntil } from '../support/peer-server.ts';

/** What the sink does with one request. */
export interface SinkAnswer {
  /** HTTP status to answer (default 200). */
  readonly status?: number;
  /** Value of a Retry-After header, if any. */
  readonly retryAfter?: string | number;
  /** Wait this long before answering. */
  readonly delayMs?: number;
  /** Destroy the connection instead of answering (after delayMs). */
  readonly drop?: boolean;
  /** Response body (default: a short JSON text). */
  readonly body?: string;
}

/** The parsed parts of a request the behaviour may look at. */
export interface SinkRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** 0-based index of this request among all requests the sink received. */
  readonly index: number;
  /** The envelope, when the body was a JSON object. */
  readonly envelope: EnvelopeLike | undefined;
}

export type SinkBehavior = (req: SinkRequest) => SinkAnswer | number;

/** Just the fields of the tocsin envelope the sink indexes by. */
export interface EnvelopeLike {
  readonly version?: string;
  readonly notification_id?: string;
  readonly attempt?: number;
  readonly method?: string;
  readonly alarm?: { readonly id?: string; readonly labels?: Record<string, string>; readonly [k: string]: unknown };
}

export interface ReceivedRequest {
  readonly index: number;
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly envelope: EnvelopeLike | undefined;
  readonly notificationId: string | undefined;
  readonly alarmId: string | undefined;
  readonly attempt: number | undefined;
  /** What the sink decided to answer. */
  readonly answer: { readonly status: number; readonly retryAfter?: string; readonly delayMs: number; readonly drop: boolean };
  /** Set once the 2xx response was completely handed to the socket: the notification counts as delivered. */
  accepted: boolean;
  /** Set when the client went away before the answer was written. */
  clientGone: boolean;
}

export interface SinkCounts {
  /** Every request received. */
  readonly requests: number;
  /** Requests answered with a completely written 2xx. */
  readonly accepted: number;
  /** Distinct notification ids accepted at least once. */
  readonly uniqueNotifications: number;
  /** Distinct alarm ids accepted at least once. */
  readonly uniqueAlarms: number;
  /** Accepted deliveries beyond the first per notification id. */
  readonly duplicates: number;
  /** Requests answered with a non-2xx status or dropped. */
  readonly failed: number;
  /** Requests whose client disconnected before the answer. */
  readonly clientGone: number;
}

export interface WebhookSink {
  readonly port: number;
  /** http://127.0.0.1:PORT/hook */
  readonly url: string;
  /** Every request, in arrival order. */
  readonly requests: readonly ReceivedRequest[];
  /** notification id → number of accepted deliveries. */
  readonly acceptedByNotification: ReadonlyMap<string, number>;
  /** alarm id → the first accepted envelope for it. */
  readonly firstAcceptedByAlarm: ReadonlyMap<string, ReceivedRequest>;
  /** Replace the behaviour (e.g. `() => 200` to stop failing). */
  setBehavior(behavior: SinkBehavior): void;
  counts(): SinkCounts;
  /** Resolves when pred() holds (checked on every accepted delivery and every 100 ms); false on timeout. */
  waitUntil(pred: () => boolean, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export const alwaysOk: SinkBehavior = () => 200;

export interface FlakyOptions {
  /** Share of requests answered 500 (default 0.1). */
  readonly http500?: number;
  /** Share answered 503 with Retry-After: 0 (default 0.1). */
  readonly http503?: number;
  /** Share answered 200 after a delay (default 0.05). */
  readonly slow?: number;
  /** Delay range of slow answers in ms (default [100, 1500]). */
  readonly slowMs?: readonly [number, number];
  /** Share of connections dropped without an answer (default 0). */
  readonly drop?: number;
}

/** A behaviour failing at random (from the given PRNG): 500s, 503s with Retry-After: 0, slow 200s, drops. */
export function flakyBehavior(random: () => number, opts: FlakyOptions = {}): SinkBehavior {
  const p500 = opts.http500 ?? 0.1;
  const p503 = opts.http503 ?? 0.1;
  const pSlow = opts.slow ?? 0.05;
  const pDrop = opts.drop ?? 0;
  const [lo, hi] = opts.slowMs ?? [100, 1500];
  return () => {
    const r = random();
    if (r < p500) return { status: 500, body: 'sink: simulated failure' };
    if (r < p500 + p503) return { status: 503, retryAfter: 0, body: 'sink: simulated overload' };
    if (r < p500 + p503 + pDrop) return { drop: true };
    if (r < p500 + p503 + pDrop + pSlow) return { status: 200, delayMs: lo + Math.floor(random() * (hi - lo)) };
    return 200;
  };
}

function parseEnvelope(body: string): EnvelopeLike | undefined {
  try {
    const v: unknown = JSON.parse(body);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as EnvelopeLike) : undefined;
  } catch {
    return undefined;
  }
}

export async function startWebhookSink(opts: { behavior?: SinkBehavior; path?: string } = {}): Promise<WebhookSink> {
  let behavior: SinkBehavior = opts.behavior ?? alwaysOk;
  const path = opts.path ?? '/hook';
  const requests: ReceivedRequest[] = [];
  const acceptedByNotification = new Map<string, number>();
  const firstAcceptedByAlarm = new Map<string, ReceivedRequest>();
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const waiters = new Set<() => void>();
  let accepted = 0;
  let failed = 0;
  let clientGone = 0;
  let closed = false;

  const notify = () => {
    for (const w of [...waiters]) w();
  };

  const onAccepted = (r: ReceivedRequest) => {
    r.accepted = true;
    accepted++;
    if (r.notificationId !== undefined) acceptedByNotification.set(r.notificationId, (acceptedByNotification.get(r.notificationId) ?? 0) + 1);
    if (r.alarmId !== undefined && !firstAcceptedByAlarm.has(r.alarmId)) firstAcceptedByAlarm.set(r.alarmId, r);
    notify();
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const envelope = parseEnvelope(body);
    const index = requests.length;
    const sreq: SinkRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, index, envelope };
    let answer: SinkAnswer;
    try {
      const a = behavior(sreq);
      answer = typeof a === 'number' ? { status: a } : a;
    } catch (e) {
      answer = { status: 500, body: `sink behaviour threw: ${String(e)}` };
    }
    const status = (req.url ?? '').split('?')[0] === path ? (answer.status ?? 200) : 404;
    const drop = answer.drop ?? false;
    const delayMs = Math.max(0, answer.delayMs ?? 0);
    const retryAfter = answer.retryAfter === undefined ? undefined : String(answer.retryAfter);
    const rec: ReceivedRequest = {
      index,
      at: Date.now(),
      method: sreq.method,
      path: sreq.path,
      headers: req.headers,
      body,
      envelope,
      notificationId: typeof envelope?.notification_id === 'string' ? envelope.notification_id : undefined,
      alarmId: typeof envelope?.alarm?.id === 'string' ? envelope.alarm.id : undefined,
      attempt: typeof envelope?.attempt === 'number' ? envelope.attempt : undefined,
      answer: { status, delayMs, drop, ...(retryAfter !== undefined ? { retryAfter } : {}) },
      accepted: false,
      clientGone: false,
    };
    requests.push(rec);
    const ok = !drop && status >= 200 && status <= 299;
    if (!ok) failed++;

    const respond = () => {
      if (req.socket.destroyed || res.destroyed) {
        rec.clientGone = true;
        clientGone++;
        return;
      }
      if (drop) {
        req.socket.destroy();
        return;
      }
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
      res.once('finish', () => {
        if (ok) onAccepted(rec);
      });
      res.writeHead(status, headers);
      res.end(answer.body ?? JSON.stringify({ ok }));
    };
    if (delayMs > 0) {
      const t = setTimeout(() => {
        timers.delete(t);
        respond();
      }, delayMs);
      timers.add(t);
    } else respond();
  };

  const server: Server = createServer((req, res) => {
    res.on('error', () => {});
    req.on('error', () => {});
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.keepAliveTimeout = 30_000;
  const port = await listenOnLoopback(server, sockets);

  return {
    port,
    url: `http://127.0.0.1:${port}${path}`,
    requests,
    acceptedByNotification,
    firstAcceptedByAlarm,
    setBehavior(b) {
      behavior = b;
    },
    counts() {
      let duplicates = 0;
      for (const n of acceptedByNotification.values()) duplicates += n - 1;
      return {
        requests: requests.length,
        accepted,
        uniqueNotifications: acceptedByNotification.size,
        uniqueAlarms: firstAcceptedByAlarm.size,
        duplicates,
        failed,
        clientGone,
      };
    },
    waitUntil(pred, timeoutMs) {
      return waitUntil(pred, timeoutMs, waiters, 100);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const done = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}

/**
 * The values of label `label` of the alarms the sink accepted, kept up to date incrementally (cheap to call
 * on every delivery, as waitUntil does): counts alarms across relays whose alarm ids differ.
 */
export function acceptedLabels(sink: WebhookSink, label: string): () => Set<string | undefined> {
  const seen = new Set<string | undefined>();
  let scanned = 0;
  return () => {
    for (; scanned < sink.requests.length; scanned++) {
      const r = sink.requests[scanned]!;
      if (r.answer.status === 200) seen.add(r.envelope?.alarm?.labels?.[label]);
    }
    return seen;
  };
}
