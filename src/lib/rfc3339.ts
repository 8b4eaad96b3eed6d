/**
 * @module lib/rfc3339
 * RFC 3339 times, read strictly and the same everywhere (ingest formats, the admin API, the CLI):
 * `2026-11-22T00:54:22.534Z`, up to nanoseconds (cut to milliseconds), `Z` or an offset; with `space`, a
 * space for the `T` too. Parsed by hand: Date.parse differs between engines on the edges (Feb 30, hour
 * 24) and maps years below 100 to 19xx.
 */

const PARTS = /^(\d{4})-(\d{2})-(\d{2})([Tt ])(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** The shape alone (for a zod `.regex`), a space allowed for the `T`, any number of fraction digits. */
export const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const YEAR_0000_MS = -62_167_219_200_000;
const YEAR_9999_END_MS = 253_402_300_799_999;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** The time in epoch ms (within years 0000–9999 in UTC), or undefined when it is not one. */
export function parseRfc3339(s: string, opts: { readonly space?: boolean } = {}): number | undefined {
  const m = PARTS.exec(s);
  if (!m || (m[4] === ' ' && !opts.space)) return undefined;
  const [year, month, day] = [m[1], m[2], m[3]].map(Number) as [number, number, number];
  const [hour, minute, second] = [m[5], m[6], m[7]].map(Number) as [number, number, number];
  const ms = m[8] === undefined ? 0 : Number(m[8].slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMin = 0;
  if (m[9] === undefined) {
    const oh = Number(m[11]);
    const om = Number(m[12]);
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (m[10] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  const t = d.getTime() - offsetMin * 60_000;
  return t < YEAR_0000_MS || t > YEAR_9999_END_MS ? undefined : t;
}
