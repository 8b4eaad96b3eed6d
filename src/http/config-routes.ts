/**
 * @module http/config-routes
 * The admin API's view of the running configuration (`admin.tokens`, read-only): GET /api/v1/routes (the
 * routes in order, matchers as written, durations as text) and GET /api/v1/canaries (each configured
 * canary with its status, the last success and its last run). The methods are src/http/method-routes.ts.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { CanaryConfig, Matcher, RouteConfig } from '../config/types.ts';
import type { CanaryRunQueries } from '../outbox/admin-queries.ts';
import type { AdminAuthResult } from './admin-auth.ts';
import { ADMIN_ERRORS, ADMIN_SECURITY, TimeOrNull, admin, apiApp, errorResponses, isoOrNull, jsonResponse, openapiRoute } from './api-kit.ts';

export interface ConfigRouteDeps {
  /** The routes and canaries as they are now (they follow reloads). */
  readonly routes: () => readonly RouteConfig[];
  readonly canaries: () => readonly CanaryConfig[];
  /** A canary's status: `ok`, `failing: <reason>` or `unknown` (absent: no canary service runs). */
  readonly canaryState?: (name: string) => string;
  readonly canaryRuns: Pick<CanaryRunQueries, 'lastSuccess' | 'lastRun'>;
  readonly authenticateAdmin: (authorization: string | undefined) => AdminAuthResult;
}

/** "1h", "5m", "30s", "1500ms": the largest unit that divides it. */
export function durationText(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const Duration = z.string().nullable().openapi({ description: 'a duration like 5m; null: not set', example: '5m' });

const RouteItem = z
  .object({
    index: z.number().int(),
    match: z
      .object({
        source: z.string().optional(),
        name: z.string().optional(),
        severity: z.string().optional(),
        status: z.string().optional(),
        labels: z.record(z.string(), z.string()),
      })
      .openapi({ description: 'the matchers as written: "value", "~regex", "!value", "!~regex"' }),
    methods: z.array(z.string()),
    continue: z.boolean(),
    group_by: z.array(z.string()).nullable(),
    repeat_interval: Duration,
    min_state_interval: Duration,
  })
  .openapi('Route');

const LastRun = z
  .object({
    rid: z.string(),
    started_at: z.string().openapi({ format: 'date-time' }),
    outcome: z.string().openapi({ description: 'open, succeeded or failed' }),
    stage: z.string(),
    reason: z.string().nullable(),
    finished_at: TimeOrNull,
    latency_ms: z.number().int().nullable(),
  })
  .openapi('CanaryRun');

const CanaryItem = z
  .object({
    name: z.string(),
    status: z.string().openapi({ description: 'ok, failing: <reason>, or unknown (no run ended since the start)' }),
    interval: z.string().openapi({ example: '1m' }),
    methods: z.array(z.string()),
    last_success_at: TimeOrNull,
    last_run: LastRun.nullable(),
  })
  .openapi('Canary');

const text = (m: Matcher | undefined) => m?.source;

export function routeItem(r: RouteConfig, index: number): z.infer<typeof RouteItem> {
  const match: z.infer<typeof RouteItem>['match'] = { labels: Object.fromEntries(Object.entries(r.match.labels).map(([k, m]) => [k, m.source])) };
  for (const k of ['source', 'name', 'severity', 'status'] as const) {
    const t = text(r.match[k]);
    if (t !== undefined) match[k] = t;
  }
  return {
    index, match, methods: [...r.methods], continue: r.continue, group_by: r.group ? [...r.group.by] : null,
    repeat_interval: r.repeatIntervalMs === undefined ? null : durationText(r.repeatIntervalMs),
    min_state_interval: r.minStateIntervalMs === undefined ? null : durationText(r.minStateIntervalMs),
  };
}

export function configRoutes(deps: ConfigRouteDeps): OpenAPIHono {
  const app = apiApp();

  openapiRoute(
    app,
    createRoute({
      method: 'get',
      path: '/api/v1/routes',
      summary: 'The routes in order',
      tags: ['config'],
      middleware: [admin(deps.authenticateAdmin)],
      security: ADMIN_SECURITY,
      responses: { 200: jsonResponse(z.object({ items: z.array(RouteItem) }), 'the routes'), ...errorResponses(...ADMIN_ERRORS) },
    }),
    (c) => c.json({ items: deps.routes().map(routeItem) }),
  );

  openapiRoute(
    app,
    createRoute({
      method: 'get',
      path: '/api/v1/canaries',
      summary: 'The heartbeat canaries and their status',
      tags: ['config'],
      middleware: [admin(deps.authenticateAdmin)],
      security: ADMIN_SECURITY,
      responses: { 200: jsonResponse(z.object({ items: z.array(CanaryItem) }), 'the canaries'), ...errorResponses(...ADMIN_ERRORS) },
    }),
    (c) =>
      c.json({
        items: deps.canaries().map((k) => {
          const run = deps.canaryRuns.lastRun(k.name);
          return {
            name: k.name,
            status: deps.canaryState?.(k.name) ?? 'unknown',
            interval: durationText(k.intervalMs),
            methods: [...k.methods],
            last_success_at: isoOrNull(deps.canaryRuns.lastSuccess(k.name)),
            last_run: run
              ? {
                  rid: run.rid, started_at: new Date(run.startedAt).toISOString(), outcome: run.outcome, stage: run.stage, reason: run.reason,
                  finished_at: isoOrNull(run.finishedAt), latency_ms: run.latencyMs,
                }
              : null,
          };
        }),
      }),
  );

  return app;
}
