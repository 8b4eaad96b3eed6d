import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileMatcher, MatcherError } from './matcher.ts';

test('matcher table: equals, ~regex (whole value), !not-equal, !~no-match, absent values', () => {
  const table: [pattern: string, value: string | undefined, expected: boolean][] = [
    ['critical', 'critical', true],
    ['critical', 'Critical', false],
    ['critical', 'critical2', false],
    ['critical', undefined, false],
    ['', '', true],
    ['', undefined, false],
    ['~^db-', 'db-', true], // an explicit ^ is harmless...
    ['~^db-', 'db-main', false], // ...but the whole value must still match: write "~db-.*" for a prefix
    ['~db-.*', 'db-main', true],
    ['~db-', 'db-main', false], // must match the whole value
    ['~db', 'mydb', false],
    ['~a|b', 'a', true],
    ['~a|b', 'ab', false], // alternation stays inside the anchors
    ['~.*', '', true],
    ['~.*', undefined, false],
    ['!critical', 'warning', true],
    ['!critical', 'critical', false],
    ['!critical', undefined, true],
    ['!~db-.*', 'db-main', false],
    ['!~db-.*', 'web', true],
    ['!~db-', 'db-main', true],
    ['!~.*', undefined, true],
    ['!', '', false],
    ['!', 'x', true],
    ['~\\d+', '500', true],
    ['~\\d+', '500a', false],
  ];
  for (const [pattern, value, expected] of table) {
    assert.equal(compileMatcher(pattern).test(value), expected, `${pattern} vs ${String(value)}`);
  }
});

test('matcher keeps its source pattern', () => {
  assert.equal(compileMatcher('!~x').source, '!~x');
});

// scripts/run-tests.mjs runs this file on Node, Bun and Deno: the messages below are the same on each.
test('invalid regular expressions throw MatcherError naming the pattern, in the same words on every runtime', () => {
  const table: [pattern: string, reason: string | undefined][] = [
    ['~(', 'unbalanced parenthesis: "(" without ")"'],
    ['~((a)', 'unbalanced parenthesis: "(" without ")"'],
    ['~(?:a', 'unbalanced parenthesis: "(" without ")"'],
    ['!~a)|(b', 'unbalanced parenthesis: ")" without "("'],
    ['~(a))', 'unbalanced parenthesis: ")" without "("'],
    ['~[a', 'unbalanced bracket: "[" without "]"'],
    ['~(]', 'unbalanced parenthesis: "(" without ")"'],
    ['~*', '"*" has nothing to repeat'],
    ['~a|+b', '"+" has nothing to repeat'],
    ['~a**', '"*" has nothing to repeat'],
    ['~^?', '"?" has nothing to repeat'],
    ['~\\b+', '"+" has nothing to repeat'],
    ['~{2}', '"{2}" has nothing to repeat'],
    ['~x{1}{2}', '"{2}" has nothing to repeat'],
    ['~(?<=a)*', '"*" has nothing to repeat'],
    ['~a{3,1}', 'numbers out of order in "{3,1}"'],
    ['~[z-a]', 'range out of order in character class: "z-a"'],
    ['~[\\x41-Z\\]-A]', 'range out of order in character class: "\\\\]-A"'],
    ['~a\\', 'trailing backslash'],
    ['~[a\\', 'trailing backslash'],
    ['~(?a)', 'invalid group syntax "(?a"'],
    ['~(?<1x>a)', 'invalid group name'],
    ['~(?<a', 'invalid group name'],
    ['~(?<n>a)\\k<m>', undefined], // no rule of tocsin's explains it: the message names the pattern only
  ];
  for (const [pattern, reason] of table) {
    const message = `invalid regular expression ${JSON.stringify(pattern)}${reason === undefined ? '' : `: ${reason}`}`;
    assert.throws(() => compileMatcher(pattern), new MatcherError(message), pattern);
  }
});

test('valid regular expressions that look broken are accepted (the runtime decides validity)', () => {
  for (const re of ['a{', ']', '}', 'a{,2}', '(?=a)*', '[]', '[^]', '[a-]', '[\\d-a]', 'a*?', '\\u{2}', '(?<n>a)\\k<n>', '[\\x4f-Z]']) {
    assert.doesNotThrow(() => compileMatcher(`~${re}`), re);
  }
});

test('a plain pattern that looks like a regex is compared literally', () => {
  assert.equal(compileMatcher('a.c').test('abc'), false);
  assert.equal(compileMatcher('a.c').test('a.c'), true);
});
