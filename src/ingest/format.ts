/**
 * @module ingest/format
 * What a source format is: a name (a Kafka topic says `format: zeebe`), the HTTP path it is POSTed to,
 * its own options (config `ingest.formats.<name>`), and a parser from a full request to alarms.
 */
import type * as z from 'zod';
import type { ParseOutcome } from './types.ts';

/** Everything a parser may look at besides the body. */
export interface ParseContext {
  /** The authenticated source, or the format's default source name when auth is off. */
  readonly source: string;
  readonly sourceIsAuthenticated: boolean;
  /** Epoch ms when the request arrived. */
  readonly now: number;
  /** A request header, case-insensitive (CloudEvents binary mode reads `ce-*`). */
  header(name: string): string | undefined;
  /** A path parameter of the route (`/v1/x/:name` → param('name')); undefined when there is none. */
  param(name: string): string | undefined;
  /** Hex digest used for dedup keys. */
  readonly hash: (text: string) => string;
}

export interface IngestFormat<O = unknown> {
  readonly name: string;
  /** HTTP path (a Hono pattern) under which the format is POSTed. */
  readonly path: string;
  /** Source name used when no token identifies the sender. */
  readonly defaultSource: string;
  /** The format's options, with their defaults (config `ingest.formats.<name>`). */
  readonly options: z.ZodType<O>;
  /** Throws IngestError for bad input. */
  parse(body: string, ctx: ParseContext, options: O): ParseOutcome;
}

/** Typed helper for writing a format (keeps `options`' type flowing into `parse`). */
export function defineFormat<O>(f: IngestFormat<O>): IngestFormat {
  return f as unknown as IngestFormat;
}
