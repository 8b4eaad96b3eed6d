import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffCeiling, backoffDelay } from './backoff.ts';

const p = { baseMs: 1000, capMs: 600_000 };

test('backoff ceiling doubles from the base and stops at the cap', () => {
  const table: [number, number][] = [
    [1, 1000], [2, 2000], [3, 4000], [4, 8000], [5, 16_000], [6, 32_000], [7, 64_000],
    [8, 128_000], [9, 256_000], [10, 512_000], [11, 600_000], [20, 600_000], [1000, 600_000],
  ];
  for (const [attempt, ceiling] of table) assert.equal(backoffCeiling(attempt, p), ceiling, `attempt ${attempt}`);
});

test('full jitter spans [0, ceiling)', () => {
  assert.equal(backoffDelay(3, p, () => 0), 0);
  assert.equal(backoffDelay(3, p, () => 0.5), 2000);
  assert.equal(backoffDelay(3, p, () => 0.999999), 3999);
  assert.equal(backoffDelay(50, p, () => 0.5), 300_000);
});
