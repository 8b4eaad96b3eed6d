/**
 * @module http/dead-letter-routes
 * The admin API's dead letters (`admin.tokens`): GET /api/v1/dead-letters (newest first; `method`,
 * `reason` (a substring, case-insensitive), `since`/`until` (bounds of when they died), a page at a time),
 * POST /api/v1/dead-letters/replay and POST /api/v1/dead-letters/discard, each of `{"ids": [...]}` or
 * `{"filter": {...}}` (an empty filter: all), at most `limit` (default 1000) per call: the answer's
 * `remaining` says how many still match, and callers loop while it is above 0. See outbox/dead-letters
 * for what a replay and a discard do.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { DeadLetterFilter, DeadLetterPosition, DeadLetterSelection, DeadLetterService } from '../outbox/dead-letters.ts';
import type { AdminAuthResult } from './admin-auth.ts';
import { storing } from './admin-request.ts';
import {
  ADMIN_ERRORS, ADMIN_SECURITY, MAX_LIMIT, NextCursor, admin, apiApp, badCursor, decodeCursor, encodeCursor, errorResponses,
  jsonBody, jsonRequest, jsonResponse, openapiRoute, pageQuery, rfc3339,
} from './api-kit.ts';

export interface DeadLetterRouteDeps {
  readonly deadLetters: DeadLetterService;
  readonly authenticateAdmin: (authorization: string | undefined) => AdminAuthResult;
}

const DeadLetter = z
  .object({
    id: z.string(),
    alarm_id: z.string(),
    alarm_name: z.string().nullable(),
    method: z.string(),
    dead_at: z.string().openapi({ format: 'date-time' }),
    dead_reason: z.string().nullable(),
    attempts: z.number().int(),
    last_status: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('DeadLetter');

const text = (what: string, max: number) =>
  z.string({ error: `must be a string: ${what}` }).trim().min(1, `must not be empty: ${what}`).max(max, `is longer than ${max} characters`);

/** The filter of a list, replay or discard. */
export const DeadLetterFilterSchema = z
  .strictObject(
    {
      method: text('a method name', 200).optional(),
      reason: text('a part of the reason', 1000).optional().openapi({ description: 'a substring of dead_reason, case-insensitive' }),
      since: rfc3339.optional().openapi({ description: 'died at or after' }),
      until: rfc3339.optional().openapi({ description: 'died at or before' }),
    },
    { error: (iss) => (iss.code === 'unrecognized_keys' ? 'unknown field' : 'must be an object like {"method": "ops-webhook"}') },
  )
  .openapi('DeadLetterFilter');

/** The body of a replay or discard. */
export const DeadLetterAction = z
  .strictObject(
    {
      ids: z
        .array(z.string({ error: 'must be a notification id' }).min(1, 'must be a notification id'), { error: 'must be an array of notification ids' })
        .min(1, 'must name at least one notification')
        .max(MAX_LIMIT, `names at most ${MAX_LIMIT} notifications per call`)
        .optional(),
      filter: DeadLetterFilterSchema.optional(),
      limit: z
        .number({ error: `must be a whole number from 1 to ${MAX_LIMIT}` })
        .int(`must be a whole number from 1 to ${MAX_LIMIT}`)
        .min(1, `must be a whole number from 1 to ${MAX_LIMIT}`)
        .max(MAX_LIMIT, `must be a whole number from 1 to ${MAX_LIMIT}`)
        .optional()
        .openapi({ description: `the most dead letters of a filter done in this call (default ${MAX_LIMIT})` }),
      by: z.string({ error: 'must be a string: who does it' }).max(200, 'is longer than 200 characters').optional().openapi({ description: 'who does it (recorded with a replay)' }),
    },
    { error: (iss) => (iss.code === 'unrecognized_keys' ? 'unknown field' : 'must be an object with ids or filter') },
  )
  .superRefine((v, ctx) => {
    if (v.ids !== undefined && v.filter !== undefined) ctx.addIssue({ code: 'custom', path: ['filter'], message: 'give either ids or filter, not both' });
    if (v.ids === undefined && v.filter === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ids'], message: 'is required: ids (notification ids) or filter ({} for every dead letter)' });
    }
  })
  .openapi('DeadLetterAction');

const Skipped = z.object({ id: z.string(), reason: z.string() });
const ReplayAnswer = z
  .object({
    replayed: z.number().int(),
    ids: z.array(z.string()),
    not_found: z.array(z.string()).openapi({ description: 'ids that are no dead letter' }),
    skipped: z.array(Skipped).openapi({ description: 'dead letters of methods no longer configured' }),
    remaining: z.number().int().openapi({ description: 'still matching the filter after this call (0 for ids)' }),
  })
  .openapi('ReplayResult');
const DiscardAnswer = z
  .object({
    discarded: z.number().int(),
    ids: z.array(z.string()),
    not_found: z.array(z.string()),
    pending_cleared: z.number().int().openapi({ description: 'how many of `discarded` were pending notifications of a method no longer configured (a filter naming only that method)' }),
    remaining: z.number().int(),
  })
  .openapi('DiscardResult');

