/**
 * @module http/notification-routes
 * The admin API's notifications (`admin.tokens`): GET /api/v1/notifications/{id}, one notification
 * (undelivered, dead or sent) with its attempt history, split into series by its replays (series 0: the
 * first; n: after the n-th replay), and the replays themselves (when, by whom).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { replayedBy, REPLAY_MARK, type AdminQueries, type AttemptRow } from '../outbox/admin-queries.ts';
import type { AdminAuthResult } from './admin-auth.ts';
import { NotificationSummary, notificationSummary } from './alarm-admin-routes.ts';
import { ADMIN_ERRORS, ADMIN_SECURITY, admin, apiApp, errorResponses, jsonResponse, openapiRoute } from './api-kit.ts';
import { errorResponse } from './errors.ts';

export interface NotificationRouteDeps {
  readonly queries: Pick<AdminQueries, 'notification' | 'attempts'>;
  readonly authenticateAdmin: (authorization: string | undefined) => AdminAuthResult;
}

const Attempt = z
  .object({
    series: z.number().int().openapi({ description: '0: the first series; n: after the n-th replay' }),
    attempt: z.number().int(),
    at: z.string().openapi({ format: 'date-time' }),
    outcome: z.enum(['sent', 'retry', 'permanent', 'aborted']),
    status: z.number().int().nullable().openapi({ description: "the receiver's HTTP status, if it answered" }),
    latency_ms: z.number().int(),
    error: z.string().nullable(),
  })
  .openapi('Attempt');

const Replay = z.object({ at: z.string().openapi({ format: 'date-time' }), by: z.string().nullable() }).openapi('Replay');

const { id: idField, ...summaryFields } = NotificationSummary.shape;

/** One notification: its summary (as listed with its alarm), its alarms and how often it was replayed. */
const NotificationDetail = z
  .object({ id: idField, alarm_id: z.string(), alarm_ids: z.array(z.string()), ...summaryFields, replays: z.number().int() })
  .openapi('Notification');

/** The attempts table's rows as series of attempts and the replays between them. */
export function attemptHistory(rows: readonly AttemptRow[]): { attempts: z.infer<typeof Attempt>[]; replays: z.infer<typeof Replay>[] } {
  const attempts: z.infer<typeof Attempt>[] = [];
  const replays: z.infer<typeof Replay>[] = [];
  for (const r of rows) {
    const at = new Date(r.at).toISOString();
    if (r.outcome === REPLAY_MARK) {
      replays.push({ at, by: replayedBy(r.error) });
      continue;
    }
    attempts.push({
      series: replays.length, attempt: r.attempt, at, outcome: r.outcome as z.infer<typeof Attempt>['outcome'], status: r.status,
      latency_ms: r.latencyMs, error: r.error,
    });
  }
  return { attempts, replays };
}

const route = (authenticateAdmin: NotificationRouteDeps['authenticateAdmin']) =>
  createRoute({
    method: 'get',
    path: '/api/v1/notifications/{id}',
    summary: 'One notification with its attempts',
    tags: ['notifications'],
    middleware: [admin(authenticateAdmin)],
    security: ADMIN_SECURITY,
    request: { params: z.object({ id: z.string().openapi({ description: 'a notification id (notification_ids of an ingest answer)' }) }) },
    responses: {
      200: jsonResponse(z.object({ notification: NotificationDetail, attempts: z.array(Attempt), replays: z.array(Replay) }), 'the notification'),
      ...errorResponses(...ADMIN_ERRORS, 404),
    },
  });

export function notificationRoutes(deps: NotificationRouteDeps): OpenAPIHono {
  const app = apiApp();
  openapiRoute(app, route(deps.authenticateAdmin), (c) => {
    const id = c.req.valid('param').id;
    const n = deps.queries.notification(id);
    if (!n) return errorResponse(c, 'not_found', 'no such notification (it may have passed its retention, or been discarded)');
    const { attempts, replays } = attemptHistory(deps.queries.attempts(id));
    const { id: _, ...summary } = notificationSummary(n);
    return c.json({
      notification: { id: n.id, alarm_id: n.alarmId, alarm_ids: [...n.alarmIds], ...summary, replays: replays.length },
      attempts,
      replays,
    });
  });
  return app;
}
