/**
 * @module ingest/lossless
 * JSON parsing that never corrupts 64-bit integers: safe numbers become JS numbers, integers beyond
 * ±(2^53 − 1) become decimal strings with the exact digits of the input.
 */
import { isInteger, parse } from 'lossless-json';
import { IngestError } from './errors.ts';

/** Number parser: an unsafe integer keeps its original digits as a string; everything else is a JS number. */
function parseNumber(text: string): number | string {
  const n = Number(text);
  return isInteger(text) && !Number.isSafeInteger(n) ? text : n;
}

/**
 * Parse JSON text. Result contains only plain objects, arrays, strings, numbers, booleans and null;
 * an integer too large for a JS number arrives as a decimal string (so it is indistinguishable from a
 * JSON string holding the same digits). Duplicate keys with different values are rejected.
 * @throws IngestError('body', 'invalid JSON: …') on a syntax error.
 */
export function parseJsonLossless(text: string): unknown {
  try {
    return parse(text, null, parseNumber);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new IngestError('body', `invalid JSON: ${message}`);
  }
}
