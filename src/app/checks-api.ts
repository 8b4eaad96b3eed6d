/**
 * @module app/checks-api
 * What the admin API and the CLI see of the heartbeat checks (issue #15): the shape of a check as shown,
 * and the operations on the runtime ones. File checks are read-only at runtime.
 */

/** A check as the admin API shows it (no secret: the ping key is never shown). */
export interface CheckView {
  readonly name: string;
  readonly uuid: string;
  readonly origin: 'file' | 'api';
  /** A period ("5m", as milliseconds too), or a cron schedule and its time zone. */
  readonly period_ms?: number;
  readonly schedule?: string;
  readonly tz?: string;
  readonly grace_ms: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly paused: boolean;
  /** new | up | down | paused, and why it is down (missing | failed | unfinished). */
  readonly status: string;
  readonly down_reason?: string;
  readonly last_ping_at?: string;
  readonly due_at?: string;
  /** The check's ping path on this relay: `/ping/<uuid>`. */
  readonly ping_path: string;
}

export interface NewCheck {
  readonly name: string;
  readonly periodMs?: number;
  readonly schedule?: string;
  readonly tz?: string;
  readonly graceMs: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly uuid?: string;
}

export type CheckChange = 'ok' | 'unknown' | 'read_only';

export interface ChecksApi {
  list(): CheckView[];
  get(name: string): CheckView | undefined;
  /** Adds a runtime check (stored in SQLite): the problems name the fields (`name`, `period`, `schedule`, `tz`, `grace`, `labels.x`, `uuid`). */
  add(input: NewCheck): Promise<{ ok: true; check: CheckView } | { ok: false; issues: { path: string; message: string }[] }>;
  /** Pauses or resumes a runtime check; a file check is `read_only`. */
  setPaused(name: string, paused: boolean): Promise<CheckChange>;
  /** Removes a runtime check (its state with it; a firing alarm of it is resolved). */
  remove(name: string): Promise<CheckChange>;
}
