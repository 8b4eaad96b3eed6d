/**
 * @module outbox/rows
 * Conversion between stored rows and domain alarms.
 */
import type { Alarm, AlarmStatus, Severity } from '../domain/alarm.ts';
import type { alarms } from './schema.ts';

export type AlarmRow = typeof alarms.$inferSelect;

export function alarmToRow(a: Alarm, routedTo: number): AlarmRow {
  return {
    id: a.id,
    source: a.source,
    name: a.name,
    severity: a.severity,
    status: a.status,
    summary: a.summary ?? null,
    description: a.description ?? null,
    labels: JSON.stringify(a.labels),
    annotations: JSON.stringify(a.annotations),
    details: a.details === undefined ? null : JSON.stringify(a.details),
    occurredAt: a.occurredAt,
    receivedAt: a.receivedAt,
    dedupKey: a.dedupKey,
    routedTo,
  };
}

export function rowToAlarm(r: AlarmRow): Alarm {
  const base = {
    id: r.id,
    source: r.source,
    name: r.name,
    severity: r.severity as Severity,
    status: r.status as AlarmStatus,
    labels: JSON.parse(r.labels) as Record<string, string>,
    annotations: JSON.parse(r.annotations) as Record<string, string>,
    occurredAt: r.occurredAt,
    receivedAt: r.receivedAt,
    dedupKey: r.dedupKey,
  };
  return {
    ...base,
    ...(r.summary !== null ? { summary: r.summary } : {}),
    ...(r.description !== null ? { description: r.description } : {}),
    ...(r.details !== null ? { details: JSON.parse(r.details) as Alarm['details'] } : {}),
  };
}
