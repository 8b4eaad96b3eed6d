/**
 * @module http/openapi
 * The OpenAPI 3.1 document served at GET /api/v1/openapi.json (no auth). The admin API's routes are
 * OpenAPIHono route definitions (src/http/api-kit.ts): mounting them on the root app copies their
 * definitions into its registry. The routes written with plain Hono (ingest, the alarm lookups, the
 * Alertmanager API, silences, checks, pings, health, metrics) are registered here with the zod schemas
 * those routes validate with, so the document cannot drift from them. test/e2e/openapi.test.ts checks
 * that every route of the app is in it and that it is a valid OpenAPI 3.1 document.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { STATUSES } from '../domain/alarm.ts';
import { message as alertmanagerMessage } from '../ingest/alertmanager.ts';
import { eventSchema } from '../ingest/cloudevents.ts';
import { INGEST_FORMATS } from '../ingest/formats.ts';
import { alarmSchema } from '../ingest/generic.ts';
import { messageSchema as grafanaMessage } from '../ingest/grafana.ts';
import { messageSchema as monascaMessage } from '../ingest/monasca.ts';
import { postableAlert } from '../ingest/prometheus.ts';
import { envelopeSchema } from '../ingest/zeebe.ts';
import { ADMIN_ERRORS, ADMIN_SCHEME, ADMIN_SECURITY, ErrorBody, SOURCE_SCHEME, errorResponses, jsonRequest, jsonResponse, openapiRoute } from './api-kit.ts';
import { newCheck } from './check-admin-routes.ts';
import { newSilence } from './silence-routes.ts';

type Registry = OpenAPIRegistry;
type Responses = Parameters<Registry['registerPath']>[0]['responses'];

const Labels = z.record(z.string(), z.string());
const AnyObject = z.record(z.string(), z.unknown());

/** Each ingest format's request body: the parser's own schema (`name` → schema). */
export const INGEST_BODIES: Readonly<Record<string, z.ZodType>> = {
  generic: z.union([alarmSchema, z.array(alarmSchema)]).openapi({ description: 'one alarm or an array of them' }),
  zeebe: envelopeSchema,
  monasca: monascaMessage,
  prometheus: z.array(postableAlert.extend({ labels: Labels, annotations: Labels.optional() })).openapi({ description: "Alertmanager's postableAlerts" }),
  alertmanager: alertmanagerMessage,
  grafana: grafanaMessage,
  cloudevents: z.union([eventSchema, z.array(eventSchema)]).openapi({ description: 'structured mode (application/cloudevents+json), a batch, or binary mode (ce-* headers)' }),
};

/** A Hono path (`/x/:id`) as OpenAPI writes it (`/x/{id}`). */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');
}

/** The path parameters of an OpenAPI path, as a zod object. */
function pathParams(path: string): z.ZodObject | undefined {
  const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  return names.length === 0 ? undefined : z.object(Object.fromEntries(names.map((n) => [n, z.string()])));
}

const SOURCE_SECURITY: Record<string, string[]>[] = [{ [SOURCE_SCHEME]: [] }, {}];
const sourceErrors = (...statuses: (400 | 401 | 403 | 404 | 413 | 415 | 503)[]): Responses =>
  Object.fromEntries(statuses.map((s) => [s, jsonResponse(ErrorBody, s === 401 ? 'no or unknown source token (with sources configured)' : 'see the error body')]));

const IngestAnswer = z
  .object({
    alarm_ids: z.array(z.string()),
    notification_ids: z.array(z.string()),
    duplicates: z.number().int().optional().openapi({ description: 'alarms already accepted (Idempotency-Key, or the same occurrence)' }),
    unrouted: z.array(z.string()).optional().openapi({ description: 'alarms no route matched' }),
  })
  .openapi('IngestResult');

