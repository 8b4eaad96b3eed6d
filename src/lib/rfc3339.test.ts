import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRfc3339, RFC3339 } from './rfc3339.ts';

test('RFC 3339: strict dates, offsets, fractions cut to ms; a space for the T only when asked', () => {
  assert.equal(parseRfc3339('2026-12-01T12:00:00Z'), Date.UTC(2026, 11, 1, 12));
  assert.equal(parseRfc3339('2026-12-01t13:00:00.123456+01:00'), Date.UTC(2026, 11, 1, 12, 0, 0, 123));
  assert.equal(parseRfc3339('2026-12-01 12:00:00Z'), undefined);
  assert.equal(parseRfc3339('2026-12-01 12:00:00Z', { space: true }), Date.UTC(2026, 11, 1, 12));
  for (const bad of ['2026-02-30T00:00:00Z', '2026-12-01T24:00:00Z', '2026-12-01T12:00:00', 'tomorrow', '0000-01-01T00:00:00+23:59']) {
    assert.equal(parseRfc3339(bad, { space: true }), undefined, bad);
  }
  assert.ok(RFC3339.test('2026-12-01 12:00:00.5Z'));
});
