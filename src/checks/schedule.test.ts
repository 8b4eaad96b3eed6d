import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextCronTime, nextDue, validateCron } from './schedule.ts';
import type { CheckSchedule, CheckSpec } from './types.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T = (iso: string): number => Date.parse(iso);
const spec = (schedule: CheckSchedule, graceMs: number): CheckSpec => ({ name: 'job', uuid: '0d6a1c2e-0000-4000-8000-000000000001', origin: 'file', schedule, graceMs, labels: {}, paused: false });
const cron = (expr: string, tz: string): CheckSchedule => ({ kind: 'cron', expr, tz });
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

test('nextDue: a period counts from the given time, plus grace', () => {
  const cases: { name: string; spec: CheckSpec; from: number; due: number }[] = [
    { name: '1h period, 5m grace, from 0', spec: spec({ kind: 'period', periodMs: HOUR }, 5 * MIN), from: 0, due: HOUR + 5 * MIN },
    { name: '1d period, 1h grace', spec: spec({ kind: 'period', periodMs: DAY }, HOUR), from: T('2025-01-01T00:00:00Z'), due: T('2025-01-02T01:00:00Z') },
    { name: 'no grace', spec: spec({ kind: 'period', periodMs: 90_000 }, 0), from: 1_234, due: 91_234 },
    // A period is elapsed time: a day across a DST change is still 24 hours.
    { name: '1d across spring forward is 24h', spec: spec({ kind: 'period', periodMs: DAY }, 0), from: T('2025-03-29T12:00:00Z'), due: T('2025-03-30T12:00:00Z') },
  ];
  for (const c of cases) assert.equal(nextDue(c.spec, c.from), c.due, c.name);
});

test('nextDue: the first cron time strictly after the given time, in the time zone, plus grace', () => {
  const cases: { name: string; schedule: CheckSchedule; grace?: number; from: string; due: string | undefined }[] = [
    { name: 'UTC daily, a moment before', schedule: cron('0 3 * * *', 'UTC'), from: '2025-01-01T02:59:59.999Z', due: '2025-01-01T03:00:00.000Z' },
    { name: 'UTC daily, exactly at the time: the next day', schedule: cron('0 3 * * *', 'UTC'), from: '2025-01-01T03:00:00.000Z', due: '2025-01-02T03:00:00.000Z' },
    { name: 'UTC daily, within the second after it: the next day', schedule: cron('0 3 * * *', 'UTC'), from: '2025-01-01T03:00:00.500Z', due: '2025-01-02T03:00:00.000Z' },
    { name: 'grace is added', schedule: cron('0 3 * * *', 'UTC'), grace: HOUR, from: '2025-01-01T00:00:00Z', due: '2025-01-01T04:00:00.000Z' },
    { name: 'Berlin in winter (UTC+1)', schedule: cron('0 3 * * *', 'Europe/Berlin'), from: '2025-01-10T00:00:00Z', due: '2025-01-10T02:00:00.000Z' },
    { name: 'Berlin in summer (UTC+2)', schedule: cron('0 3 * * *', 'Europe/Berlin'), from: '2025-07-10T00:00:00Z', due: '2025-07-10T01:00:00.000Z' },
    { name: 'New York (UTC-5), on the next local day', schedule: cron('0 3 * * *', 'America/New_York'), from: '2025-01-10T09:00:00Z', due: '2025-01-11T08:00:00.000Z' },
    { name: 'weekdays only: Friday to Monday', schedule: cron('0 9 * * 1-5', 'UTC'), from: '2025-01-10T10:00:00Z', due: '2025-01-13T09:00:00.000Z' },
    { name: 'every 15 minutes', schedule: cron('*/15 * * * *', 'UTC'), from: '2025-01-10T10:07:00Z', due: '2025-01-10T10:15:00.000Z' },
    { name: 'a nickname (@daily) at local midnight', schedule: cron('@daily', 'Europe/Berlin'), from: '2025-01-10T12:00:00Z', due: '2025-01-10T23:00:00.000Z' },
    { name: 'day of month OR day of week (Vixie cron)', schedule: cron('0 0 13 * 5', 'UTC'), from: '2025-06-01T00:00:00Z', due: '2025-06-06T00:00:00.000Z' },
    { name: 'a date that never comes: nothing due', schedule: cron('0 0 30 2 *', 'UTC'), from: '2025-01-01T00:00:00Z', due: undefined },

    // Europe/Berlin springs forward on 2025-03-30: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist.
    { name: 'spring forward: 02:30 falls due when the clock jumps (03:00 CEST)', schedule: cron('30 2 * * *', 'Europe/Berlin'), from: '2025-03-29T12:00:00Z', due: '2025-03-30T01:00:00.000Z' },
    { name: 'spring forward: the day before is still CET', schedule: cron('30 2 * * *', 'Europe/Berlin'), from: '2025-03-28T12:00:00Z', due: '2025-03-29T01:30:00.000Z' },
    { name: 'spring forward: after the jump, the next day in CEST', schedule: cron('30 2 * * *', 'Europe/Berlin'), from: '2025-03-30T01:00:00Z', due: '2025-03-31T00:30:00.000Z' },
    { name: 'spring forward with grace', schedule: cron('30 2 * * *', 'Europe/Berlin'), grace: 30 * MIN, from: '2025-03-29T12:00:00Z', due: '2025-03-30T01:30:00.000Z' },
    { name: 'spring forward: an hourly :30 skips 02:30 (01:30 CET to 03:30 CEST)', schedule: cron('30 * * * *', 'Europe/Berlin'), from: '2025-03-30T00:30:00Z', due: '2025-03-30T01:30:00.000Z' },
    { name: 'spring forward: 03:00 exists (the first CEST hour)', schedule: cron('0 3 * * *', 'Europe/Berlin'), from: '2025-03-29T12:00:00Z', due: '2025-03-30T01:00:00.000Z' },
    // Europe/Berlin falls back on 2025-10-26: 03:00 CEST goes back to 02:00 CET, so 02:30 occurs twice.
    { name: 'fall back: 02:30 falls due at its first occurrence (CEST)', schedule: cron('30 2 * * *', 'Europe/Berlin'), from: '2025-10-25T12:00:00Z', due: '2025-10-26T00:30:00.000Z' },
    { name: 'fall back: once only, so after it comes the next day (CET)', schedule: cron('30 2 * * *', 'Europe/Berlin'), from: '2025-10-26T00:30:00Z', due: '2025-10-27T01:30:00.000Z' },
    { name: 'fall back: from between the two occurrences, the next day', schedule: cron('30 2 * * *', 'Europe/Berlin'), from: '2025-10-26T01:00:00Z', due: '2025-10-27T01:30:00.000Z' },
    { name: 'fall back: an hourly :30 runs on both 02:30s', schedule: cron('30 * * * *', 'Europe/Berlin'), from: '2025-10-26T00:30:00Z', due: '2025-10-26T01:30:00.000Z' },
    { name: 'fall back with grace: 02:30 CEST + 1h', schedule: cron('30 2 * * *', 'Europe/Berlin'), grace: HOUR, from: '2025-10-25T12:00:00Z', due: '2025-10-26T01:30:00.000Z' },
    // America/New_York: 2025-03-09 02:00 EST jumps to 03:00 EDT; 2025-11-02 02:00 EDT goes back to 01:00 EST.
    { name: 'New York spring forward: 02:30 at 03:00 EDT', schedule: cron('30 2 * * *', 'America/New_York'), from: '2025-03-08T12:00:00Z', due: '2025-03-09T07:00:00.000Z' },
    { name: 'New York fall back: 01:30 at its first occurrence (EDT)', schedule: cron('30 1 * * *', 'America/New_York'), from: '2025-11-01T12:00:00Z', due: '2025-11-02T05:30:00.000Z' },
    { name: 'New York fall back: then the next day (EST)', schedule: cron('30 1 * * *', 'America/New_York'), from: '2025-11-02T05:30:00Z', due: '2025-11-03T06:30:00.000Z' },
  ];
  for (const c of cases) assert.equal(iso(nextDue(spec(c.schedule, c.grace ?? 0), T(c.from))), c.due, c.name);
});

