/**
 * @module lifecycle/policies
 * Which methods an alarm goes to and how (repeat, flap damping, grouping), from the routes that send
 * it there. Pure.
 */
import type { AlarmInput } from '../domain/alarm.ts';
import type { RouteConfig } from '../config/types.ts';
import { routeAlarmVia } from '../routing/route.ts';
import type { MethodPolicy } from './state.ts';

export interface PolicyContext {
  /** A method's own repeat_interval. */
  readonly methodRepeatMs: (method: string) => number | undefined;
  /** Can the method's channel carry several alarms in one notification (webhook, log)? */
  readonly canGroup: (method: string) => boolean;
}

/** The methods of `a`, in route order, each with the settings of the route that sent it there. */
export function policiesFor(a: AlarmInput, routes: readonly RouteConfig[], ctx: PolicyContext): MethodPolicy[] {
  return routeAlarmVia(a, routes).map(({ method, route: i }) => {
    const r = routes[i]!;
    const repeatMs = r.repeatIntervalMs ?? ctx.methodRepeatMs(method);
    return {
      method,
      ...(repeatMs !== undefined && { repeatMs }),
      ...(r.minStateIntervalMs !== undefined && { minStateMs: r.minStateIntervalMs }),
      ...(r.group && ctx.canGroup(method) && {
        group: { key: groupKey(method, i, r.group.by, a), waitMs: r.group.waitMs, intervalMs: r.group.intervalMs },
      }),
    };
  });
}

/** One group per method, route and value of each group_by label (a missing label is its own value). */
export function groupKey(method: string, route: number, by: readonly string[], a: AlarmInput): string {
  const values = by.map((l) => (Object.hasOwn(a.labels, l) ? a.labels[l]! : null));
  return JSON.stringify([method, route, values]);
}
