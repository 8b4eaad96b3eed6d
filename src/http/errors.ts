/**
 * @module http/errors
 * The one catalogue of HTTP error answers: `{ error, code, field? }` with a stable code.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'overloaded'
  | 'unavailable'
  | 'internal';

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  overloaded: 503,
  unavailable: 503,
  internal: 500,
};

export const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

export function errorResponse(
  c: Context,
  code: ErrorCode,
  message: string,
  extra: { field?: string; retryAfterSec?: number } = {},
): Response {
  if (extra.retryAfterSec !== undefined) c.header('Retry-After', String(extra.retryAfterSec));
  if (code === 'unauthorized') c.header('WWW-Authenticate', 'Bearer realm="tocsin"');
  const body: { error: string; code: ErrorCode; field?: string } = { error: message, code };
  if (extra.field !== undefined) body.field = extra.field;
  return c.json(body, STATUS[code]);
}
