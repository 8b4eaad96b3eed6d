/**
 * @module config/match
 * A match object (routes[].match, a silence's match) parsed on its own: the API's silences use the very
 * syntax and checks of the config file.
 */
import type { RouteConfig } from './types.ts';
import { matchSchema, parsePart, type Issue } from './schema.ts';

export type MatchResult = { ok: true; match: RouteConfig['match'] } | { ok: false; issues: Issue[] };

/** `at`: where the object sits, for the issue paths (["match"]). */
export function parseMatch(raw: unknown, at: readonly PropertyKey[] = ['match']): MatchResult {
  const r = parsePart(matchSchema, raw ?? {}, at);
  if (!r.ok) return r;
  const { labels, ...fields } = r.value;
  const match = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Omit<RouteConfig['match'], 'labels'>;
  return { ok: true, match: { ...match, labels } };
}
