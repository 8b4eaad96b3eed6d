/**
 * @module http/ingest-routes
 * POST endpoints for every source format: auth → content type → body within limit → parse → accept.
 * 202 is answered only after the alarm and its notifications are committed.
 */
import { Hono } from 'hono';
import { IngestError } from '../ingest/errors.ts';
import { BackpressureError, type Acceptor } from '../ingest/accept.ts';
import { StorageUnavailableError } from '../outbox/storage-fault.ts';
import { INGEST_FORMATS, parseRequest } from '../ingest/formats.ts';
import type { ParseContext } from '../ingest/format.ts';
import type { SkipReason } from '../ingest/types.ts';
import type { Logger } from '../lib/logger.ts';
import { coerceError } from '../lib/errors.ts';
import type { AuthResult } from './auth.ts';
import { CODE_BY_STATUS, errorResponse } from './errors.ts';
import { BodyTooLarge, ClientAborted, readBodyText } from './body.ts';
import type { SignatureResult, SignedRequest } from './signature.ts';

export interface IngestRouteDeps {
  readonly accept: Acceptor;
  /** A request refused for its content (an IngestError: 400, or 413 for too many alarms): counted per source. */
  readonly rejected?: (source: string) => void;
  readonly authenticate: (authorization: string | undefined) => AuthResult;
  readonly maxBodyBytes: number;
  readonly maxBatch: number;
  /** Each format's options by format name (config ingest.formats). */
  readonly formatOptions: Readonly<Record<string, unknown>>;
  readonly hash: (text: string) => string;
  readonly now: () => number;
  readonly logger: Logger;
  /** Counts the messages a parser dropped (alarm TTL, ignored states). */
  readonly skipped?: (source: string, reason: SkipReason, n: number) => void;
  /**
   * Signed ingest (see http/signature): `active()` when some source has a signing secret; `verify`
   * says which source signed a request that has no Authorization header but a `webhook-signature`.
   */
  readonly signatures?: { active(): boolean; verify(req: SignedRequest): SignatureResult };
}

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;
const MAX_IDEMPOTENCY_KEY = 255;

type IngestEnv = { Variables: { source: string | undefined; internal: boolean; signed: boolean } };

export function ingestRoutes(deps: IngestRouteDeps): Hono {
  const app = new Hono<IngestEnv>();
  for (const format of INGEST_FORMATS) {
    // A config made elsewhere (a test, an embedding) may leave a format out: its defaults apply.
    const options = deps.formatOptions[format.name] ?? format.options.parse({});
    app.post(
      format.path,
      async (c, next) => {
        const authorization = c.req.header('authorization') || undefined;
        // Signed (Standard Webhooks) instead of a token, when a source signs: checked once the body is read.
        const signed = authorization === undefined && c.req.header('webhook-signature') !== undefined && deps.signatures?.active() === true;
        const auth = signed ? { ok: true as const, source: undefined } : deps.authenticate(authorization);
        if (!auth.ok) return errorResponse(c, 'unauthorized', auth.message);
        c.set('source', auth.source);
        c.set('internal', 'internal' in auth && auth.internal === true);
        c.set('signed', signed);
        const type = c.req.header('content-type');
        if (type !== undefined && !JSON_TYPE.test(type)) {
          return errorResponse(c, 'unsupported_media_type', `Content-Type must be application/json, not ${JSON.stringify(type.slice(0, 100))}`);
        }
        await next();
      },
      async (c) => {
        let authSource = c.get('source');
        let idempotencyKey = c.req.header('idempotency-key');
        if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY)) {
          return errorResponse(c, 'invalid_request', `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY} characters`, { field: 'Idempotency-Key' });
        }
        try {
          const body = await readBodyText(c, deps.maxBodyBytes);
          if (c.get('signed')) {
            const header = (name: string) => c.req.header(name);
            const v = deps.signatures!.verify({ id: header('webhook-id'), timestamp: header('webhook-timestamp'), signature: header('webhook-signature'), body });
            if (!v.ok) return errorResponse(c, 'unauthorized', v.message);
            authSource = v.source;
            // The signed webhook-id stands for the request, whatever Idempotency-Key (not signed) says: a
            // replay within the tolerance is a repeat (config keeps idempotency_ttl at least as long).
            idempotencyKey = `webhook-id:${deps.hash(v.id)}`;
          }
          const ctx: ParseContext = {
            source: authSource ?? format.defaultSource,
            sourceIsAuthenticated: authSource !== undefined,
            now: deps.now(),
            header: (name) => c.req.header(name),
            param: (name) => c.req.param(name),
            hash: deps.hash,
          };
          const outcome = parseRequest(format, body, ctx, options, deps.maxBatch);
          for (const [reason, n] of Object.entries(outcome.skipped ?? {})) deps.skipped?.(ctx.source, reason as SkipReason, n);
          if (outcome.kind === 'ignored') return c.json({ ignored: outcome.reason }, 200);
          const r = await deps.accept({
            source: ctx.source,
            items: outcome.items,
            ...(c.get('internal') && { internal: true }),
            ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
          });
          const out: Record<string, unknown> = { alarm_ids: r.alarmIds, notification_ids: r.notificationIds };
          if (r.duplicates > 0) out.duplicates = r.duplicates;
          if (r.unrouted.length > 0) out.unrouted = r.unrouted;
          return c.json(out, r.status);
        } catch (e) {
          if (e instanceof BodyTooLarge) {
            return errorResponse(c, 'payload_too_large', `request body is larger than ingest.max_body (${deps.maxBodyBytes} bytes)`);
          }
          if (e instanceof IngestError) {
            deps.rejected?.(authSource ?? format.defaultSource);
            return errorResponse(c, CODE_BY_STATUS[e.status] ?? 'invalid_request', e.message, { field: e.field });
          }
          if (e instanceof BackpressureError) return errorResponse(c, 'overloaded', e.message, { retryAfterSec: e.retryAfterSec });
          if (e instanceof ClientAborted) {
            // Not a storage failure: nothing was parsed or stored, and the answer most likely reaches no one.
            deps.logger.debug({ path: format.path, err: e.message }, 'client aborted the request mid-body; nothing was accepted');
            return errorResponse(c, 'invalid_request', 'the request body ended before it was complete; nothing was accepted');
          }
          // A storage fault (locked elsewhere, disk full, file gone) is logged once when it begins, not per request.
          if (e instanceof StorageUnavailableError) return errorResponse(c, 'unavailable', e.message, { retryAfterSec: e.retryAfterSec });
          deps.logger.error({ path: format.path, err: coerceError(e).message }, 'could not store alarm; answered 503');
          return errorResponse(c, 'unavailable', 'could not store the alarm; nothing was accepted, retry later', { retryAfterSec: 5 });
        }
      },
    );
  }
  return app as unknown as Hono;
}
