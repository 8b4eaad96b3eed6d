/**
 * @module http/silence-routes
 * The admin API's silences (`admin.tokens`): POST /api/v1/silences (201 {id, ...}), GET /api/v1/silences
 * (?state=active|pending|expired), GET /api/v1/silences/{id}, DELETE /api/v1/silences/{id} (expires it
 * now; the alarms it held that still fire are notified then). Part of /api/v1, where the rest of the
 * admin API goes.
 */
import { parseRfc3339 } from '../lib/rfc3339.ts';
import { Hono } from 'hono';
import { z } from 'zod';
import type { SilenceService, SilenceState } from '../app/silences.ts';
import type { AdminAuthResult } from './admin-auth.ts';
import { denied, issueField, readJsonBody, storing } from './admin-request.ts';
import { errorResponse } from './errors.ts';

export interface SilenceRouteDeps {
  readonly silences: SilenceService;
  readonly authenticateAdmin: (authorization: string | undefined) => AdminAuthResult;
}

const TIME_MSG = 'must be an RFC 3339 time like 2026-12-01T12:00:00Z';
const time = z.string({ error: TIME_MSG }).transform((v, ctx) => {
  const t = parseRfc3339(v, { space: true });
  if (t !== undefined) return t;
  ctx.addIssue({ code: 'custom', message: TIME_MSG });
  return z.NEVER;
});
const text = (what: string) => z.string({ error: `is required: ${what}` }).trim().min(1, `must not be empty: ${what}`).max(1024);

export const newSilence = z.strictObject(
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
/** True when a silence would match every alarm (no matcher at all). */
function matchesAll(match: Record<string, unknown>): boolean {
  const labels = match.labels;
  const hasLabels = labels !== null && typeof labels === 'object' && Object.keys(labels).length > 0;
  return !hasLabels && Object.keys(match).filter((k) => k !== 'labels').length === 0;
}

export function silenceRoutes(deps: SilenceRouteDeps): Hono {
  const app = new Hono();

  app.post('/api/v1/silences', async (c) => {
    const no = denied(c, deps.authenticateAdmin);
    if (no) return no;
    const read = await readJsonBody(c, 'a silence');
    if (!read.ok) return read.response;
    const r = newSilence.safeParse(read.body);
    if (!r.success) {
      const iss = r.error.issues[0]!;
      const field = issueField(iss);
      return errorResponse(c, 'invalid_request', `${field}: ${iss.message}`, { field });
    }
    const v = r.data;
    if (matchesAll(v.match)) {
      return errorResponse(c, 'invalid_request', 'match: would silence every alarm; give at least one matcher (source, name, severity, status or labels)', { field: 'match' });
    }
    return storing(c, async () => {
      const created = await deps.silences.create({
        match: v.match, ...(v.starts_at !== undefined && { startsAt: v.starts_at }), endsAt: v.ends_at, comment: v.comment, createdBy: v.created_by,
      });
      if (!created.ok) {
        const iss = created.issues[0]!;
        return errorResponse(c, 'invalid_request', `${iss.path}: ${iss.message}`, { field: iss.path });
      }
      return c.json(created.silence, 201);
    });
  });

  app.get('/api/v1/silences', (c) => {
    const no = denied(c, deps.authenticateAdmin);
    if (no) return no;
    const state = c.req.query('state');
    if (state !== undefined && !STATES.includes(state as SilenceState)) {
      return errorResponse(c, 'invalid_request', `state must be one of: ${STATES.join(', ')}`, { field: 'state' });
    }
    return c.json({ silences: deps.silences.list(state as SilenceState | undefined) });
  });

  app.get('/api/v1/silences/:id', (c) => {
    const no = denied(c, deps.authenticateAdmin);
    if (no) return no;
    const s = deps.silences.get(c.req.param('id'));
    return s ? c.json(s) : errorResponse(c, 'not_found', 'no such silence (it may have passed its retention)');
  });

  app.delete('/api/v1/silences/:id', async (c) => {
    const no = denied(c, deps.authenticateAdmin);
    if (no) return no;
    const id = c.req.param('id');
    return storing(c, async () => {
      const r = await deps.silences.expire(id);
      if (r === 'unknown') return errorResponse(c, 'not_found', 'no such silence (it may have passed its retention)');
      return c.json(deps.silences.get(id) ?? { id }, 200);
    });
  });

  return app;
}
