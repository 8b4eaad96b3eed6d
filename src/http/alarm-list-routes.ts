/**
 * @module http/alarm-list-routes
 * GET /v1/alarms: the current state of each alarm (per source and dedup key), newest occurrence
 * included, filtered by `state` (firing|resolved), `source` and `label.<name>=<value>`, a page at a time
 * (`limit`, default 100, at most 1000; `cursor` from the previous page's `next_cursor`). With sources
 * configured, each source sees only its own alarms.
 */
import { Buffer } from 'node:buffer';
import { Hono } from 'hono';
import { alarmToJson, STATUSES, type AlarmStatus } from '../domain/alarm.ts';
import type { AlarmState } from '../lifecycle/state.ts';
import type { LifecycleStore } from '../outbox/lifecycle-store.ts';
import type { AuthResult } from './auth.ts';
import { errorResponse } from './errors.ts';

export interface AlarmListDeps {
  readonly states: Pick<LifecycleStore, 'list'>;
  readonly authenticate: (authorization: string | undefined) => AuthResult;
}

const iso = (t: number) => new Date(t).toISOString();

function cursorOf(s: AlarmState): string {
  return Buffer.from(JSON.stringify([s.source, s.dedupKey])).toString('base64url');
}

function parseCursor(c: string): [string, string] | undefined {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString()) as unknown;
    return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' ? [v[0], v[1]] : undefined;
  } catch {
    return undefined;
  }
}

export function alarmListRoutes(deps: AlarmListDeps): Hono {
  const app = new Hono();
  app.get('/v1/alarms', (c) => {
    const auth = deps.authenticate(c.req.header('authorization'));
    if (!auth.ok) return errorResponse(c, 'unauthorized', auth.message);
    const q = c.req.query();
    const state = q.state;
    if (state !== undefined && !STATUSES.includes(state as AlarmStatus)) {
      return errorResponse(c, 'invalid_request', `state must be one of: ${STATUSES.join(', ')}`, { field: 'state' });
    }
    if (auth.source !== undefined && q.source !== undefined && q.source !== auth.source) {
      return errorResponse(c, 'forbidden', `this token belongs to source "${auth.source}" and cannot list the alarms of source "${q.source}"`);
    }
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return errorResponse(c, 'invalid_request', 'limit must be a whole number from 1 to 1000', { field: 'limit' });
    const after = q.cursor === undefined ? undefined : parseCursor(q.cursor);
    if (q.cursor !== undefined && !after) return errorResponse(c, 'invalid_request', 'cursor is not one this API gave', { field: 'cursor' });
    const pairs: [string, string][] = [];
    for (const [k, v] of Object.entries(q)) {
      if (k.startsWith('label.') && k.length > 6) pairs.push([k.slice(6), v]);
      else if (!['state', 'source', 'limit', 'cursor'].includes(k)) {
        return errorResponse(c, 'invalid_request', `unknown query parameter ${JSON.stringify(k)}; use state, source, label.<name>, limit or cursor`, { field: k });
      }
    }
    // Own properties whatever the name (a label named __proto__ filters like any other).
    const labels = Object.fromEntries(pairs);
    const source = auth.source ?? q.source;
    const rows = deps.states.list({
      ...(state !== undefined && { status: state as AlarmStatus }),
      ...(source !== undefined && { source }),
      labels,
      ...(after && { after }),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const alarms = page.map(({ state: s, alarm }) => ({
      source: s.source,
      dedup_key: s.dedupKey,
      state: s.status,
      since: iso(s.since),
      last_seen: iso(s.lastSeen),
      count: s.count,
      silenced_by: s.silencedBy ?? null,
      ...(s.endsAt !== undefined && { ends_at: iso(s.endsAt) }),
      notified: Object.fromEntries(
        Object.entries(s.methods).map(([m, mark]) => [m, { status: mark.st, at: iso(mark.at), repeats: mark.n, ...(mark.hold && { held: true }) }]),
      ),
      alarm: alarmToJson(alarm),
    }));
    const last = page[page.length - 1];
    return c.json({ alarms, ...(rows.length > limit && last && { next_cursor: cursorOf(last.state) }) });
  });
  return app;
}
