/**
 * @module http/alarm-admin-routes
 * The admin API's alarms (`admin.tokens`): GET /api/v1/alarms, the current state of each alarm (one per
 * source and dedup key, newest last_seen first), filtered by `state`, `source`, `name`, `label.<k>=<v>`
 * and `since`/`until` (bounds of last_seen), a page at a time; GET /api/v1/alarms/{id}, one occurrence
 * with its state and every notification that carries it.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { alarmToJson, SEVERITIES, STATUSES, type Alarm } from '../domain/alarm.ts';
import type { AdminQueries, NotificationRow, StatePosition, StateRow } from '../outbox/admin-queries.ts';
import type { AdminAuthResult } from './admin-auth.ts';
import {
  ADMIN_ERRORS, ADMIN_SECURITY, NextCursor, TimeOrNull, admin, apiApp, badCursor, decodeCursor, encodeCursor, errorResponses, isoOrNull,
  jsonResponse, openapiRoute, pageQuery, rfc3339,
} from './api-kit.ts';
import { errorResponse } from './errors.ts';

export interface AlarmAdminRouteDeps {
  readonly queries: Pick<AdminQueries, 'states' | 'state' | 'notificationsOf'>;
  readonly getAlarm: (id: string) => Alarm | undefined;
  readonly authenticateAdmin: (authorization: string | undefined) => AdminAuthResult;
}

const Labels = z.record(z.string(), z.string());

/** One alarm state in the admin API. */
export const AlarmStateItem = z
  .object({
    id: z.string().openapi({ description: "the latest occurrence's alarm id" }),
    source: z.string(),
    dedup_key: z.string(),
    name: z.string(),
    severity: z.enum(SEVERITIES),
    status: z.enum(STATUSES),
    since: z.string().openapi({ format: 'date-time', description: 'when the current status began' }),
    last_seen: z.string().openapi({ format: 'date-time' }),
    count: z.number().int(),
    silenced_by: z.string().nullable(),
    labels: Labels,
  })
  .openapi('AlarmState');

/** One notification as listed with its alarm. */
export const NotificationSummary = z
  .object({
    id: z.string(),
    method: z.string(),
    state: z.enum(['pending', 'inflight', 'dead', 'sent']),
    attempts: z.number().int(),
    created_at: z.string().openapi({ format: 'date-time' }),
    next_attempt_at: TimeOrNull,
    sent_at: TimeOrNull,
    dead_at: TimeOrNull,
    dead_reason: z.string().nullable(),
    last_status: z.number().int().nullable(),
    last_error: z.string().nullable(),
  })
  .openapi('NotificationSummary');

