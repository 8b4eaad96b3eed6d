/**
 * @module http/method-routes
 * The admin API's notification methods (`admin.tokens`): GET /api/v1/methods and /api/v1/methods/{name}
 * (file and API methods, every secret value "***"), POST /api/v1/methods (201: a method created through the
 * API, validated exactly as the config file's would be: a 400 names the field as `method.<key>`; 409 when the
 * name is taken), DELETE /api/v1/methods/{name} (204; 409 for a file method or one a route still names) and
 * POST /api/v1/methods/{name}/test (one test notification now: `{ ok, status, latency_ms }` or
 * `{ ok: false, error, retryable }`). Built on `MethodsApi` (app/runtime-methods) alone.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { CHANNELS } from '../channels/registry.ts';
import { MAX_BY, type MethodsApi } from '../app/runtime-methods.ts';
import type { AdminAuthResult } from './admin-auth.ts';
import { storing } from './admin-request.ts';
import { ADMIN_ERRORS, ADMIN_SECURITY, TimeOrNull, admin, apiApp, errorResponses, jsonBody, jsonRequest, jsonResponse, openapiRoute } from './api-kit.ts';
import { errorResponse } from './errors.ts';

export interface MethodRouteDeps {
  readonly methods: MethodsApi;
  readonly authenticateAdmin: (authorization: string | undefined) => AdminAuthResult;
}

const NOT_FOUND = 'no such method';

const Method = z
  .object({
    name: z.string(),
    type: z.string().openapi({ description: `the channel: ${CHANNELS.map((c) => c.type).join(', ')}` }),
    origin: z.enum(['file', 'api']).openapi({ description: 'file: the config file (read-only here); api: created through this API' }),
    settings: z.record(z.string(), z.unknown()).openapi({ description: 'the channel’s settings; every secret value (and header value) is "***"' }),
    created_at: TimeOrNull.openapi({ description: 'when it was created through the API; null for a file method' }),
    created_by: z.string().nullable().openapi({ description: 'who created it (the `by` it was created with)' }),
  })
  .openapi('Method');

const NewMethodBody = z
  .strictObject(
    {
      name: z
        .string({ error: 'is required: the method name' })
        .min(1, 'must not be empty')
        .max(200, 'is longer than 200 characters')
        .openapi({ description: 'letters, digits, "_", "." or "-", starting with a letter or digit', example: 'ops-hook' }),
      by: z.string({ error: 'must be a string: who creates it' }).max(MAX_BY, `is longer than ${MAX_BY} characters`).optional().openapi({ description: 'who creates it' }),
      method: z
        .record(z.string(), z.unknown(), { error: 'must be an object: the method as in the config file (type and its keys)' })
        .openapi({
          description:
            'the method as written under `methods:` in the config file: `type` and that channel’s keys (secrets inline: no `*_file` key is read, and `${NAME}` is not expanded)',
          example: { type: 'webhook', url: 'https://hooks.example.com/tocsin', max_attempts: 5 },
        }),
    },
    { error: (iss) => (iss.code === 'unrecognized_keys' ? 'unknown field' : 'must be an object with name and method') },
  )
  .openapi('NewMethod');

const TestAnswer = z
  .union([
    z.object({ ok: z.literal(true), status: z.number().int().nullable().openapi({ description: 'the HTTP status, if the channel speaks HTTP' }), latency_ms: z.number().int() }),
    z.object({ ok: z.literal(false), error: z.string(), retryable: z.boolean().openapi({ description: 'a delivery would retry it (else: permanent)' }) }),
  ])
  .openapi('MethodTestResult');

const nameParam = z.object({ name: z.string().openapi({ description: 'the method name', example: 'ops-hook' }) });

type Auth = MethodRouteDeps['authenticateAdmin'];

const listRoute = (auth: Auth) =>
  createRoute({
    method: 'get',
    path: '/api/v1/methods',
    summary: 'The notification methods',
    description: 'The config file’s methods, then those created through the API; secrets masked.',
    tags: ['methods'],
    middleware: [admin(auth)],
    security: ADMIN_SECURITY,
    responses: { 200: jsonResponse(z.object({ items: z.array(Method) }), 'every method in force'), ...errorResponses(...ADMIN_ERRORS) },
  });

const getRoute = (auth: Auth) =>
  createRoute({
    method: 'get',
    path: '/api/v1/methods/{name}',
    summary: 'One notification method',
    tags: ['methods'],
    middleware: [admin(auth)],
    security: ADMIN_SECURITY,
    request: { params: nameParam },
    responses: { 200: jsonResponse(Method, 'the method, secrets masked'), ...errorResponses(...ADMIN_ERRORS, 404) },
  });

const createMethodRoute = (auth: Auth) =>
  createRoute({
    method: 'post',
    path: '/api/v1/methods',
    summary: 'Create a notification method',
    description:
      'Validated exactly as a method of the config file; kept in the database, in force at once and after restarts. Routes of the config file may name it.',
    tags: ['methods'],
    middleware: [admin(auth), jsonBody('a method')],
    security: ADMIN_SECURITY,
    request: { body: jsonRequest(NewMethodBody, 'the name and the method') },
    responses: {
      201: jsonResponse(Method, 'the method created, secrets masked'),
      ...errorResponses(400, ...ADMIN_ERRORS, 409, 413, 415, 503),
    },
  });

const deleteRoute = (auth: Auth) =>
  createRoute({
    method: 'delete',
    path: '/api/v1/methods/{name}',
    summary: 'Remove a method created through the API',
    description: 'Its undelivered notifications stay pending (`tocsin dead-letters --discard --method M` clears them). A file method, or one a route or canary still names, is a 409.',
    tags: ['methods'],
    middleware: [admin(auth)],
    security: ADMIN_SECURITY,
    request: { params: nameParam },
    responses: { 204: { description: 'removed' }, ...errorResponses(...ADMIN_ERRORS, 404, 409, 503) },
  });

const testRoute = (auth: Auth) =>
  createRoute({
    method: 'post',
    path: '/api/v1/methods/{name}/test',
    summary: 'Send a test notification',
    description: 'One clearly labelled test notification through the method now, as `tocsin test-method` sends it; nothing is written to the outbox.',
    tags: ['methods'],
    middleware: [admin(auth)],
    security: ADMIN_SECURITY,
    request: { params: nameParam },
    responses: { 200: jsonResponse(TestAnswer, 'what the destination answered'), ...errorResponses(...ADMIN_ERRORS, 404) },
  });

export function methodRoutes(deps: MethodRouteDeps): OpenAPIHono {
  const app = apiApp();
  const { methods } = deps;

  openapiRoute(app, listRoute(deps.authenticateAdmin), (c) => c.json({ items: methods.list() }));

  openapiRoute(app, getRoute(deps.authenticateAdmin), (c) => {
    const m = methods.get(c.req.valid('param').name);
    return m ? c.json(m) : errorResponse(c, 'not_found', NOT_FOUND);
  });

  openapiRoute(app, createMethodRoute(deps.authenticateAdmin), (c) => {
    const v = c.req.valid('json');
    return storing(c, async () => {
      const r = await methods.add({ name: v.name, method: v.method, ...(v.by !== undefined && { by: v.by }) });
      if (r.ok) return c.json(r.method, 201);
      const code = r.problem === 'conflict' ? 'conflict' : 'invalid_request';
      return errorResponse(c, code, `${r.field}: ${r.message}`, { field: r.field });
    });
  });

  openapiRoute(app, deleteRoute(deps.authenticateAdmin), (c) => {
    const name = c.req.valid('param').name;
    return storing(c, async () => {
      const r = await methods.remove(name);
      if (r.ok) return c.body(null, 204);
      return errorResponse(c, r.problem === 'unknown' ? 'not_found' : 'conflict', r.message);
    });
  });

  openapiRoute(app, testRoute(deps.authenticateAdmin), async (c) => {
    const r = await methods.test(c.req.valid('param').name);
    return r ? c.json(r) : errorResponse(c, 'not_found', NOT_FOUND);
  });

  return app;
}
