/**
 * @module http/server
 * The HTTP surface as a Web-standard Hono app: ingest, health, readiness, metrics, alarm lookup and
 * states, and the admin API (/api/v1: alarms, notifications, dead letters, routes, canaries, silences,
 * checks; POST /-/reload), described by the OpenAPI 3.1 document at /api/v1/openapi.json (http/openapi).
 * No sockets here; src/runtime serves `app.fetch`.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { alarmToJson } from '../domain/alarm.ts';
import type { Logger } from '../lib/logger.ts';
import { coerceError } from '../lib/errors.ts';
import type { Readiness } from '../lib/readiness.ts';
import type { OutboxStore } from '../outbox/store.ts';
import type { AuthResult } from './auth.ts';
import { CODE_BY_STATUS, errorResponse } from './errors.ts';
import { ingestRoutes, type IngestRouteDeps } from './ingest-routes.ts';
import type { Metrics } from './metrics.ts';
import { alarmListRoutes } from './alarm-list-routes.ts';
import { alertmanagerApiRoutes } from './alertmanager-api-routes.ts';
import { silenceRoutes, type SilenceRouteDeps } from './silence-routes.ts';
import { pingRoutes, type PingRouteDeps } from './ping-routes.ts';
import { checkAdminRoutes } from './check-admin-routes.ts';
import type { ChecksApi } from '../app/checks-api.ts';
import { apiApp } from './api-kit.ts';
import { alarmAdminRoutes } from './alarm-admin-routes.ts';
import { notificationRoutes } from './notification-routes.ts';
import { deadLetterRoutes } from './dead-letter-routes.ts';
import { configRoutes, type ConfigRouteDeps } from './config-routes.ts';
import { reloadRoutes, type ReloadRouteDeps } from './reload-routes.ts';
import { serveOpenApi } from './openapi.ts';
import { metricsRoute } from './metrics-route.ts';
import type { Secret } from '../lib/secret.ts';
import { methodRoutes, type MethodRouteDeps } from './method-routes.ts';
import type { AdminQueries } from '../outbox/admin-queries.ts';
import type { DeadLetterService } from '../outbox/dead-letters.ts';

/** What the admin API's own routes need besides the store (absent: those routes are not mounted, as in some tests). */
export interface AdminApiDeps {
  readonly queries: AdminQueries;
  readonly deadLetters: DeadLetterService;
  readonly config: Omit<ConfigRouteDeps, 'authenticateAdmin'>;
  readonly reload: ReloadRouteDeps['reload'];
  /** The notification methods (file and API ones; absent: /api/v1/methods is not mounted). */
  readonly methods?: MethodRouteDeps['methods'];
}

export interface HttpDeps extends IngestRouteDeps, SilenceRouteDeps, PingRouteDeps {
  /** The admin API's alarms, notifications, dead letters, routes, canaries and reload. */
  readonly admin?: AdminApiDeps;
  /** The heartbeat checks as the admin API sees them (absent: no checks service, as in some tests). */
  readonly checks?: ChecksApi;
  readonly store: OutboxStore;
  readonly metrics: Metrics;
  /** `metrics.token`: when set, GET /metrics needs it (follows reloads). */
  readonly metricsToken?: () => Secret | undefined;
  readonly authenticate: (authorization: string | undefined) => AuthResult;
  /** Every service's readiness check (the database: writable and migrated). */
  readonly readiness: Readiness;
  readonly version: string;
}

export function createHttpApp(deps: HttpDeps): OpenAPIHono {
  // An OpenAPIHono: the admin routes mounted on it bring their definitions into its document.
  const app = apiApp();

  app.get('/healthz', (c) => c.json({ status: 'ok', version: deps.version }));

  app.get('/readyz', (c) => {
    const r = deps.readiness.check();
    if (r.ready) return c.json({ status: 'ready', undelivered: deps.store.pendingCount, checks: r.checks });
    return c.json({ status: 'not ready', error: r.error, checks: r.checks }, 503);
  });

  app.route('/', metricsRoute({ registry: deps.metrics.registry, token: deps.metricsToken ?? (() => undefined) }));

  app.route('/', alarmListRoutes({ states: deps.store.states, authenticate: deps.authenticate }));
  app.route('/', silenceRoutes(deps));
  if (deps.checks) app.route('/', checkAdminRoutes({ checks: deps.checks, authenticateAdmin: deps.authenticateAdmin }));
  app.route('/', alertmanagerApiRoutes({ states: deps.store.states, authenticate: deps.authenticate, version: deps.version, now: deps.now }));
  if (deps.admin) {
    const { authenticateAdmin } = deps;
    const a = deps.admin;
    app.route('/', alarmAdminRoutes({ queries: a.queries, getAlarm: (id) => deps.store.queries.getAlarm(id), authenticateAdmin }));
    app.route('/', notificationRoutes({ queries: a.queries, authenticateAdmin }));
    app.route('/', deadLetterRoutes({ deadLetters: a.deadLetters, authenticateAdmin }));
    app.route('/', configRoutes({ ...a.config, authenticateAdmin }));
    app.route('/', reloadRoutes({ reload: a.reload, authenticateAdmin }));
    if (a.methods) app.route('/', methodRoutes({ methods: a.methods, authenticateAdmin }));
  }

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

  // Last: the document describes every route mounted above.
  serveOpenApi(app, deps.version);

  app.notFound((c) => errorResponse(c, 'not_found', `no route for ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => {
    // A validator's refusal (a body that is not JSON, a media type): the catalogue's answer for its status.
    if (err instanceof HTTPException && err.status < 500) return errorResponse(c, CODE_BY_STATUS[err.status] ?? 'invalid_request', err.message);
    deps.logger.error({ path: c.req.path, err: coerceError(err).message }, 'unhandled error in HTTP handler');
    return errorResponse(c, 'internal', 'internal error');
  });
  return app;
}
