/**
 * @module http/silence-routes
 * The admin API's silences (`admin.tokens`): POST /api/v1/silences (201 {id, ...}), GET /api/v1/silences
 * (?state=active|pending|expired), GET /api/v1/silences/{id}, DELETE /api/v1/silences/{id} (expires it
 * now; the alarms it held that still fire are notified then). Part of /api/v1, where the rest of the
 * admin API goes.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { SilenceService, SilenceState } from '../app/silences.ts';
import { StorageUnavailableError } from '../outbox/storage-fault.ts';
import type { AdminAuthResult } from './admin-auth.ts';
import { BodyTooLarge, ClientAborted, readBodyText } from './body.ts';
import { errorResponse } from './errors.ts';

export interface SilenceRouteDeps {
  readonly silences: SilenceService;
  readonly authenticateAdmin: (authorization: string | undefined) => AdminAuthResult;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const time = z
  .string({ error: 'must be an RFC 3339 time like 2026-12-01T12:00:00Z' })
  .regex(RFC3339, 'must be an RFC 3339 time like 2026-12-01T12:00:00Z')
  .transform((v, ctx) => {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
    ctx.addIssue({ code: 'custom', message: 'is not a valid time' });
    return z.NEVER;
  });
const text = (what: string) => z.string({ error: `is required: ${what}` }).trim().min(1, `must not be empty: ${what}`).max(1024);

const newSilence = z.strictObject(
  {
    match: z.record(z.string(), z.unknown(), { error: 'is required: an object like {"labels": {"host": "db-1"}} (the syntax of routes[].match)' }),
    starts_at: time.optional(),
    ends_at: time,
    comment: text('why the alarms are silenced'),
    created_by: text('who silences them'),
  },
  { error: (iss) => (iss.code === 'unrecognized_keys' ? 'unknown field' : 'must be a silence object') },
);

const STATES: readonly SilenceState[] = ['active', 'pending', 'expired'];
const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;
const MAX_BODY = 64 * 1024;

/** The admin check of every route here: undefined when allowed, else the error answer. */
function denied(c: Context, deps: SilenceRouteDeps): Response | undefined {
  const auth = deps.authenticateAdmin(c.req.header('authorization'));
  if (auth.ok) return undefined;
  return errorResponse(c, auth.status === 401 ? 'unauthorized' : 'forbidden', auth.message);
}

/** True when a silence would match every alarm (no matcher at all). */
function matchesAll(match: Record<string, unknown>): boolean {
  const labels = match.labels;
  const hasLabels = labels !== null && typeof labels === 'object' && Object.keys(labels).length > 0;
  return !hasLabels && Object.keys(match).filter((k) => k !== 'labels').length === 0;
}

export function silenceRoutes(deps: SilenceRouteDeps): Hono {
  const app = new Hono();

  app.post('/api/v1/silences', async (c) => {
    const no = denied(c, deps);
    if (no) return no;
    const type = c.req.header('content-type');
    if (type !== undefined && !JSON_TYPE.test(type)) return errorResponse(c, 'unsupported_media_type', 'Content-Type must be application/json');
    let body: unknown;
    try {
      const raw = await readBodyText(c, MAX_BODY);
      body = JSON.parse(raw);
    } catch (e) {
      if (e instanceof BodyTooLarge) return errorResponse(c, 'payload_too_large', `a silence is at most ${MAX_BODY} bytes`);
      if (e instanceof ClientAborted) return errorResponse(c, 'invalid_request', 'the request body ended before it was complete');
      return errorResponse(c, 'invalid_request', 'the body is not JSON', { field: 'body' });
    }
    const r = newSilence.safeParse(body);
    if (!r.success) {
      const iss = r.error.issues[0]!;
      const field = iss.code === 'unrecognized_keys' ? iss.keys[0]! : iss.path.map(String).join('.') || 'body';
      return errorResponse(c, 'invalid_request', `${field}: ${iss.message}`, { field });
    }
    const v = r.data;
    if (matchesAll(v.match)) {
      return errorResponse(c, 'invalid_request', 'match: would silence every alarm; give at least one matcher (source, name, severity, status or labels)', { field: 'match' });
    }
    try {
      const created = await deps.silences.create({
        match: v.match, ...(v.starts_at !== undefined && { startsAt: v.starts_at }), endsAt: v.ends_at, comment: v.comment, createdBy: v.created_by,
      });
      if (!created.ok) {
        const iss = created.issues[0]!;
        return errorResponse(c, 'invalid_request', `${iss.path}: ${iss.message}`, { field: iss.path });
      }
      return c.json(created.silence, 201);
    } catch (e) {
      if (e instanceof StorageUnavailableError) return errorResponse(c, 'unavailable', e.message, { retryAfterSec: e.retryAfterSec });
      throw e;
    }
  });

  app.get('/api/v1/silences', (c) => {
    const no = denied(c, deps);
    if (no) return no;
    const state = c.req.query('state');
    if (state !== undefined && !STATES.includes(state as SilenceState)) {
      return errorResponse(c, 'invalid_request', `state must be one of: ${STATES.join(', ')}`, { field: 'state' });
    }
    return c.json({ silences: deps.silences.list(state as SilenceState | undefined) });
  });

  app.get('/api/v1/silences/:id', (c) => {
    const no = denied(c, deps);
    if (no) return no;
    const s = deps.silences.get(c.req.param('id'));
    return s ? c.json(s) : errorResponse(c, 'not_found', 'no such silence (it may have passed its retention)');
  });

  app.delete('/api/v1/silences/:id', async (c) => {
    const no = denied(c, deps);
    if (no) return no;
    const id = c.req.param('id');
    try {
      const r = await deps.silences.expire(id);
      if (r === 'unknown') return errorResponse(c, 'not_found', 'no such silence (it may have passed its retention)');
      return c.json(deps.silences.get(id) ?? { id }, 200);
    } catch (e) {
      if (e instanceof StorageUnavailableError) return errorResponse(c, 'unavailable', e.message, { retryAfterSec: e.retryAfterSec });
      throw e;
    }
  });

  return app;
}