function registerIngest(r: Registry): void {
  for (const f of INGEST_FORMATS) {
    const path = openApiPath(f.path);
    const params = pathParams(path);
    r.registerPath({
      method: 'post',
      path,
      summary: `Ingest alarms (${f.name} format)`,
      tags: ['ingest'],
      security: SOURCE_SECURITY,
      request: {
        ...(params && { params }),
        headers: z.object({ 'idempotency-key': z.string().max(255).optional().openapi({ description: 'a repeat within ingest.idempotency_ttl answers with the same ids' }) }),
        body: jsonRequest(INGEST_BODIES[f.name] ?? AnyObject, `alarms in the ${f.name} format`),
      },
      responses: {
        202: jsonResponse(IngestAnswer, 'accepted and committed'),
        200: jsonResponse(z.object({ ignored: z.string() }), 'nothing to do (a message the format ignores)'),
        ...sourceErrors(400, 401, 413, 415, 503),
      },
    });
  }
}

function registerAlarmLookups(r: Registry): void {
  r.registerPath({
    method: 'get',
    path: '/v1/alarms',
    summary: 'Alarm states (a source sees its own)',
    description: 'Filter labels with `label.<name>=<value>`.',
    tags: ['alarms'],
    security: SOURCE_SECURITY,
    request: {
      query: z.object({
        state: z.enum(STATUSES).optional(),
        source: z.string().optional(),
        limit: z.string().optional().openapi({ type: 'integer', minimum: 1, maximum: 1000 }),
        cursor: z.string().optional(),
      }),
    },
    responses: {
      200: jsonResponse(z.object({ alarms: z.array(AnyObject), next_cursor: z.string().optional() }), 'a page of alarm states'),
      ...sourceErrors(400, 401, 403),
    },
  });
  r.registerPath({
    method: 'get',
    path: '/v1/alarms/{id}',
    summary: 'One alarm and its notifications (a source sees its own)',
    tags: ['alarms'],
    security: SOURCE_SECURITY,
    request: { params: z.object({ id: z.string() }) },
    responses: {
      200: jsonResponse(z.object({ alarm: AnyObject, notifications: z.array(AnyObject) }), 'the alarm'),
      ...sourceErrors(401, 404),
    },
  });
  r.registerPath({
    method: 'get',
    path: '/api/v2/status',
    summary: "Alertmanager v2 API: status (for amtool)",
    tags: ['alertmanager'],
    security: SOURCE_SECURITY,
    responses: { 200: jsonResponse(AnyObject, "Alertmanager's alertmanagerStatus"), ...sourceErrors(401) },
  });
  r.registerPath({
    method: 'get',
    path: '/api/v2/alerts',
    summary: 'Alertmanager v2 API: firing alarms as gettableAlerts (for amtool)',
    tags: ['alertmanager'],
    security: SOURCE_SECURITY,
    request: {
      query: z.object({
        active: z.enum(['true', 'false']).optional(),
        silenced: z.enum(['true', 'false']).optional(),
        inhibited: z.enum(['true', 'false']).optional(),
        unprocessed: z.enum(['true', 'false']).optional(),
        filter: z.array(z.string()).optional().openapi({ description: 'label matchers like name="value", name=~"regex"' }),
        receiver: z.string().optional().openapi({ description: 'a regular expression of method names' }),
      }),
    },
    responses: { 200: jsonResponse(z.array(AnyObject), 'gettableAlerts sorted by fingerprint'), ...sourceErrors(400, 401) },
  });
}

const Silence = z
  .object({
    id: z.string(),
    match: z.unknown(),
    starts_at: z.string(),
    ends_at: z.string(),
    comment: z.string(),
    created_by: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    state: z.enum(['active', 'pending', 'expired']),
  })
  .openapi('Silence');

const Check = z
  .object({
    name: z.string(),
    uuid: z.string(),
    origin: z.enum(['file', 'api']),
    period_ms: z.number().int().optional(),
    schedule: z.string().optional(),
    tz: z.string().optional(),
    grace_ms: z.number().int(),
    labels: Labels,
    paused: z.boolean(),
    status: z.string(),
    down_reason: z.string().optional(),
    last_ping_at: z.string().optional(),
    due_at: z.string().optional(),
    ping_path: z.string(),
  })
  .openapi('Check');

