/**
 * @module config/matcher
 * Compile a route match pattern into a Matcher:
 *   "value"  equals value                       (absent → false)
 *   "~re"    the WHOLE value matches re          (absent → false)
 *   "!value" not equal to value                  (absent → true)
 *   "!~re"   the whole value does not match re   (absent → true)
 */
import type { Matcher } from './types.ts';

/**
 * Thrown for an invalid regular expression; the message is `invalid regular expression "<pattern>": <reason>`,
 * in tocsin's own words (the same on every runtime), or without the reason when none of regexProblem's rules
 * explains why the runtime refused it.
 */
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
  } catch {
    // The runtime's own text differs (V8: "Unterminated group", JavaScriptCore: "missing )"): not used.
    const reason = regexProblem(re);
    throw new MatcherError(`invalid regular expression ${JSON.stringify(pattern)}${reason ? `: ${reason}` : ''}`);
  }
  const compiled = new RegExp(`^(?:${re})$`);
  return (v) => compiled.test(v);
}

// ---- why a regex is invalid ------------------------------------------------------------------------

const GROUP_NAME_RE = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;
const QUANTIFIER_RE = /^\{(\d+)(?:,(\d*))?\}/;

/**
 * The first problem in `re` (a regex the runtime refused) among the common ones: unbalanced ( ) [ ],
 * nothing to repeat, numbers or a range out of order, a trailing backslash, an unknown (? group or an
 * invalid group name. Undefined if none of them is found. It only explains a refusal: it never decides
 * whether a regex is valid.
 */
function regexProblem(re: string): string | undefined {
  const groups: boolean[] = []; // per open group: whether a quantifier may follow its ")"
  let repeatable = false; // whether a quantifier here has something to repeat
  for (let i = 0; i < re.length; i++) {
    const c = re[i]!;
    if (c === '\\') {
      if (++i === re.length) return 'trailing backslash';
      repeatable = re[i] !== 'b' && re[i] !== 'B'; // \b and \B are assertions
    } else if (c === '[') {
      const end = classEnd(re, i);
      if (typeof end === 'string') return end;
      i = end;
      repeatable = true;
    } else if (c === '(') {
      let kind = '';
      if (re[i + 1] === '?') {
        kind = /^\?(?:[:=!]|<[=!]|<|[imsx-]*:)?/.exec(re.slice(i + 1))![0];
        if (kind === '?') return `invalid group syntax ${JSON.stringify(re.slice(i, i + 3))}`;
        if (kind === '?<') {
          const close = re.indexOf('>', i + 3);
          if (close < 0 || !GROUP_NAME_RE.test(re.slice(i + 3, close))) return 'invalid group name';
          kind = re.slice(i + 1, close + 1);
        }
      }
      groups.push(kind !== '?<=' && kind !== '?<!'); // a lookbehind cannot be repeated
      i += kind.length;
      repeatable = false;
    } else if (c === ')') {
      if (groups.length === 0) return 'unbalanced parenthesis: ")" without "("';
      repeatable = groups.pop()!;
    } else if (c === '*' || c === '+' || c === '?' || (c === '{' && QUANTIFIER_RE.test(re.slice(i)))) {
      const [q, min, max] = c === '{' ? QUANTIFIER_RE.exec(re.slice(i))! : [c];
      if (!repeatable) return `${JSON.stringify(q)} has nothing to repeat`;
      if (max && Number(max) < Number(min)) return `numbers out of order in ${JSON.stringify(q)}`;
      i += q.length - 1;
      if (re[i + 1] === '?') i++; // lazy
      repeatable = false;
    } else {
      repeatable = c !== '|' && c !== '^' && c !== '$';
    }
  }
  return groups.length > 0 ? 'unbalanced parenthesis: "(" without ")"' : undefined;
}

/** The index of the "]" closing the character class that starts at `start`, or the problem in it. */
function classEnd(re: string, start: number): number | string {
  let i = re[start + 1] === '^' ? start + 2 : start + 1;
  while (i < re.length && re[i] !== ']') {
    const from = atom(re, i);
    if (from.end > re.length) return 'trailing backslash';
    i = from.end;
    if (re[i] === '-' && i + 1 < re.length && re[i + 1] !== ']') {
      const to = atom(re, i + 1);
      if (to.end > re.length) return 'trailing backslash';
      if (from.code !== undefined && to.code !== undefined && from.code > to.code) {
        return `range out of order in character class: ${JSON.stringify(re.slice(from.start, to.end))}`;
      }
      i = to.end;
    }
  }
  return i < re.length ? i : 'unbalanced bracket: "[" without "]"';
}

/** An escape that spells one character with letters or digits: \xHH, \uHHHH, \cX, octal. */
const CODE_ESCAPE_RE = /^\\(?:x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|c[A-Za-z]|[0-7]{1,3})/;

/**
 * One character of a class at `start`, with its code unit if it is written as itself or escaped with
 * a symbol (\]); none for a letter or digit escape, whose range is left to the runtime. `end` is past
 * the end of `re` after a trailing backslash.
 */
function atom(re: string, start: number): { start: number; end: number; code?: number } {
  if (re[start] !== '\\') return { start, end: start + 1, code: re.charCodeAt(start) };
  const e = re[start + 1];
  if (e === undefined || /[A-Za-z0-9]/.test(e)) return { start, end: start + (CODE_ESCAPE_RE.exec(re.slice(start))?.[0].length ?? 2) };
  return { start, end: start + 2, code: e.charCodeAt(0) };
}
