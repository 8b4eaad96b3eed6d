/**
 * @module http/api-kit
 * What the admin API's OpenAPI routes share (`@hono/zod-openapi`): `apiApp()`, an OpenAPIHono whose failed
 * validation answers with the catalogue's 400 naming the field (for a query parameter, its name); the
 * `admin(...)` and `jsonBody(...)` route middleware (the admin token first, then the body as
 * src/http/admin-request.ts reads it: content type, size, JSON); `openapiRoute(...)`, which mounts a route
 * definition with a handler that may answer any Response (error answers come from the catalogue); the
 * shared zod schemas (the error body, `limit` and `cursor`, RFC 3339 times) and `errorResponses(...)` for
 * route definitions; the opaque list cursor (base64url of JSON).
 *
 * A route file defines its routes with `createRoute({ ..., middleware: [admin(auth)], security: ADMIN_SECURITY })`
 * and mounts them on `apiApp()`; src/http/server.ts mounts that app with `app.route('/', ...)`, which copies
 * the definitions into the document served at /api/v1/openapi.json (src/http/openapi.ts).
 */
import { Buffer } from 'node:buffer';
import { OpenAPIHono, z, type RouteConfig, type RouteHandler } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { parseRfc3339 } from '../lib/rfc3339.ts';
import type { AdminAuthResult } from './admin-auth.ts';
import { denied, issueField, readJsonBody } from './admin-request.ts';
import { errorResponse } from './errors.ts';

/** The name of the admin bearer token's security scheme in the document. */
export const ADMIN_SCHEME = 'adminToken';
/** A route definition's `security` for the admin API. */
export const ADMIN_SECURITY = [{ [ADMIN_SCHEME]: [] }];
/** The name of a source token's security scheme (ingest and the alarm lookups). */
export const SOURCE_SCHEME = 'sourceToken';

/** An OpenAPIHono whose failed validation (query, path, body) answers 400 `invalid_request` naming the field. */
export function apiApp(): OpenAPIHono {
  return new OpenAPIHono({
    defaultHook: (result, c) => {
      if (result.success) return undefined;
      const iss = result.error.issues[0];
      if (!iss) return errorResponse(c, 'invalid_request', 'the request is invalid');
      const field = issueField(iss);
      return errorResponse(c, 'invalid_request', `${field}: ${iss.message}`, { field });
    },
  });
}

/** The handler's context for route definition `R`: `c.req.valid('query' | 'param' | 'json')` typed. */
export type RouteContext<R extends RouteConfig> = Parameters<RouteHandler<R>>[0];

/**
 * Mounts route definition `def` on `app` with `handler`. The handler may answer any Response: the success
 * bodies are documented by the definition's schemas (and checked by the tests), the error answers come
 * from the catalogue (src/http/errors.ts) as plain Responses, which the library's typing would refuse.
 */
export function openapiRoute<R extends RouteConfig>(
  app: OpenAPIHono,
  def: R,
  handler: (c: RouteContext<R>) => Response | Promise<Response>,
): void {
  app.openapi(def, handler as never);
}

/** Route middleware: the admin token check (401 no or unknown token, 403 a source token or no admin tokens). */
export function admin(authenticateAdmin: (authorization: string | undefined) => AdminAuthResult): MiddlewareHandler {
  return async (c, next) => {
    const no = denied(c, authenticateAdmin);
    if (no) return no;
    await next();
    return undefined;
  };
}

/**
 * Route middleware for a JSON body (after `admin(...)`): reads it as every admin route does (415 not JSON,
 * 413 over 64 KiB naming `what`, 400 not parseable) and hands it to the route's zod validation.
 */
export function jsonBody(what: string): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.header('content-type') === undefined) return errorResponse(c, 'unsupported_media_type', 'Content-Type must be application/json');
    const read = await readJsonBody(c, what);
    if (!read.ok) return read.response;
    // The validator reads the body through Hono's cache; the stream is consumed by now.
    const text = JSON.stringify(read.body);
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
    await next();
    return undefined;
  };
}

/** A route definition's JSON request body with `schema`. */
export function jsonRequest<T extends z.ZodType>(schema: T, description: string) {
  return { required: true, description, content: { 'application/json': { schema } } } as const;
}