function registerAdminPlain(r: Registry): void {
  const admin = { security: ADMIN_SECURITY };
  const id = z.object({ id: z.string() });
  const name = z.object({ name: z.string() });
  r.registerPath({
    method: 'post', path: '/api/v1/silences', summary: 'Create a silence', tags: ['silences'], ...admin,
    request: { body: jsonRequest(newSilence, 'the silence') },
    responses: { 201: jsonResponse(Silence, 'created'), ...errorResponses(400, ...ADMIN_ERRORS, 413, 415, 503) },
  });
  r.registerPath({
    method: 'get', path: '/api/v1/silences', summary: 'List silences', tags: ['silences'], ...admin,
    request: { query: z.object({ state: z.enum(['active', 'pending', 'expired']).optional() }) },
    responses: { 200: jsonResponse(z.object({ silences: z.array(Silence) }), 'the silences'), ...errorResponses(400, ...ADMIN_ERRORS) },
  });
  r.registerPath({
    method: 'get', path: '/api/v1/silences/{id}', summary: 'One silence', tags: ['silences'], ...admin, request: { params: id },
    responses: { 200: jsonResponse(Silence, 'the silence'), ...errorResponses(...ADMIN_ERRORS, 404) },
  });
  r.registerPath({
    method: 'delete', path: '/api/v1/silences/{id}', summary: 'Expire a silence now', tags: ['silences'], ...admin, request: { params: id },
    responses: { 200: jsonResponse(Silence, 'the silence, expired'), ...errorResponses(...ADMIN_ERRORS, 404, 503) },
  });
  r.registerPath({
    method: 'get', path: '/api/v1/checks', summary: 'List heartbeat checks', tags: ['checks'], ...admin,
    responses: { 200: jsonResponse(z.object({ checks: z.array(Check) }), 'the checks'), ...errorResponses(...ADMIN_ERRORS) },
  });
  r.registerPath({
    method: 'get', path: '/api/v1/checks/{name}', summary: 'One heartbeat check', tags: ['checks'], ...admin, request: { params: name },
    responses: { 200: jsonResponse(Check, 'the check'), ...errorResponses(...ADMIN_ERRORS, 404) },
  });
  r.registerPath({
    method: 'post', path: '/api/v1/checks', summary: 'Add a runtime heartbeat check', tags: ['checks'], ...admin,
    request: { body: jsonRequest(newCheck, 'the check') },
    responses: { 201: jsonResponse(Check, 'created'), ...errorResponses(400, ...ADMIN_ERRORS, 409, 413, 415, 503) },
  });
  for (const action of ['pause', 'resume'] as const) {
    r.registerPath({
      method: 'post', path: `/api/v1/checks/{name}/${action}`, summary: `${action === 'pause' ? 'Pause' : 'Resume'} a runtime check`, tags: ['checks'], ...admin,
      request: { params: name },
      responses: { 200: jsonResponse(Check, 'the check'), ...errorResponses(...ADMIN_ERRORS, 404, 409, 503) },
    });
  }
  r.registerPath({
    method: 'delete', path: '/api/v1/checks/{name}', summary: 'Remove a runtime check', tags: ['checks'], ...admin, request: { params: name },
    responses: { 200: jsonResponse(Check, 'the check as it was'), ...errorResponses(...ADMIN_ERRORS, 404, 409, 503) },
  });
}

