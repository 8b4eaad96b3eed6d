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

test('invalid regular expressions throw MatcherError naming the pattern', () => {
  assert.throws(() => compileMatcher('~('), new MatcherError('invalid regular expression "~(": Unterminated group'));
  assert.throws(() => compileMatcher('!~a)|(b'), new MatcherError(`invalid regular expression "!~a)|(b": Unmatched ')'`));
  assert.throws(() => compileMatcher('~[z-a]'), MatcherError);
});

test('a plain pattern that looks like a regex is compared literally', () => {
  assert.equal(compileMatcher('a.c').test('abc'), false);
  assert.equal(compileMatcher('a.c').test('a.c'), true);
});
