/**
 * @module cli/table
 * Human tables of the admin commands: a header and left-aligned columns two spaces apart (numbers
 * right-aligned), every cell on one line (control characters and line breaks become spaces) and cut with
 * "…" at its column's width. On a terminal the header is bold and the table fits the terminal's width by
 * cutting its flexible column; into a pipe or a file it has no colours and no width limit.
 */
import { oneLine } from './admin-client.ts';

export interface Column {
  readonly header: string;
  /** The most characters of a cell (default: no limit). */
  readonly max?: number;
  /** Right-aligned (counts). */
  readonly right?: boolean;
  /** The column cut first when the table is wider than the terminal. */
  readonly flex?: boolean;
}

export interface TableStyle {
  /** Bold header (ANSI); only on a terminal. */
  readonly color?: boolean;
  /** The terminal's width; a wider table cuts its flexible column (never below FLEX_MIN). */
  readonly width?: number;
}

/** The narrowest a flexible column is cut to. */
export const FLEX_MIN = 12;

const chars = (s: string) => [...s].length;

/** A cell: one line, at most `max` characters. */
export function cell(value: unknown, max = Infinity): string {
  if (value === null || value === undefined || value === '') return '-';
  return oneLine(value, max);
}

/** The style for output to a stream: colours and width only on a terminal, and never with $NO_COLOR or TERM=dumb. */
export function styleFor(stream: { readonly isTTY?: boolean; readonly columns?: number }, env: Readonly<Record<string, string | undefined>>): TableStyle {
  if (stream.isTTY !== true) return {};
  return { color: env.NO_COLOR === undefined && env.TERM !== 'dumb', ...(typeof stream.columns === 'number' && stream.columns > 0 && { width: stream.columns }) };
}

/** The table: a header line, then one line per row (each row has one cell per column). */
export function renderTable(columns: readonly Column[], rows: readonly (readonly unknown[])[], style: TableStyle = {}): string {
  const cells = rows.map((r) => columns.map((c, i) => cell(r[i], c.max)));
  const widths = columns.map((c, i) => Math.max(chars(c.header), ...cells.map((r) => chars(r[i]!))));
  const total = widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1);
  const flex = columns.findIndex((c) => c.flex);
  if (style.width !== undefined && flex >= 0 && total > style.width) {
    const cut = Math.max(FLEX_MIN, widths[flex]! - (total - style.width));
    if (cut < widths[flex]!) {
      widths[flex] = cut;
      for (const r of cells) r[flex] = oneLine(r[flex], cut);
    }
  }
  const line = (r: readonly string[]) =>
    r
      .map((text, i) => {
        const pad = ' '.repeat(Math.max(0, widths[i]! - chars(text)));
        if (columns[i]!.right) return pad + text;
        return i < r.length - 1 ? text + pad : text;
      })
      .join('  ')
      .trimEnd();
  const header = line(columns.map((c) => c.header));
  return `${style.color ? `\x1b[1m${header}\x1b[0m` : header}\n${cells.map(line).map((l) => `${l}\n`).join('')}`;
}

/** "key: value" lines, the keys aligned (one record: `tocsin alarms show`, `notifications ID`). */
export function renderFields(fields: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(...fields.map(([k]) => chars(k))) + 1;
  return fields.map(([k, v]) => `${`${k}:`.padEnd(width + 1)}${cell(v)}\n`).join('');
}
