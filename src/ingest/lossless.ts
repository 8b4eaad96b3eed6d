/**
 * @module ingest/lossless
 * JSON parsing that never corrupts 64-bit integers: safe numbers become JS numbers, integers beyond
 * ±(2^53 − 1) become decimal strings with the exact digits of the input.
 */
import { isInteger, parse } from 'lossless-json';
import { IngestError } from './errors.ts';

/** Alarms are shallow; anything deeper is refused before parsing (and recursion) can overflow the stack. */
export const MAX_DEPTH = 64;

/** Deepest nesting of arrays/objects in JSON text (brackets inside strings do not count). Linear, no recursion. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) max = depth;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return max;
}

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
  const depth = nestingDepth(text);
  if (depth > MAX_DEPTH) throw new IngestError('body', `JSON nested ${depth} levels deep; at most ${MAX_DEPTH} are accepted`);
  try {
    return parse(text, null, parseNumber);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new IngestError('body', `invalid JSON: ${message}`);
  }
}
