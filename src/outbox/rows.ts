/**
 * @module outbox/rows
 * Conversion between stored rows and domain alarms.
 */
import type { Alarm, AlarmStatus, Severity } from '../domain/alarm.ts';
import type { alarms } from './schema.ts';

export type AlarmRow = typeof alarms.$inferSelect;

/** The alarms table's columns in the order of alarmToValues and rowFromValues (the hot statements' SQL). */
export const ALARM_COLUMNS =
  'id, source, name, severity, status, summary, description, labels, annotations, details, occurred_at, received_at, dedup_key, routed_to, ends_at';

/** One `?` per column of ALARM_COLUMNS. */
export const ALARM_PLACEHOLDERS = ALARM_COLUMNS.split(',').map(() => '?').join(', ');

/** The row as positional parameters in ALARM_COLUMNS order. */
export function alarmToValues(a: Alarm, routedTo: number): (string | number | null)[] {
  return [
    a.id, a.source, a.name, a.severity, a.status, a.summary ?? null, a.description ?? null,
    JSON.stringify(a.labels), JSON.stringify(a.annotations), a.details === undefined ? null : JSON.stringify(a.details),
    a.occurredAt, a.receivedAt, a.dedupKey, routedTo, a.endsAt ?? null,
  ];
}

/** A row read as an array in ALARM_COLUMNS order. */
export function rowFromValues(v: readonly unknown[]): AlarmRow {
  return {
    id: v[0] as string, source: v[1] as string, name: v[2] as string, severity: v[3] as string, status: v[4] as string,
    summary: v[5] as string | null, description: v[6] as string | null, labels: v[7] as string, annotations: v[8] as string,
    details: v[9] as string | null, occurredAt: Number(v[10]), receivedAt: Number(v[11]), dedupKey: v[12] as string,
    routedTo: Number(v[13]), endsAt: v[14] === null || v[14] === undefined ? null : Number(v[14]),
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
    ...(r.endsAt !== null ? { endsAt: r.endsAt } : {}),
    ...(r.details !== null ? { details: JSON.parse(r.details) as Alarm['details'] } : {}),
  };
}
