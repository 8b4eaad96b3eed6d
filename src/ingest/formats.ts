/**
 * @module ingest/formats
 * Every source format tocsin accepts, and the one parse step they share: a new source is one parser
 * file plus one line here.
 */
import { IngestError } from './errors.ts';
import type { IngestFormat, ParseContext } from './format.ts';
import { genericFormat } from './generic.ts';
import { monascaFormat } from './monasca.ts';
import type { ParseOutcome } from './types.ts';
import { zeebeFormat } from './zeebe.ts';
import { prometheusFormat } from './prometheus.ts';
import { alertmanagerFormat } from './alertmanager.ts';
import { grafanaFormat } from './grafana.ts';
import { cloudeventsFormat } from './cloudevents.ts';

export const INGEST_FORMATS: readonly IngestFormat[] = [
  genericFormat, zeebeFormat, monascaFormat, prometheusFormat, alertmanagerFormat, grafanaFormat, cloudeventsFormat,
];

export function ingestFormat(name: string): IngestFormat | undefined {
  return INGEST_FORMATS.find((f) => f.name === name);
}

/** Parses a request with its format and enforces `ingest.max_batch` on what it produced, whatever the format. */
export function parseRequest(format: IngestFormat, body: string, ctx: ParseContext, options: unknown, maxBatch: number): ParseOutcome {
  const outcome = format.parse(body, ctx, options);
  if (outcome.kind === 'alarms' && outcome.items.length > maxBatch) {
    throw new IngestError('body', `too many alarms in one request: ${outcome.items.length} (max_batch is ${maxBatch})`, 413);
  }
  return outcome;
}
