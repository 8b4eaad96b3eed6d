/**
 * @module routing/route
 * Pure routing: which methods an alarm goes to. Routes are tried in order; the first match wins
 * unless it says `continue: true`. A route without `match` matches everything.
 */
import type { AlarmInput } from '../domain/alarm.ts';
import type { RouteConfig } from '../config/types.ts';

export function routeMatches(route: RouteConfig, a: AlarmInput): boolean {
  return matchesAlarm(route.match, a);
}

/** Does the alarm satisfy every matcher of `m` (the object of routes[].match and of a silence)? */
export function matchesAlarm(m: RouteConfig['match'], a: AlarmInput): boolean {
  if (m.source && !m.source.test(a.source)) return false;
  if (m.name && !m.name.test(a.name)) return false;
  if (m.severity && !m.severity.test(a.severity)) return false;
  if (m.status && !m.status.test(a.status)) return false;
  for (const [label, matcher] of Object.entries(m.labels)) {
    if (!matcher.test(Object.hasOwn(a.labels, label) ? a.labels[label] : undefined)) return false;
  }
  return true;
}

/** Each method the alarm goes to, in route order, once, with the route that sent it there (its index). */
export function routeAlarmVia(a: AlarmInput, routes: readonly RouteConfig[]): { method: string; route: number }[] {
  const out: { method: string; route: number }[] = [];
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i]!;
    if (!routeMatches(route, a)) continue;
    for (const method of route.methods) if (!out.some((o) => o.method === method)) out.push({ method, route: i });
    if (!route.continue) break;
  }
  return out;
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
