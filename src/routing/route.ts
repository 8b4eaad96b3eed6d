/**
 * @module routing/route
 * Pure routing: which methods an alarm goes to. Routes are tried in order; the first match wins
 * unless it says `continue: true`. A route without `match` matches everything.
 */
import type { AlarmInput } from '../domain/alarm.ts';
import type { RouteConfig } from '../config/types.ts';

export function routeMatches(route: RouteConfig, a: AlarmInput): boolean {
  const m = route.match;
  if (m.source && !m.source.test(a.source)) return false;
  if (m.name && !m.name.test(a.name)) return false;
  if (m.severity && !m.severity.test(a.severity)) return false;
  if (m.status && !m.status.test(a.status)) return false;
  for (const [label, matcher] of Object.entries(m.labels)) {
    if (!matcher.test(Object.hasOwn(a.labels, label) ? a.labels[label] : undefined)) return false;
  }
  return true;
}

/** The methods, in route order, each once. Empty = unrouted. */
export function routeAlarm(a: AlarmInput, routes: readonly RouteConfig[]): string[] {
  const out: string[] = [];
  for (const route of routes) {
    if (!routeMatches(route, a)) continue;
    for (const method of route.methods) if (!out.includes(method)) out.push(method);
    if (!route.continue) break;
  }
  return out;
}