test('nextDue throws for an expression validateCron refuses', () => {
  for (const expr of ['0 0 3 * * *', '61 * * * *', 'nonsense']) assert.throws(() => nextDue(spec(cron(expr, 'UTC'), 0), 0), expr);
});

test('nextCronTime: successive daily times across both Berlin DST changes of 2025', () => {
  const walk = (from: string, n: number): string[] => {
    const out: string[] = [];
    let at = T(from);
    for (let i = 0; i < n; i++) {
      at = nextCronTime('30 2 * * *', 'Europe/Berlin', at)!;
      out.push(new Date(at).toISOString());
    }
    return out;
  };
  assert.deepEqual(walk('2025-03-28T12:00:00Z', 3), ['2025-03-29T01:30:00.000Z', '2025-03-30T01:00:00.000Z', '2025-03-31T00:30:00.000Z']);
  assert.deepEqual(walk('2025-10-24T12:00:00Z', 3), ['2025-10-25T00:30:00.000Z', '2025-10-26T00:30:00.000Z', '2025-10-27T01:30:00.000Z']);
});

test('validateCron: undefined when usable, else what is wrong', () => {
  const cases: { expr: string; tz: string; error?: RegExp }[] = [
    { expr: '0 3 * * *', tz: 'UTC' },
    { expr: '0 3 * * *', tz: 'Europe/Berlin' },
    { expr: '*/5 * * * 1-5', tz: 'America/New_York' },
    { expr: '0 0 29 2 *', tz: 'UTC' },
    { expr: '@hourly', tz: 'UTC' },
    { expr: '0 3 * * *', tz: 'Europe/Nowhere', error: /^unknown time zone "Europe\/Nowhere"/ },
    { expr: '61 * * * *', tz: 'UTC', error: /^invalid cron expression "61 \* \* \* \*": Invalid value for minute: 61$/ },
    { expr: '0 3 * * * *', tz: 'UTC', error: /^invalid cron expression "0 3 \* \* \* \*": 6 fields, not the 5 of crontab/ },
    { expr: '0 3 * *', tz: 'UTC', error: /^invalid cron expression "0 3 \* \*": 4 fields, not the 5/ },
    { expr: 'every day', tz: 'UTC', error: /^invalid cron expression "every day": 2 fields/ },
    { expr: 'a b c d e', tz: 'UTC', error: /^invalid cron expression "a b c d e": / },
    { expr: '@fortnightly', tz: 'UTC', error: /^invalid cron expression "@fortnightly": / },
    { expr: '', tz: 'UTC', error: /^invalid cron expression "": 0 fields/ },
    { expr: '0 0 30 2 *', tz: 'UTC', error: /^cron expression "0 0 30 2 \*" never matches a date$/ },
  ];
  for (const c of cases) {
    const got = validateCron(c.expr, c.tz);
    if (c.error === undefined) assert.equal(got, undefined, `${c.expr} ${c.tz}`);
    else assert.match(got ?? '(none)', c.error, `${c.expr} ${c.tz}`);
  }
});
