/**
 * @module app/check-specs
 * The heartbeat checks' specs and views (issue #15): a file check or a stored runtime check → CheckSpec,
 * a NewCheck from the admin API checked field by field, a check → CheckView, and the alarm a transition
 * owes (source `checks`, the check's name as dedup key, its labels plus `check: <name>`).
 */
import { validateCron } from '../checks/schedule.ts';
import type { CheckEvent, CheckSchedule, CheckSpec, CheckState } from '../checks/types.ts';
import type { CheckConfig } from '../config/types.ts';
import { NAME_RE, UUID_RE } from '../config/names.ts';
import { SEVERITIES, type AlarmInput, type Severity } from '../domain/alarm.ts';
import type { CheckRow } from '../outbox/checks-store.ts';
import type { CheckView, NewCheck } from './checks-api.ts';

/** The source of the checks' alarms (config refuses it as a source name). */
export const CHECKS_SOURCE = 'checks';
/** The shortest period and grace time of a runtime check (as in the config). */
const MIN_MS = 1000;

export function fileSpec(c: CheckConfig, uuid: string): CheckSpec {
  return { name: c.name, uuid, origin: 'file', schedule: c.schedule, graceMs: c.graceMs, labels: c.labels, paused: false };
}

export function runtimeSpec(r: CheckRow): CheckSpec {
  const schedule: CheckSchedule =
    r.schedule !== undefined ? { kind: 'cron', expr: r.schedule, tz: r.tz ?? 'UTC' } : { kind: 'period', periodMs: r.periodMs ?? 86_400_000 };
  return { name: r.name, uuid: r.uuid, origin: 'api', schedule, graceMs: r.graceMs, labels: r.labels, paused: r.paused };
}

export interface Issue {
  readonly path: string;
  readonly message: string;
}

/**
 * A runtime check as the admin API asks for it → the row to store, or the problems by field. `taken`:
 * is this name or UUID used by another check?
 */
export function checkNew(
  input: NewCheck,
  taken: { name(n: string): boolean; uuid(u: string): boolean },
  newUuid: () => string,
  now: number,
): { ok: true; row: CheckRow } | { ok: false; issues: Issue[] } {
  const issues: Issue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  if (typeof input.name !== 'string' || !NAME_RE.test(input.name)) add('name', 'invalid name; use letters, digits, "_", "." or "-", starting with a letter or digit');
  else if (taken.name(input.name)) add('name', `a check named "${input.name}" exists; remove it first or choose another name`);
  const period = input.periodMs;
  const schedule = input.schedule?.trim();
  if (period !== undefined && schedule !== undefined) add('period', 'set one of period or schedule, not both');
  else if (period === undefined && schedule === undefined) add('period', 'set one of period (a duration like "5m") or schedule (a cron expression)');
  else if (period !== undefined && (!Number.isSafeInteger(period) || period < MIN_MS)) add('period', 'must be at least 1s');
  if (schedule !== undefined && period === undefined) {
    const problem = validateCron(schedule, input.tz ?? 'UTC');
    if (problem !== undefined) add(problem.startsWith('unknown time zone') ? 'tz' : 'schedule', problem);
  } else if (input.tz !== undefined) add('tz', 'is used with schedule only (a period has no time zone)');
  if (!Number.isSafeInteger(input.graceMs) || input.graceMs < MIN_MS) add('grace', 'must be at least 1s');
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.labels ?? {})) {
    if (k === '' || k === '__proto__') add(`labels.${k}`, k === '' ? 'must not be an empty name' : 'is a reserved name and cannot be a label');
    else if (typeof v !== 'string') add(`labels.${k}`, 'must be a string');
    else labels[k] = v;
  }
  const uuid = input.uuid?.toLowerCase();
  if (uuid !== undefined && !UUID_RE.test(uuid)) add('uuid', 'must be a UUID like 9c4d4b0e-5c1a-4f7e-8a63-2b0c5e1d7f10 (or leave it out: one is generated)');
  else if (uuid !== undefined && taken.uuid(uuid)) add('uuid', 'is the UUID of another check');
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    row: {
      name: input.name, uuid: uuid ?? newUuid(),
      ...(schedule !== undefined ? { schedule, tz: input.tz ?? 'UTC' } : { periodMs: period! }),
      graceMs: input.graceMs, labels, paused: false, createdAt: now,
    },
  };
}

export function viewOf(spec: CheckSpec, state: CheckState): CheckView {
  const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
  const s = spec.schedule;
  const lastPing = iso(state.lastPingAt);
  const due = iso(state.dueAt);
  return {
    name: spec.name,
    uuid: spec.uuid,
    origin: spec.origin,
    ...(s.kind === 'period' ? { period_ms: s.periodMs } : { schedule: s.expr, tz: s.tz }),
    grace_ms: spec.graceMs,
    labels: spec.labels,
    paused: spec.paused,
    status: state.status,
    ...(state.why !== undefined && { down_reason: state.why }),
    ...(lastPing !== undefined && { last_ping_at: lastPing }),
    ...(due !== undefined && { due_at: due }),
    ping_path: `/ping/${spec.uuid}`,
  };
}

/** Why a resolved alarm is sent: the check is up again, was paused, or was removed. */
export type ResolvedBy = 'ping' | 'paused' | 'removed';

/** The alarm of an event; `before`: the state the check left (a resolved alarm keeps the firing one's name). */
export function alarmOf(spec: CheckSpec, before: CheckState, event: CheckEvent, at: number, by: ResolvedBy = 'ping'): AlarmInput {
  const labels: Record<string, string> = { ...spec.labels, check: spec.name };
  const severity: Severity = (SEVERITIES as readonly string[]).includes(labels.severity ?? '') ? (labels.severity as Severity) : 'error';
  const base = { source: CHECKS_SOURCE, severity, labels, annotations: {}, dedupKey: spec.name, occurredAt: at };
  if (event.kind === 'firing') {
    return { ...base, name: event.name, status: 'firing', summary: event.summary, ...(event.description !== undefined && { description: event.description }) };
  }
  const name = before.why === 'failed' ? 'HeartbeatFailed' : 'HeartbeatMissing';
  const summary = by === 'ping' ? `check "${spec.name}" is up again` : by === 'paused' ? `check "${spec.name}" was paused` : `check "${spec.name}" was removed`;
  return { ...base, name, status: 'resolved', summary };
}

/** A random (version 4) UUID from 16 random bytes. */
export function uuidFrom(bytes: Uint8Array): string {
  const b = Uint8Array.from(bytes.subarray(0, 16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
