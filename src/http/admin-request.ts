/**
 * @module http/admin-request
 * What the admin API's route files share (src/http/silence-routes.ts, src/http/check-admin-routes.ts):
 * the admin token check, the JSON body (content type, size, an aborted or non-JSON body), the field a zod
 * issue names, and a storage fault as 503 with Retry-After.
 */
import { BackpressureError } from '../ingest/accept.ts';
import type { Context } from 'hono';
import type { z } from 'zod';
import { StorageUnavailableError } from '../outbox/storage-fault.ts';
import type { AdminAuthResult } from './admin-auth.ts';
import { BodyTooLarge, ClientAborted, readBodyText } from './body.ts';
import { errorResponse } from './errors.ts';

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;
/** The largest body an admin request may have. */
export const MAX_BODY = 64 * 1024;

/** The admin check of every admin route: undefined when allowed, else the error answer. */
export function denied(c: Context, authenticateAdmin: (authorization: string | undefined) => AdminAuthResult): Response | undefined {
  const auth = authenticateAdmin(c.req.header('authorization'));
  if (auth.ok) return undefined;
  return errorResponse(c, auth.status === 401 ? 'unauthorized' : 'forbidden', auth.message);
}

/** The request's JSON body, or the error answer (415, 413 naming `what`, 400). */
export async function readJsonBody(c: Context, what: string): Promise<{ ok: true; body: unknown } | { ok: false; response: Response }> {
  const type = c.req.header('content-type');
  if (type !== undefined && !JSON_TYPE.test(type)) return { ok: false, response: errorResponse(c, 'unsupported_media_type', 'Content-Type must be application/json') };
  try {
    const raw = await readBodyText(c, MAX_BODY);
    return { ok: true, body: JSON.parse(raw) };
  } catch (e) {
    if (e instanceof BodyTooLarge) return { ok: false, response: errorResponse(c, 'payload_too_large', `${what} is at most ${MAX_BODY} bytes`) };
    if (e instanceof ClientAborted) return { ok: false, response: errorResponse(c, 'invalid_request', 'the request body ended before it was complete') };
    return { ok: false, response: errorResponse(c, 'invalid_request', 'the body is not JSON', { field: 'body' }) };
  }
}

/** The field a zod issue is about: the unknown key, the path, else "body". */
export function issueField(iss: z.core.$ZodIssue): string {
  return iss.code === 'unrecognized_keys' ? iss.keys[0]! : iss.path.map(String).join('.') || 'body';
}

/** A storage fault while changing something: 503 with Retry-After (nothing was changed). */
export async function storing(c: Context, run: () => Promise<Response>): Promise<Response> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof StorageUnavailableError || e instanceof BackpressureError) return errorResponse(c, 'unavailable', e.message, { retryAfterSec: e.retryAfterSec });
    throw e;
  }
}
