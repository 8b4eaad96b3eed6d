/**
 * @module ingest/sources
 * The source formats tocsin accepts over HTTP: one entry per format, so a new source is one parser
 * file plus one line here.
 */
import type { Severity } from '../domain/alarm.ts';
import { parseGeneric } from './generic.ts';
import { parseZeebe } from './zeebe.ts';
import type { ParseOutcome } from './types.ts';

export interface ParseContext {
  /** The authenticated source, or the format's default source name when auth is off. */
  readonly source: string;
  readonly sourceIsAuthenticated: boolean;
  readonly maxBatch: number;
  readonly zeebeSeverity: Severity;
  readonly hash: (text: string) => string;
}

export interface SourceFormat {
  /** URL path under which the format is POSTed. */
  readonly path: string;
  /** Source name used when no token identifies the sender. */
  readonly defaultSource: string;
  parse(body: string, ctx: ParseContext): ParseOutcome;
}

export const SOURCE_FORMATS: readonly SourceFormat[] = [
  { path: '/v1/alarms', defaultSource: 'generic', parse: (body, ctx) => parseGeneric(body, ctx) },
  {
    path: '/v1/zeebe',
    defaultSource: 'zeebe',
    parse: (body, ctx) => parseZeebe(body, { source: ctx.source, severity: ctx.zeebeSeverity }),
  },
];
