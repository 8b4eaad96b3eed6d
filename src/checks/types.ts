/**
 * @module checks/types
 * Inbound heartbeat checks (issue #15), the data: what a check is (`CheckSpec`, from the config file or the
 * admin API), what is kept about it (`CheckState`, stored by the caller), what a ping says (`Ping`) and what a
 * transition owes the alarm pipeline (`CheckEvent`). Pure types and constants; imports nothing.
 *
 * The rules that move a state are in `checks/transitions`, the deadlines in `checks/schedule`.
 */

/** When a check expects its next success ping. */
export type CheckSchedule =
  /** Every `periodMs` after the last success ping (healthchecks' "simple" checks). */
  | { readonly kind: 'period'; readonly periodMs: number }
  /** At each time of a 5-field cron expression, read in the IANA time zone `tz` ("UTC" for UTC). */
  | { readonly kind: 'cron'; readonly expr: string; readonly tz: string };

/** One check, as configured. */
export interface CheckSpec {
  /** The slug: the check's name, its alarms' dedup key, and its `/ping/<ping-key>/<slug>` URL. */
  readonly name: string;
  /** Its `/ping/<uuid>` URL: fixed in the file, or generated once and kept. */
  readonly uuid: string;
  /** Where it is defined: file checks are read-only at runtime, API checks are stored in SQLite. */
  readonly origin: 'file' | 'api';
  readonly schedule: CheckSchedule;
  /**
   * How late a success may come after the schedule's time before the check goes down; also the longest a
   * run may take between its start ping and its end (as on healthchecks.io).
   */
  readonly graceMs: number;
  /** The labels of the check's alarms. */
  readonly labels: Readonly<Record<string, string>>;
  /** Paused: no alarms and nothing due; unpausing starts over as `new`. */
  readonly paused: boolean;
}

export const PING_KINDS = ['success', 'start', 'fail', 'log'] as const;
/**
 * What a ping says: `/ping/<id>` success, `/start`, `/fail`, `/log`. An exit status (`/<0–255>`) is a
 * success when 0 and a fail otherwise (see `kindOfExitStatus`).
 */
export type PingKind = (typeof PING_KINDS)[number];

/** The highest exit status a ping URL may carry (`/ping/<id>/<0–255>`). */
export const MAX_EXIT_STATUS = 255;

/** One ping, as the HTTP layer hands it over (already authenticated, validated and truncated). */
export interface Ping {
  /**
   * The kind. With an `exitStatus`, the exit status decides between success and fail, and `kind` must be
   * one of those two (the `/<exit status>` URL has no kind of its own).
   */
  readonly kind: PingKind;
  /** When it arrived (epoch ms). */
  readonly at: number;
  /** Run id (a UUID, compared case-insensitively): pairs a start with its end. */
  readonly rid?: string;
  /** An integer 0–255 from `/ping/<id>/<exit status>`. */
  readonly exitStatus?: number;
  /** The request body, already cut to `pings.body_limit` by the caller. */
  readonly body?: string;
}

export type CheckStatus = 'new' | 'up' | 'down' | 'paused';

/**
 * Why a check is down: no success in time (`missing`), a fail ping or a non-zero exit status (`failed`),
 * or a start ping whose end did not come within the grace time (`unfinished`).
 */
export type DownReason = 'missing' | 'failed' | 'unfinished';

/** A run that sent its start ping and has not ended yet. */
export interface OpenStart {
  readonly at: number;
  readonly rid?: string;
}

/**
 * What is kept about one check. Keys that do not apply are absent (never `undefined`), so a state
 * round-trips through JSON unchanged.
 */
export interface CheckState {
  /**
   * `new`: not pinged yet (nor since it was unpaused): no deadline until its first ping, unless a start
   * ping opened a run. `up`: its last success came in time. `down`: see `why`. `paused`: see CheckSpec.
   */
  readonly status: CheckStatus;
  /** Only while `down`: the reason it went down (a later fail while down leaves it, as the alarm that fired). */
  readonly why?: DownReason;
  /**
   * When the current status began: the ping's time, or for a missed deadline the deadline itself (a tick may
   * come later). Absent for the state a check is created with.
   */
  readonly since?: number;
  /** The last ping of any kind (a `log` ping included). */
  readonly lastPingAt?: number;
  /** Its kind (an exit status counted as success or fail). */
  readonly lastPingKind?: PingKind;
  /** The last success ping: the period or the cron schedule counts from here while `up`. */
  readonly lastSuccessAt?: number;
  /** The run that has started and not ended: it must end (success or fail) by `started.at + grace`. */
  readonly started?: OpenStart;
  /** The exit status of the last success or fail ping, when that ping carried one. */
  readonly lastExitStatus?: number;
  /** The last ping's body (as cut by the caller); absent when that ping had none. */
  readonly lastBody?: string;
  /**
   * When the check goes down unless a ping comes first; absent when nothing is due (`new` without a run,
   * `down`, `paused`). The caller's timer calls `onTick` at this time.
   */
  readonly dueAt?: number;
  /**
   * tocsin restarted at this time (`pings.after_downtime: restart_grace`) after a deadline had passed while
   * it was down: the check does not go down before `restartedAt + grace`. Cleared by the next success or
   * fail, and when the check goes down or is paused.
   */
  readonly restartedAt?: number;
}

/** What a transition owes the alarm pipeline: an alarm with the check's name as dedup key and its labels. */
export type CheckEvent =
  | {
      readonly kind: 'firing';
      /** `HeartbeatMissing` (no success in time, or a run that did not finish) or `HeartbeatFailed`. */
      readonly name: 'HeartbeatMissing' | 'HeartbeatFailed';
      readonly summary: string;
      /** For HeartbeatFailed: the fail ping's body, at most DESCRIPTION_LIMIT characters. */
      readonly description?: string;
    }
  | { readonly kind: 'resolved' };

/** The longest alarm description taken from a ping body, in characters (UTF-16 code units). */
export const DESCRIPTION_LIMIT = 1000;

/** A transition's outcome: the state to store, and the event to send, if the status changed to or from down. */
export interface Step {
  readonly state: CheckState;
  readonly event?: CheckEvent;
}

/**
 * `pings.after_downtime`: when a deadline passed while tocsin itself was down, `restart_grace` (the default)
 * gives the check its grace time again from the restart; `fire` lets the next tick fire for the gap.
 */
export type AfterDowntime = 'restart_grace' | 'fire';
