/**
 * @module ingest/lossless
 * JSON parsing that never corrupts 64-bit integers: safe numbers become JS numbers, integers beyond
 * ±(2^53 − 1) become decimal strings with the exact digits of the input.
 */
import { isInteger, parse } from 'lossless-json';
import { IngestError } from './errors.ts';

/** Alarms are shallow; anything deeper is refused before parsing (and recursion) can overflow the stack. */
export const MAX_DEPTH = 64;

/** What one linear pass over JSON text tells (strings are skipped; no recursion). */
interface Scan {
  /** Deepest nesting of arrays/objects. */
  readonly depth: number;
  /** Object members written in the text (a string followed by `:`), duplicates included. */
  readonly members: number;
  /** A number token with 16 or more digits: it may not survive a double, so lossless parsing is needed. */
  readonly longNumber: boolean;
}

function scan(text: string): Scan {
  let depth = 0;
  let max = 0;
  let members = 0;
  let digits = 0;
  let longNumber = false;
  let afterString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i++;
        else if (d === 34) break;
      }
      afterString = true;
      digits = 0;
      continue;
    }
    if (c >= 48 && c <= 57) {
      if (++digits >= 16) longNumber = true;
      continue;
    }
    digits = 0;
    if (c === 32 || c === 10 || c === 13 || c === 9) continue;
    if (c === 58 /* : */ && afterString) members++;
    afterString = false;
    if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) max = depth;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return { depth: max, members, longNumber };
}

/** Object members in a parsed value (iterative). */
function countMembers(value: unknown): number {
  let n = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else {
      for (const k in v) {
        n++;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return n;
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
  const { depth, members, longNumber } = scan(text);
  if (depth > MAX_DEPTH) throw new IngestError('body', `JSON nested ${depth} levels deep; at most ${MAX_DEPTH} are accepted`);
  // Fast path: with no long number and no repeated key, the built-in parser gives exactly the same value.
  // Anything else (long numbers, duplicate keys, syntax errors) goes to the lossless parser.
  if (!longNumber) {
    let fast: unknown;
    try {
      fast = JSON.parse(text);
    } catch {
      fast = undefined;
    }
    if (fast !== undefined && countMembers(fast) === members) return fast;
  }
  try {
    return parse(text, null, parseNumber);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new IngestError('body', `invalid JSON: ${message}`);
  }
}
