/**
 * @module http/check-admin-routes
 * The admin API's heartbeat checks (issue #15; `admin.tokens`): GET /api/v1/checks ({checks: [...]}),
 * GET /api/v1/checks/{name}, POST /api/v1/checks (201 with the new runtime check), POST
 * /api/v1/checks/{name}/pause and /resume (200 with the check), DELETE /api/v1/checks/{name} (200 with the
 * check as it was). Checks of the config file are read-only here (409). Built on `ChecksApi` alone; mounted
 * with `app.route('/', checkAdminRoutes(...))` when the relay has checks. Auth, body, content type and
 * errors as src/http/silence-routes.ts.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { CheckChange, CheckView, ChecksApi } from '../app/checks-api.ts';
import { parseDuration } from '../lib/duration.ts';
import type { AdminAuthResult } from './admin-auth.ts';
import { denied, issueField, readJsonBody, storing } from './admin-request.ts';
import { errorResponse } from './errors.ts';

export interface CheckAdminRouteDeps {
  readonly checks: ChecksApi;
  readonly authenticateAdmin: (authorization: string | undefined) => AdminAuthResult;
}

export const READ_ONLY_MESSAGE = 'a check of the config file cannot be changed at runtime; edit the file and restart tocsin';
const NOT_FOUND_MESSAGE = 'no such check';

/** A duration as the config file writes it ("30s", "5m", "1h", "1d"), in milliseconds. */
const duration = (what: string, example: string) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? `is required: ${what}, a duration like ${example}` : `must be a duration like ${example} (ms, s, m, h or d)`) })
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms !== undefined) return ms;
      ctx.addIssue({ code: 'custom', message: `must be a duration like ${example} (ms, s, m, h or d)` });
      return z.NEVER;
    });
const text = (what: string, max: number) =>
  z.string({ error: (iss) => (iss.input === undefined ? `is required: ${what}` : `must be a string: ${what}`) }).trim().min(1, `must not be empty: ${what}`).max(max, `is longer than ${max} characters`);

export const newCheck = z.strictObject(
  {
    name: text("the check's name (its slug)", 200),
    period: duration('how often the check is pinged', '5m').optional(),
    schedule: text('a cron expression like "0 3 * * *"', 200).optional(),
    tz: text('an IANA time zone like Europe/Berlin', 100).optional(),
    grace: duration('how late a ping may come', '1m'),
    labels: z
      .record(z.string(), z.string({ error: 'must be a string' }), { error: 'must be an object of labels like {"team": "storage"}' })
      .optional(),
    uuid: text('a UUID', 100).optional(),
  },
  { error: (iss) => (iss.code === 'unrecognized_keys' ? 'unknown field' : 'must be a check object') },
);

function invalid(c: Context, field: string, message: string): Response {
  return errorResponse(c, 'invalid_request', `${field}: ${message}`, { field });
}

/** The answer to a change that did not happen: 404 unknown, 409 a file check; undefined when it did. */
function refused(c: Context, change: CheckChange): Response | undefined {
  if (change === 'unknown') return errorResponse(c, 'not_found', NOT_FOUND_MESSAGE);
  if (change === 'read_only') return errorResponse(c, 'conflict', READ_ONLY_MESSAGE);
  return undefined;
}

export function checkAdminRoutes(deps: CheckAdminRouteDeps): Hono {
  const app = new Hono();

  app.get('/api/v1/checks', (c) => {
    const no = denied(c, deps.authenticateAdmin);
    if (no) return no;
    return c.json({ checks: deps.checks.list() });
  });

  app.get('/api/v1/checks/:name', (c) => {
    const no = denied(c, deps.authenticateAdmin);
    if (no) return no;
    const check = deps.checks.get(c.req.param('name'));
    return check ? c.json(check) : errorResponse(c, 'not_found', NOT_FOUND_MESSAGE);
  });

  app.post('/api/v1/checks', async (c) => {
    const no = denied(c, deps.authenticateAdmin);
    if (no) return no;
    const read = await readJsonBody(c, 'a check');
    if (!read.ok) return read.response;
    const r = newCheck.safeParse(read.body);
    if (!r.success) {
      const iss = r.error.issues[0]!;
      return invalid(c, issueField(iss), iss.message);
    }
    const v = r.data;
    if (v.period !== undefined && v.schedule !== undefined) return invalid(c, 'schedule', 'give either period or schedule, not both');
    if (v.period === undefined && v.schedule === undefined) {
      return invalid(c, 'period', 'is required: period (a duration like 5m) or schedule (a cron expression like "0 3 * * *")');
    }
    if (v.period !== undefined && v.period <= 0) return invalid(c, 'period', 'must be longer than 0');
    if (v.tz !== undefined && v.schedule === undefined) return invalid(c, 'tz', 'goes only with schedule (a period needs no time zone)');
    if (deps.checks.get(v.name) !== undefined) {
      return errorResponse(c, 'conflict', `name: a check named "${v.name}" exists already`, { field: 'name' });
    }
    if (v.uuid !== undefined) {
      const uuid = v.uuid.toLowerCase();
      const other = deps.checks.list().find((x) => x.uuid.toLowerCase() === uuid);
      if (other) return errorResponse(c, 'conflict', `uuid: the check "${other.name}" has this uuid already`, { field: 'uuid' });
    }
    return storing(c, async () => {
      const added = await deps.checks.add({
        name: v.name,
        ...(v.period !== undefined && { periodMs: v.period }),
        ...(v.schedule !== undefined && { schedule: v.schedule }),
        ...(v.tz !== undefined && { tz: v.tz }),
        graceMs: v.grace,
        ...(v.labels !== undefined && { labels: v.labels }),
        ...(v.uuid !== undefined && { uuid: v.uuid }),
      });
      if (!added.ok) {
        const iss = added.issues[0];
        return iss ? invalid(c, iss.path || 'body', iss.message) : errorResponse(c, 'invalid_request', 'the check was refused');
      }
      return c.json(added.check, 201);
    });
  });

  const pausing = (paused: boolean) => async (c: Context) => {
    const no = denied(c, deps.authenticateAdmin);
    if (no) return no;
    const name = c.req.param('name')!;
    return storing(c, async () => {
      const change = await deps.checks.setPaused(name, paused);
      const no = refused(c, change);
      if (no) return no;
      const check = deps.checks.get(name);
      return check ? c.json(check) : errorResponse(c, 'not_found', NOT_FOUND_MESSAGE);
    });
  };
  app.post('/api/v1/checks/:name/pause', pausing(true));
  app.post('/api/v1/checks/:name/resume', pausing(false));

  app.delete('/api/v1/checks/:name', async (c) => {
    const no = denied(c, deps.authenticateAdmin);
    if (no) return no;
    const name = c.req.param('name');
    const before: CheckView | undefined = deps.checks.get(name);
    return storing(c, async () => {
      const change = await deps.checks.remove(name);
      const no = refused(c, change);
      if (no) return no;
      return c.json(before ?? { name }, 200);
    });
  });

  return app;
}
