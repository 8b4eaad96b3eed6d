/**
 * What the ingest parsers' unit tests (src/ingest/*.test.ts) check of a parse: the alarms of its outcome,
 * or the IngestError it throws.
 */
import assert from 'node:assert/strict';
import { IngestError } from '../../src/ingest/errors.ts';
import type { ParsedAlarm, ParseOutcome } from '../../src/ingest/types.ts';

/** The alarms of `out`, which must be an `alarms` outcome (an `ignored` one fails, with its reason). */
export function parsedAlarms(out: ParseOutcome): readonly ParsedAlarm[] {
  assert.equal(out.kind, 'alarms', out.kind === 'ignored' ? out.reason : '');
  return out.kind === 'alarms' ? out.items : [];
}

/**
 * `parse()` throws an IngestError with exactly this field, this message (or one matching it, for a RegExp)
 * and this status.
 */
export function assertIngestError(parse: () => unknown, field: string, message: string | RegExp, status = 400): void {
  assert.throws(parse, (e: unknown) => {
    assert.ok(e instanceof IngestError, `not an IngestError: ${String(e)}`);
    assert.equal(e.field, field, `${e.field}: ${e.message}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    assert.equal(e.status, status);
    return true;
  });
}