/** A JSON response with `schema`. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } } as const;
}

/** The catalogue's error body (src/http/errors.ts). */
export const ErrorBody = z
  .object({
    error: z.string().openapi({ description: 'what went wrong, for people' }),
    code: z.enum([
      'invalid_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'payload_too_large', 'unsupported_media_type',
      'overloaded', 'unavailable', 'internal',
    ]),
    field: z.string().optional().openapi({ description: 'the field or parameter at fault (400)' }),
  })
  .openapi('Error');

const ERROR_DESCRIPTIONS = {
  400: 'invalid request (`field` names the parameter or body field)',
  401: 'no or unknown admin token',
  403: 'a source token, or no admin token configured (`admin.tokens`)',
  404: 'not found',
  409: 'conflict',
  413: 'the body is too large',
  415: 'the body is not JSON',
  503: 'storage unavailable or busy; retry after Retry-After seconds',
} as const;
export type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/** The error responses of a route definition: `errorResponses(400, 401, 403, 404)`. */
export function errorResponses(...statuses: ErrorStatus[]): Record<number, ReturnType<typeof jsonResponse<typeof ErrorBody>>> {
  const out: Record<number, ReturnType<typeof jsonResponse<typeof ErrorBody>>> = {};
  for (const s of statuses) out[s] = jsonResponse(ErrorBody, ERROR_DESCRIPTIONS[s]);
  return out;
}

/** The admin errors of every admin route: 401 and 403. */
export const ADMIN_ERRORS = [401, 403] as const satisfies readonly ErrorStatus[];

const TIME_MSG = 'must be an RFC 3339 time like 2026-12-01T12:00:00Z';
/** An RFC 3339 time (a query parameter or body field), as epoch milliseconds. */
export const rfc3339 = z
  .string({ error: TIME_MSG })
  .transform((v, ctx) => {
    const t = parseRfc3339(v, { space: true });
    if (t !== undefined) return t;
    ctx.addIssue({ code: 'custom', message: TIME_MSG });
    return z.NEVER;
  })
  .openapi({ type: 'string', format: 'date-time', example: '2026-12-01T12:00:00Z' });

/** An RFC 3339 time in an answer, or null. */
export const TimeOrNull = z.string().nullable().openapi({ format: 'date-time' });
/** An epoch-ms time as the API writes it (RFC 3339, UTC), or null when absent. */
export function isoOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** The largest page. */
export const MAX_LIMIT = 1000;
/** The page size when `limit` is not given. */
export const DEFAULT_LIMIT = 100;

/** The `limit` query parameter: 1..1000, default 100. */
export const limitParam = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined) return DEFAULT_LIMIT;
    const n = /^\d{1,7}$/.test(v) ? Number(v) : NaN;
    if (n >= 1 && n <= MAX_LIMIT) return n;
    ctx.addIssue({ code: 'custom', message: `must be a whole number from 1 to ${MAX_LIMIT}` });
    return z.NEVER;
  })
  .openapi({ param: { name: 'limit', in: 'query' }, type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: 'the page size' });

/** The `cursor` query parameter: the previous page's `next_cursor`, opaque. */
export const cursorParam = z
  .string()
  .optional()
  .openapi({ param: { name: 'cursor', in: 'query' }, description: "the previous page's next_cursor (opaque)" });

/** The query parameters of every list: `limit` and `cursor`. */
export const pageQuery = { limit: limitParam, cursor: cursorParam };

/** A page's `next_cursor`: opaque, null when there is no more. */
export const NextCursor = z.string().nullable().openapi({ description: 'pass as ?cursor= for the next page; null: no more' });

/** An opaque cursor for a keyset position (base64url of JSON). */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/**
 * The keyset position of `cursor` when `valid` accepts it, else undefined (the route answers 400 naming
 * `cursor`). `valid` checks the shape, since the cursor comes from the client.
 */
export function decodeCursor<T>(cursor: string, valid: (v: unknown) => v is T): T | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return valid(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The 400 of a cursor that is not one of ours. */
export function badCursor(c: Context): Response {
  return errorResponse(c, 'invalid_request', 'cursor: is not a cursor of this list (pass next_cursor as it came)', { field: 'cursor' });
}
