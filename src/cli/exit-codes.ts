/**
 * @module cli/exit-codes
 * The exit codes of the commands that talk to a running relay (`tocsin alarms`, `notifications`,
 * `dead-letters`, `methods`, `test-method --url`, `reload`), in one table: what `tocsin --help` prints
 * and what the commands return. A relay's answer maps to a code in one place (`exitCodeOf`).
 */

export const EXIT = {
  /** Done. */
  ok: 0,
  /** The operation failed: an error answer of the relay, a replay partly skipped, a test notification not sent. */
  failed: 1,
  /** The command line is wrong (nothing was sent). */
  usage: 2,
  /** The relay could not be reached (connection refused, no answer in time). */
  unreachable: 3,
  /** The relay refused the token: 401 (none or unknown) or 403 (not an admin token). */
  auth: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The table as `tocsin --help` prints it, one code a line. */
export const EXIT_CODES_TEXT = `Exit codes:
  0   ok
  1   the operation failed (an error answer of the relay, a replay partly skipped, a test not sent)
  2   usage error (nothing was sent)
  3   the relay could not be reached (connection refused, no answer in time)
  4   authentication or authorization failed (HTTP 401 or 403: no, unknown or non-admin token)
`;

/** What a failed request was: the relay unreachable (no status), an answer of 401/403, or another error. */
export function exitCodeOf(failure: { readonly status?: number }): ExitCode {
  if (failure.status === undefined) return EXIT.unreachable;
  if (failure.status === 401 || failure.status === 403) return EXIT.auth;
  return EXIT.failed;
}
