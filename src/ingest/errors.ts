/**
 * @module ingest/errors
 * The one error type a source parser throws for bad input: it names the offending field.
 */
export class IngestError extends Error {
  constructor(
    /** Dotted path of the offending field ("alarms[3].severity", "value.processInstanceKey"), or "body". */
    readonly field: string,
    message: string,
    readonly status: 400 | 401 | 403 | 413 | 415 = 400,
  ) {
    super(message);
    this.name = 'IngestError';
  }
}
