import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRate, TokenBucket } from './rate-limit.ts';

test('parseRate: per second, minute or hour; malformed or zero → undefined', () => {
  assert.equal(parseRate('1/s'), 1);
  assert.equal(parseRate('120/min'), 2);
  assert.equal(parseRate('10 / hour'), 10 / 3600);
  assert.equal(parseRate('0.5/sec'), 0.5);
  for (const bad of ['1', '0/s', 'x/s', '1/day', '-1/s']) assert.equal(parseRate(bad), undefined, bad);
});

test('a bucket: burst at once, then one per 1/rate; never more than burst after a quiet spell', () => {
  const b = new TokenBucket({ perSecond: 2, burst: 3 }, 0);
  assert.equal(b.available(0), 3);
  b.take(3, 0);
  assert.equal(b.available(0), 0);
  assert.equal(b.msUntilNext(0), 500);
  assert.equal(b.available(499), 0);
  assert.equal(b.available(500), 1);
  b.take(1, 500);
  assert.equal(b.available(60_000), 3, 'capped at burst');
  assert.equal(b.msUntilNext(60_000), 0);
});
