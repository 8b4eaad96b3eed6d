/**
 * @module config/checks
 * Builds the heartbeat checks (`checks:`) and the ping API's settings (`pings:`) from their validated
 * sections (issue #15): one of period or schedule per check (a cron expression checked with its zone), UUIDs
 * used once, and the ping key (a secret, read by the parser's secret reader).
 */
import { validateCron } from '../checks/schedule.ts';
import type { CheckSchedule } from '../checks/types.ts';
import type { Secret } from '../lib/secret.ts';
import type { Path, RawCheck, RawPings } from './schema.ts';
import { UUID_RE } from './names.ts';
import type { CheckConfig, PingsConfig } from './types.ts';

/** A check without period or schedule expects a ping every day, as on healthchecks.io. */
export const DEFAULT_PERIOD_MS = 86_400_000;

/** What building needs of the config parser: its secret reader and issue list. */
export interface ChecksBuildContext {
  secret(path: Path, obj: object, key: string, opts: { required: boolean; check?: (value: string) => string | undefined }): Secret | undefined;
  add(path: Path, message: string): void;
}

export function buildChecks(raw: Readonly<Record<string, RawCheck>>, ctx: ChecksBuildContext): CheckConfig[] {
  const uuids = new Map<string, string>(); // uuid → check name
  return Object.entries(raw).map(([name, c]) => {
    const at = ['checks', name];
    let schedule: CheckSchedule = { kind: 'period', periodMs: c.period ?? DEFAULT_PERIOD_MS };
    if (c.period !== undefined && c.schedule !== undefined) {
      ctx.add(at, 'set one of period or schedule, not both (a period counts from the last ping; a schedule names times)');
    } else if (c.schedule !== undefined) {
      const tz = c.tz ?? 'UTC';
      const problem = validateCron(c.schedule, tz);
      if (problem !== undefined) ctx.add([...at, problem.startsWith('unknown time zone') ? 'tz' : 'schedule'], problem);
      schedule = { kind: 'cron', expr: c.schedule.trim(), tz };
    } else if (c.tz !== undefined) {
      ctx.add([...at, 'tz'], 'is used with schedule only (a period has no time zone)');
    }
    const uuid = c.uuid?.toLowerCase();
    if (uuid !== undefined) {
      const other = uuids.get(uuid);
      if (other !== undefined) ctx.add([...at, 'uuid'], `same uuid as checks.${other}; every check needs its own`);
      uuids.set(uuid, name);
    }
    return { name, ...(uuid !== undefined && { uuid }), schedule, graceMs: c.grace, labels: c.labels };
  });
}

const PING_KEY_RE = /^[A-Za-z0-9_~.-]{8,}$/;

/** A ping key goes into URLs: at least 8 of the characters a URL path carries as they are, and not a UUID (which names a check). */
function checkPingKey(value: string): string | undefined {
  if (!PING_KEY_RE.test(value)) return 'must be at least 8 characters of letters, digits, "-", "_", "." or "~" (it is part of the ping URLs)';
  if (UUID_RE.test(value)) return 'must not be a UUID (a /ping/<uuid>/… URL names a check by its UUID)';
  return undefined;
}

export function buildPings(raw: RawPings, ctx: ChecksBuildContext): PingsConfig {
  const pingKey = ctx.secret(['pings'], raw, 'ping_key', { required: false, check: checkPingKey });
  // A burst of one second's worth of pings (at least one) unless given.
  const burst = raw.rate_burst ?? Math.max(1, Math.floor(raw.rate_limit));
  return {
    ...(pingKey && { pingKey }),
    bodyLimitBytes: raw.body_limit,
    afterDowntime: raw.after_downtime,
    rateLimit: { perSecond: raw.rate_limit, burst },
  };
}