type Auth = DeadLetterRouteDeps['authenticateAdmin'];

const listRoute = (auth: Auth) =>
  createRoute({
    method: 'get',
    path: '/api/v1/dead-letters',
    summary: 'List dead letters',
    description: 'Notifications that were given up on, newest first.',
    tags: ['dead-letters'],
    middleware: [admin(auth)],
    security: ADMIN_SECURITY,
    request: {
      query: z.strictObject({
        method: z.string().optional(),
        reason: z.string().optional().openapi({ description: 'a substring of dead_reason, case-insensitive' }),
        since: rfc3339.optional().openapi({ description: 'died at or after' }),
        until: rfc3339.optional().openapi({ description: 'died at or before' }),
        ...pageQuery,
      }, { error: (iss) => (iss.code === 'unrecognized_keys' ? 'unknown query parameter; use method, reason, since, until, limit or cursor' : 'invalid query') }),
    },
    responses: {
      200: jsonResponse(z.object({ items: z.array(DeadLetter), next_cursor: NextCursor }), 'a page of dead letters'),
      ...errorResponses(400, ...ADMIN_ERRORS),
    },
  });

const actionRoute = (auth: Auth, action: 'replay' | 'discard') =>
  createRoute({
    method: 'post',
    path: `/api/v1/dead-letters/${action}`,
    summary: action === 'replay' ? 'Replay dead letters' : 'Discard dead letters',
    description:
      action === 'replay'
        ? 'Puts dead letters back to pending, due now, in a new attempt series; records who replayed them. Loop while `remaining` > 0.'
        : 'Deletes dead letters. With a filter of only a method that is no longer configured, that method\'s pending notifications go too. Loop while `remaining` > 0.',
    tags: ['dead-letters'],
    middleware: [admin(auth), jsonBody(`a ${action} request`)],
    security: ADMIN_SECURITY,
    request: { body: jsonRequest(DeadLetterAction, 'ids, or a filter') },
    responses: {
      200: jsonResponse(action === 'replay' ? ReplayAnswer : DiscardAnswer, `what was ${action === 'replay' ? 'replayed' : 'discarded'}`),
      ...errorResponses(400, ...ADMIN_ERRORS, 413, 415, 503),
    },
  });

const isPosition = (v: unknown): v is DeadLetterPosition => Array.isArray(v) && v.length === 2 && Number.isFinite(v[0]) && typeof v[1] === 'string';

function filterOf(f: { method?: string | undefined; reason?: string | undefined; since?: number | undefined; until?: number | undefined }): DeadLetterFilter {
  return {
    ...(f.method !== undefined && { method: f.method }),
    ...(f.reason !== undefined && { reason: f.reason }),
    ...(f.since !== undefined && { since: f.since }),
    ...(f.until !== undefined && { until: f.until }),
  };
}

export function deadLetterRoutes(deps: DeadLetterRouteDeps): OpenAPIHono {
  const app = apiApp();

  openapiRoute(app, listRoute(deps.authenticateAdmin), (c) => {
    const q = c.req.valid('query');
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, isPosition);
    if (q.cursor !== undefined && !after) return badCursor(c);
    const rows = deps.deadLetters.list(filterOf(q), after, q.limit + 1);
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return c.json({
      items: page.map((d) => ({
        id: d.id, alarm_id: d.alarmId, alarm_name: d.alarmName, method: d.method, dead_at: new Date(d.deadAt).toISOString(),
        dead_reason: d.deadReason, attempts: d.attempts, last_status: d.lastStatus, last_error: d.lastError, created_at: new Date(d.createdAt).toISOString(),
      })),
      next_cursor: rows.length > q.limit && last ? encodeCursor([last.deadAt, last.id]) : null,
    });
  });

  const selection = (v: z.infer<typeof DeadLetterAction>): DeadLetterSelection => (v.ids !== undefined ? { ids: v.ids } : { filter: filterOf(v.filter ?? {}) });

  openapiRoute(app, actionRoute(deps.authenticateAdmin, 'replay'), (c) => {
    const v = c.req.valid('json');
    return storing(c, async () => {
      const r = await deps.deadLetters.replay(selection(v), v.limit ?? MAX_LIMIT, v.by);
      return c.json({ replayed: r.replayed, ids: r.ids, not_found: r.notFound, skipped: r.skipped, remaining: r.remaining });
    });
  });

  openapiRoute(app, actionRoute(deps.authenticateAdmin, 'discard'), (c) => {
    const v = c.req.valid('json');
    return storing(c, async () => {
      const r = await deps.deadLetters.discard(selection(v), v.limit ?? MAX_LIMIT, v.by);
      return c.json({ discarded: r.discarded, ids: r.ids, not_found: r.notFound, pending_cleared: r.pendingCleared, remaining: r.remaining });
    });
  });

  return app;
}
