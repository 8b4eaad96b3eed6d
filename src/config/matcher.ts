/**
 * @module config/matcher
 * Compile a route match pattern into a Matcher:
 *   "value"  equals value                       (absent → false)
 *   "~re"    the WHOLE value matches re          (absent → false)
 *   "!value" not equal to value                  (absent → true)
 *   "!~re"   the whole value does not match re   (absent → true)
 */
import type { Matcher } from './types.ts';

/** Thrown for an invalid regular expression; the message is `invalid regular expression "<pattern>": <reason>`. */
export class MatcherError extends Error {
  override name = 'MatcherError';
}

export function compileMatcher(pattern: string): Matcher {
  const negated = pattern.startsWith('!');
  const body = negated ? pattern.slice(1) : pattern;
  const positive = body.startsWith('~') ? regexTest(pattern, body.slice(1)) : (v: string) => v === body;
  const test = negated
    ? (value: string | undefined) => value === undefined || !positive(value)
    : (value: string | undefined) => value !== undefined && positive(value);
  return { source: pattern, test };
}

function regexTest(pattern: string, re: string): (v: string) => boolean {
  try {
    new RegExp(re); // validate alone first, so that e.g. "a)|(b" cannot escape the anchoring group
  } catch (e) {
    // V8: "Invalid regular expression: /(/: Unterminated group" → keep the part after the last ": ".
    const msg = e instanceof Error ? e.message : String(e);
    const reason = msg.slice(msg.lastIndexOf(': ') + 2) || msg;
    throw new MatcherError(`invalid regular expression ${JSON.stringify(pattern)}: ${reason}`);
  }
  const compiled = new RegExp(`^(?:${re})$`);
  return (v) => compiled.test(v);
}
