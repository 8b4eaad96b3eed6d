/**
 * @module checks/schedule
 * Pure: when a check's next success is due. A period counts from the last success; a cron schedule names
 * wall-clock times in a time zone, computed by croner (5-field expressions as in crontab and on
 * healthchecks.io; `@daily` and the other nicknames too; day of month and day of week combine with OR, as
 * in Vixie cron). The grace time is added to either.
 *
 * Daylight saving time, as croner and Vixie cron do it, for a time named by single values (`30 2 * * *`):
 * - spring forward: a time the clock skips (02:30 when 02:00 jumps to 03:00) falls due when the clock
 *   jumps, at the first valid time after the gap (03:00 local), on that same day;
 * - fall back: a time that occurs twice (02:30 when 03:00 goes back to 02:00) falls due once, at its first
 *   occurrence.
 * A time with wildcards or steps in its second, minute or hour (`30 * * * *`) is an interval: it skips a time
 * the clock skips and falls due on both occurrences of a repeated time.
 */
import { Cron } from 'croner';
import type { CheckSpec } from './types.ts';

/**
 * When the check goes down if no success comes after one at `fromMs` (epoch ms): `fromMs + period +
 * grace`, or the first cron time strictly after `fromMs` plus grace. Undefined when the cron expression has
 * no later time (`0 0 30 2 *`: validateCron refuses it). Throws for an expression validateCron refuses.
 */
export function nextDue(spec: CheckSpec, fromMs: number): number | undefined {
  const s = spec.schedule;
  if (s.kind === 'period') return fromMs + s.periodMs + spec.graceMs;
  const at = nextCronTime(s.expr, s.tz, fromMs);
  return at === undefined ? undefined : at + spec.graceMs;
}

/** The first time of `expr` in `tz` strictly after `fromMs` (croner rounds up to whole seconds). */
export function nextCronTime(expr: string, tz: string, fromMs: number): number | undefined {
  return cron(expr, tz).nextRun(new Date(fromMs))?.getTime();
}

/**
 * Checks a cron schedule for the config and the admin API: undefined when usable, else what is wrong
 * (the message names the expression or the zone).
 */
export function validateCron(expr: string, tz: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    return `unknown time zone "${tz}" (use an IANA name such as "Europe/Berlin", or "UTC")`;
  }
  const fields = expr.trim() === '' ? 0 : expr.trim().split(/\s+/).length;
  if (!expr.trim().startsWith('@') && fields !== 5) {
    return `invalid cron expression "${expr}": ${fields} fields, not the 5 of crontab (minute hour day-of-month month day-of-week)`;
  }
  let c: Cron;
  try {
    c = cron(expr, tz);
  } catch (e) {
    const why = e instanceof Error ? e.message.replace(/^CronPattern: /, '') : String(e);
    return `invalid cron expression "${expr}": ${why}`;
  }
  // Five fields repeat within 28 years, so a time after 2000-01-01 exists if any does.
  if (c.nextRun(new Date(Date.UTC(2000, 0, 1))) === null) return `cron expression "${expr}" never matches a date`;
  return undefined;
}

/** Parsed patterns, by zone and expression (a Cron without a callback starts no timer). */
const parsed = new Map<string, Cron>();
const PARSED_MAX = 1000;

function cron(expr: string, tz: string): Cron {
  const key = `${tz}\n${expr}`;
  let c = parsed.get(key);
  if (c === undefined) {
    c = new Cron(expr, { timezone: tz, mode: '5-part' });
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(key, c);
  }
  return c;
}