const AlarmJsonSchema = z
  .object({
    id: z.string(),
    source: z.string(),
    name: z.string(),
    severity: z.enum(SEVERITIES),
    status: z.enum(STATUSES),
    summary: z.string().nullable(),
    description: z.string().nullable(),
    labels: Labels,
    annotations: Labels,
    occurred_at: z.string().openapi({ format: 'date-time' }),
    received_at: z.string().openapi({ format: 'date-time' }),
    dedup_key: z.string(),
    ends_at: z.string().optional().openapi({ format: 'date-time' }),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi('Alarm');

export function stateItem(s: StateRow): z.infer<typeof AlarmStateItem> {
  return {
    id: s.alarmId, source: s.source, dedup_key: s.dedupKey, name: s.alarm.name, severity: s.alarm.severity, status: s.status,
    since: new Date(s.since).toISOString(), last_seen: new Date(s.lastSeen).toISOString(), count: s.count, silenced_by: s.silencedBy,
    labels: { ...s.alarm.labels },
  };
}

/** A notification as the admin API writes it (RFC 3339 times; no next attempt once sent). */
export function notificationSummary(n: NotificationRow): z.infer<typeof NotificationSummary> {
  return {
    id: n.id, method: n.method, state: n.state, attempts: n.attempts, created_at: new Date(n.createdAt).toISOString(),
    next_attempt_at: n.state === 'sent' ? null : isoOrNull(n.nextAttemptAt), sent_at: isoOrNull(n.sentAt), dead_at: isoOrNull(n.deadAt),
    dead_reason: n.deadReason, last_status: n.lastStatus, last_error: n.lastError,
  };
}

const KNOWN = ['state', 'source', 'name', 'since', 'until', 'limit', 'cursor'];

const listRoute = (authenticateAdmin: AlarmAdminRouteDeps['authenticateAdmin']) =>
  createRoute({
    method: 'get',
    path: '/api/v1/alarms',
    summary: 'List alarm states',
    description: 'The current state of each alarm (one per source and dedup key), newest last_seen first. Filter labels with `label.<name>=<value>` (repeatable, each a different label).',
    tags: ['alarms'],
    middleware: [admin(authenticateAdmin)],
    security: ADMIN_SECURITY,
    request: {
      query: z.object({
        state: z.enum(STATUSES, { error: `must be one of: ${STATUSES.join(', ')}` }).optional(),
        source: z.string().optional(),
        name: z.string().optional().openapi({ description: "the latest occurrence's name" }),
        since: rfc3339.optional().openapi({ description: 'last_seen at or after' }),
        until: rfc3339.optional().openapi({ description: 'last_seen at or before' }),
        ...pageQuery,
      }),
    },
    responses: {
      200: jsonResponse(z.object({ items: z.array(AlarmStateItem), next_cursor: NextCursor }), 'a page of alarm states'),
      ...errorResponses(400, ...ADMIN_ERRORS),
    },
  });

const oneRoute = (authenticateAdmin: AlarmAdminRouteDeps['authenticateAdmin']) =>
  createRoute({
    method: 'get',
    path: '/api/v1/alarms/{id}',
    summary: 'One alarm occurrence',
    description: 'The occurrence, the state of its alarm (null once pruned) and every notification that carries it.',
    tags: ['alarms'],
    middleware: [admin(authenticateAdmin)],
    security: ADMIN_SECURITY,
    request: { params: z.object({ id: z.string().openapi({ description: 'an alarm id (alarm_ids of an ingest answer)' }) }) },
    responses: {
      200: jsonResponse(
        z.object({ alarm: AlarmJsonSchema, state: AlarmStateItem.nullable(), notifications: z.array(NotificationSummary) }),
        'the alarm',
      ),
      ...errorResponses(...ADMIN_ERRORS, 404),
    },
  });

const isPosition = (v: unknown): v is StatePosition =>
  Array.isArray(v) && v.length === 3 && Number.isFinite(v[0]) && typeof v[1] === 'string' && typeof v[2] === 'string';

export function alarmAdminRoutes(deps: AlarmAdminRouteDeps): OpenAPIHono {
  const app = apiApp();

  openapiRoute(app, listRoute(deps.authenticateAdmin), (c) => {
    const q = c.req.valid('query');
    const labels: Record<string, string> = {};
    for (const [k, values] of Object.entries(c.req.queries())) {
      if (k.startsWith('label.') && k.length > 6) {
        if (values.length !== 1) return errorResponse(c, 'invalid_request', `${k}: give each label once`, { field: k });
        Object.defineProperty(labels, k.slice(6), { value: values[0]!, enumerable: true });
      } else if (!KNOWN.includes(k)) {
        return errorResponse(c, 'invalid_request', `unknown query parameter ${JSON.stringify(k)}; use ${KNOWN.join(', ')} or label.<name>`, { field: k });
      }
    }
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, isPosition);
    if (q.cursor !== undefined && !after) return badCursor(c);
    const rows = deps.queries.states({
      ...(q.state !== undefined && { status: q.state }),
      ...(q.source !== undefined && { source: q.source }),
      ...(q.name !== undefined && { name: q.name }),
      labels,
      ...(q.since !== undefined && { since: q.since }),
      ...(q.until !== undefined && { until: q.until }),
      ...(after && { after }),
      limit: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    const next = rows.length > q.limit && last ? encodeCursor([last.lastSeen, last.source, last.dedupKey]) : null;
    return c.json({ items: page.map(stateItem), next_cursor: next });
  });

  openapiRoute(app, oneRoute(deps.authenticateAdmin), (c) => {
    const alarm = deps.getAlarm(c.req.valid('param').id);
    if (!alarm) return errorResponse(c, 'not_found', 'no such alarm (it may have passed its retention)');
    const state = deps.queries.state(alarm.source, alarm.dedupKey);
    return c.json({
      alarm: alarmToJson(alarm),
      state: state ? stateItem(state) : null,
      notifications: deps.queries.notificationsOf(alarm.id).map(notificationSummary),
    });
  });

  return app;
}
