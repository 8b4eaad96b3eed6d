/**
 * @module http/server
 * The HTTP surface as a Web-standard Hono app: ingest, health, readiness, metrics, alarm lookup and
 * states, silences (the admin API).
 * No sockets here; src/runtime serves `app.fetch`.
 */
import { Hono } from 'hono';
import { alarmToJson } from '../domain/alarm.ts';
import type { Logger } from '../lib/logger.ts';
import { coerceError } from '../lib/errors.ts';
import type { Readiness } from '../lib/readiness.ts';
import type { OutboxStore } from '../outbox/store.ts';
import type { AuthResult } from './auth.ts';
import { errorResponse } from './errors.ts';
import { ingestRoutes, type IngestRouteDeps } from './ingest-routes.ts';
import type { Metrics } from './metrics.ts';
import { alarmListRoutes } from './alarm-list-routes.ts';
import { alertmanagerApiRoutes } from './alertmanager-api-routes.ts';
import { silenceRoutes, type SilenceRouteDeps } from './silence-routes.ts';
import { pingRoutes, type PingRouteDeps } from './ping-routes.ts';
import { checkAdminRoutes } from './check-admin-routes.ts';
import type { ChecksApi } from '../app/checks-api.ts';

export interface HttpDeps extends IngestRouteDeps, SilenceRouteDeps, PingRouteDeps {
  /** The heartbeat checks as the admin API sees them (absent: no checks service, as in some tests). */
  readonly checks?: ChecksApi;
  readonly store: OutboxStore;
  readonly metrics: Metrics;
  readonly authenticate: (authorization: string | undefined) => AuthResult;
  /** Every service's readiness check (the database: writable and migrated). */
  readonly readiness: Readiness;
  readonly version: string;
}

export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();

  app.get('/healthz', (c) => c.json({ status: 'ok', version: deps.version }));

  app.get('/readyz', (c) => {
    const r = deps.readiness.check();
    if (r.ready) return c.json({ status: 'ready', undelivered: deps.store.pendingCount, checks: r.checks });
    return c.json({ status: 'not ready', error: r.error, checks: r.checks }, 503);
  });

  app.get('/metrics', async (c) => {
    c.header('Content-Type', deps.metrics.registry.contentType);
    return c.body(await deps.metrics.registry.metrics());
  });

  app.route('/', alarmListRoutes({ states: deps.store.states, authenticate: deps.authenticate }));
  app.route('/', silenceRoutes(deps));
  if (deps.checks) app.route('/', checkAdminRoutes({ checks: deps.checks, authenticateAdmin: deps.authenticateAdmin }));
  app.route('/', alertmanagerApiRoutes({ states: deps.store.states, authenticate: deps.authenticate, version: deps.version, now: deps.now }));

  app.get('/v1/alarms/:id', (c) => {
    const auth = deps.authenticate(c.req.header('authorization'));
    if (!auth.ok) return errorResponse(c, 'unauthorized', auth.message);
    const found = deps.store.queries.getAlarm(c.req.param('id'));
    // With sources configured, each source sees only its own alarms.
    const alarm = found && (auth.source === undefined || found.source === auth.source) ? found : undefined;
    if (!alarm) return errorResponse(c, 'not_found', 'no such alarm (it may have passed its retention)');
    const pending = deps.store.queries.notificationsOf(alarm.id).map((n) => ({
      id: n.id, method: n.method, state: n.state, attempts: n.attempts, next_attempt_at: new Date(n.nextAttemptAt).toISOString(),
      last_status: n.lastStatus, last_error: n.lastError, dead_reason: n.deadReason,
    }));
    const sent = deps.store.queries.deliveriesOf(alarm.id).map((d) => ({
      id: d.notificationId, method: d.method, state: 'sent', attempts: d.attempts, sent_at: new Date(d.sentAt).toISOString(), last_status: d.lastStatus,
    }));
    return c.json({ alarm: alarmToJson(alarm), notifications: [...sent, ...pending] });
  });

  app.route('/', ingestRoutes(deps));
  // No credentials: the check's UUID or the ping key is the secret.
  app.route('/', pingRoutes(deps));

  app.notFound((c) => errorResponse(c, 'not_found', `no route for ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => {
    deps.logger.error({ path: c.req.path, err: coerceError(err).message }, 'unhandled error in HTTP handler');
    return errorResponse(c, 'internal', 'internal error');
  });
  return app;
}
