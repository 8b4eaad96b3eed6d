import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CUT_COOLDOWN_MS, INITIAL_LIMIT, InflightLimit } from './limit.ts';

test('starts at a few deliveries, doubles per round trip up to the cap while the receiver answers', () => {
  const l = new InflightLimit(64);
  assert.equal(l.value, INITIAL_LIMIT);
  // One round trip: as many successes as are in flight.
  for (const expected of [16, 32, 64, 64]) {
    for (let i = l.value; i > 0; i--) l.sent();
    assert.equal(l.value, expected);
  }
});

test('a small cap is the limit from the start', () => {
  assert.equal(new InflightLimit(3).value, 3);
  assert.equal(new InflightLimit(1).value, 1);
});

test('halves on overload, once per cool-down, never below 1; then grows by one per round trip', () => {
  const l = new InflightLimit(64);
  for (let i = 0; i < 100; i++) l.sent();
  assert.equal(l.value, 64);
  l.overloaded(10_000);
  assert.equal(l.value, 32);
  // The rest of the same burst of failures does not cut again.
  for (let i = 0; i < 31; i++) l.overloaded(10_000 + i);
  assert.equal(l.value, 32);
  l.overloaded(10_000 + CUT_COOLDOWN_MS);
  assert.equal(l.value, 16);
  for (let t = 1; t <= 10; t++) l.overloaded(10_000 + (t + 1) * CUT_COOLDOWN_MS);
  assert.equal(l.value, 1, 'a dead receiver gets one delivery at a time');
  // Additive increase after a cut: a round trip of successes adds one.
  for (let i = 0; i < 16; i++) l.sent();
  assert.ok(l.value >= 5 && l.value <= 6, `grew slowly to ${l.value}`);
});

test('the cap follows the method concurrency', () => {
  const l = new InflightLimit(64);
  for (let i = 0; i < 100; i++) l.sent();
  l.cap = 10;
  assert.equal(l.value, 10);
  l.cap = 20;
  assert.equal(l.value, 10, 'raising the cap does not jump: it grows to it');
  for (let i = 0; i < 10; i++) l.sent();
  assert.equal(l.value, 20);
});