function registerPings(r: Registry): void {
  const text = (description: string) => ({ description, content: { 'text/plain': { schema: z.string() } } });
  const responses: Responses = {
    200: text('OK'),
    400: text('invalid url format / invalid uuid format'),
    404: text('not found'),
    429: text('rate limited'),
    503: text('the ping cannot be stored now'),
  };
  const kind = z.string().openapi({ description: 'start, fail, log, or an exit status 0-255' });
  const paths: [string, z.ZodObject][] = [
    ['/ping/{uuid}', z.object({ uuid: z.string() })],
    ['/ping/{uuid}/{kind}', z.object({ uuid: z.string(), kind })],
    ['/ping/{ping_key}/{slug}', z.object({ ping_key: z.string(), slug: z.string() })],
    ['/ping/{ping_key}/{slug}/{kind}', z.object({ ping_key: z.string(), slug: z.string(), kind })],
  ];
  for (const [path, params] of paths) {
    for (const method of ['get', 'head', 'post'] as const) {
      r.registerPath({
        method, path, summary: 'Ping a heartbeat check (healthchecks.io API)', tags: ['pings'],
        description: 'The path is the secret: no token. A POST body is kept up to Ping-Body-Limit bytes.',
        request: { params, query: z.object({ rid: z.string().uuid().optional() }) },
        responses,
      });
    }
  }
}

function registerHealth(r: Registry): void {
  r.registerPath({
    method: 'get', path: '/healthz', summary: 'Liveness', tags: ['operations'],
    responses: { 200: jsonResponse(z.object({ status: z.literal('ok'), version: z.string() }), 'alive') },
  });
  r.registerPath({
    method: 'get', path: '/readyz', summary: 'Readiness', tags: ['operations'],
    responses: {
      200: jsonResponse(z.object({ status: z.literal('ready'), undelivered: z.number().int(), checks: AnyObject }), 'ready'),
      503: jsonResponse(z.object({ status: z.literal('not ready'), error: z.string(), checks: AnyObject }), 'not ready'),
    },
  });
  r.registerPath({
    method: 'get', path: '/metrics', summary: 'Prometheus metrics', tags: ['operations'],
    description: 'Open unless metrics.token is configured (then a bearer token).',
    security: [{ metricsToken: [] }, {}] as Record<string, string[]>[],
    responses: { 200: { description: 'the Prometheus text format', content: { 'text/plain': { schema: z.string() } } }, 401: jsonResponse(ErrorBody, 'metrics.token is configured and was not given') },
  });
}

/** Registers the security schemes and every route that is not an OpenAPIHono route definition. */
export function registerPlainRoutes(r: Registry): void {
  r.registerComponent('securitySchemes', ADMIN_SCHEME, { type: 'http', scheme: 'bearer', description: 'one of admin.tokens' });
  r.registerComponent('securitySchemes', SOURCE_SCHEME, { type: 'http', scheme: 'bearer', description: "a source's token (sources[].token); none when no source is configured" });
  r.registerComponent('securitySchemes', 'metricsToken', { type: 'http', scheme: 'bearer', description: 'metrics.token' });
  registerIngest(r);
  registerAlarmLookups(r);
  registerAdminPlain(r);
  registerPings(r);
  registerHealth(r);
}

/** The document of `app` (every route registered with it by then). */
export function openApiDocument(app: OpenAPIHono, version: string) {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'tocsin',
      version,
      description: 'Alert relay: ingest, alarm states, notifications, dead letters, silences, heartbeat checks, and its operation.',
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
  });
}

/**
 * Serves the document at GET /api/v1/openapi.json on `app` (after every other route is mounted: the
 * document is built at the first request and kept).
 */
export function serveOpenApi(app: OpenAPIHono, version: string): void {
  registerPlainRoutes(app.openAPIRegistry);
  let doc: ReturnType<typeof openApiDocument> | undefined;
  openapiRoute(
    app,
    createRoute({
      method: 'get',
      path: '/api/v1/openapi.json',
      summary: 'This document (OpenAPI 3.1)',
      tags: ['operations'],
      responses: { 200: jsonResponse(AnyObject, 'the OpenAPI 3.1 document') },
    }),
    (c) => c.json((doc ??= openApiDocument(app, version))),
  );
}
