import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type Decision } from './decide.ts';
import type { RetryPolicy } from '../config/types.ts';
import type { SendResult } from '../domain/notification.ts';

const H = 3_600_000;
const policy: RetryPolicy = {
  maxAttempts: 20,
  maxAgeMs: 24 * H,
  backoffBaseMs: 1000,
  backoffCapMs: 600_000,
  retryAfterCapMs: H,
};

const retry503: SendResult = { outcome: 'retry', status: 503, error: 'HTTP 503' };

/** A random source that always answers `r` and counts how often it was asked. */
function fixedRandom(r: number) {
  const f = Object.assign(() => {
    f.calls++;
    return r;
  }, { calls: 0 });
  return f;
}

const noRandom = () => assert.fail('random must not be consulted here');

test('sent is sent, whatever the attempt number or age', () => {
  const cases: [attempt: number, createdAt: number, now: number][] = [
    [1, 0, 0],
    [20, 0, 1000], // the last allowed attempt
    [25, 0, 1000], // beyond max_attempts
    [3, 0, 24 * H], // at the deadline
    [3, 0, 48 * H], // past the deadline
  ];
  for (const [attempt, createdAt, now] of cases) {
    assert.deepEqual(decide({ outcome: 'sent', status: 200 }, { attempt, createdAt, now }, policy, noRandom), { kind: 'sent' }, `attempt ${attempt} now ${now}`);
  }
  assert.deepEqual(decide({ outcome: 'sent' }, { attempt: 1, createdAt: 0, now: 0 }, policy, noRandom), { kind: 'sent' });
});

test('permanent → dead at once, marked permanent, the error kept in the reason', () => {
  const cases: [attempt: number, now: number][] = [
    [1, 1000],
    [19, 1000],
    [20, 1000], // max_attempts reached too: still reported as permanent
    [2, 24 * H + 5], // past max_age too
  ];
  for (const [attempt, now] of cases) {
    const d = decide(
      { outcome: 'permanent', status: 404, error: 'HTTP 404: {"error":"no such hook"}' },
      { attempt, createdAt: 0, now },
      policy,
      noRandom,
    );
    assert.deepEqual(d, { kind: 'dead', reason: 'permanent failure: HTTP 404: {"error":"no such hook"}', permanent: true }, `attempt ${attempt}`);
  }
});

test('retry: full-jitter backoff, floor(random * min(cap, base * 2^(attempt-1))), attempts 1..12', () => {
  const ceilings = [1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000, 600_000, 600_000];
  const expected: Record<string, number[]> = {
    '0': [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    '0.5': [500, 1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000],
    '0.999': [999, 1998, 3996, 7992, 15_984, 31_968, 63_936, 127_872, 255_744, 511_488, 599_400, 599_400],
  };
  const createdAt = 1_000_000;
  const now = 5_000_000; // far from the 24h deadline: no clamping
  for (const r of [0, 0.5, 0.999]) {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const random = fixedRandom(r);
      const d = decide(retry503, { attempt, createdAt, now }, policy, random);
      const delay = expected[String(r)]![attempt - 1]!;
      assert.equal(delay, Math.floor(r * ceilings[attempt - 1]!), 'table is the formula');
      assert.deepEqual(d, { kind: 'retry', nextAttemptAt: now + delay }, `random ${r}, attempt ${attempt}`);
      assert.equal(random.calls, 1, 'one random draw per decision');
    }
  }
});

test('the backoff base and cap come from the policy', () => {
  const p: RetryPolicy = { ...policy, backoffBaseMs: 250, backoffCapMs: 1500 };
  const at = (attempt: number) => decide(retry503, { attempt, createdAt: 0, now: 10_000 }, p, () => 0.5);
  assert.deepEqual([1, 2, 3, 4, 5].map(at), [125, 250, 500, 750, 750].map((d) => ({ kind: 'retry', nextAttemptAt: 10_000 + d })));
});

test('Retry-After is a floor: a longer one is honoured, a shorter one (or 0) still gets the backoff', () => {
  const now = 50_000;
  // policy: base 1 s, cap 10 min; random 0.5 → backoff = 0.5 * min(cap, base * 2^(attempt-1)).
  const table: [attempt: number, retryAfterMs: number, expectedDelay: number][] = [
    [1, 30_000, 30_000], // longer than the backoff (500 ms): the server wins
    [7, 120_000, 120_000],
    [3, 0, 2_000], // Retry-After: 0 does not retry at once
    [12, 1, 300_000], // nor does a tiny one
    [5, 8_000, 8_000], // equal to the backoff
  ];
  for (const [attempt, retryAfterMs, expectedDelay] of table) {
    const d = decide({ outcome: 'retry', status: 429, error: 'HTTP 429', retryAfterMs }, { attempt, createdAt: 0, now }, policy, () => 0.5);
    assert.deepEqual(d, { kind: 'retry', nextAttemptAt: now + expectedDelay }, `attempt ${attempt}, Retry-After ${retryAfterMs}`);
  }
});

test('the next attempt is never scheduled after createdAt + max_age', () => {
  const createdAt = 7000;
  const deadline = createdAt + 24 * H;
  const cases: [now: number, result: SendResult, expected: number][] = [
    [deadline - 500, retry503, deadline], // backoff 0.999*16s would overshoot
    [deadline - 1, retry503, deadline],
    [deadline - 60_000, retry503, deadline - 60_000 + 15_984], // fits: not clamped
    [deadline - 10_000, { ...retry503, retryAfterMs: 3_600_000 }, deadline], // Retry-After clamped too
    [deadline - 10_000, { ...retry503, retryAfterMs: 10_000 }, deadline], // lands exactly on it
  ];
  for (const [now, result, expected] of cases) {
    const d = decide(result, { attempt: 5, createdAt, now }, policy, () => 0.999);
    assert.deepEqual(d, { kind: 'retry', nextAttemptAt: expected }, `now = deadline - ${deadline - now}`);
  }
});

test('dead once attempt == max_attempts, with the count and the last error in the reason', () => {
  const p: RetryPolicy = { ...policy, maxAttempts: 5 };
  const f = (attempt: number) => ({ attempt, createdAt: 0, now: 1000 });
  assert.equal(decide(retry503, f(4), p, () => 0.5).kind, 'retry');
  const expected: Decision = { kind: 'dead', reason: 'gave up after 5 attempts (max_attempts): HTTP 503', permanent: false };
  assert.deepEqual(decide(retry503, f(5), p, noRandom), expected);
  // A Retry-After does not buy an extra attempt.
  assert.deepEqual(decide({ ...retry503, retryAfterMs: 1000 }, f(5), p, noRandom), expected);
  assert.deepEqual(decide(retry503, f(6), p, noRandom), { ...expected, reason: 'gave up after 6 attempts (max_attempts): HTTP 503' });
  // max_attempts 1: the single attempt is the last one.
  assert.deepEqual(decide({ outcome: 'retry', error: 'connection refused' }, f(1), { ...p, maxAttempts: 1 }, noRandom), {
    kind: 'dead',
    reason: 'gave up after 1 attempts (max_attempts): connection refused',
    permanent: false,
  });
});

test('dead once now >= createdAt + max_age, naming max_age (24h) in the reason', () => {
  const createdAt = 1000;
  const at = (now: number) => decide(retry503, { attempt: 2, createdAt, now }, policy, () => 0.5);
  assert.equal(at(createdAt + 24 * H - 1).kind, 'retry');
  const dead: Decision = { kind: 'dead', reason: 'gave up after max_age 24h: HTTP 503', permanent: false };
  assert.deepEqual(at(createdAt + 24 * H), dead);
  assert.deepEqual(at(createdAt + 48 * H), dead);
});

test('the max_age reason writes other durations in their natural unit', () => {
  const createdAt = 1000;
  const units: [maxAgeMs: number, text: string][] = [
    [2 * H, '2h'],
    [90 * 60_000, '90m'],
    [45_000, '45s'],
    [1500, '1500ms'],
  ];
  for (const [maxAgeMs, text] of units) {
    const p = { ...policy, maxAgeMs };
    assert.equal(decide(retry503, { attempt: 2, createdAt, now: createdAt + maxAgeMs - 1 }, p, () => 0.5).kind, 'retry');
    assert.deepEqual(decide(retry503, { attempt: 2, createdAt, now: createdAt + maxAgeMs }, p, noRandom), {
      kind: 'dead',
      reason: `gave up after max_age ${text}: HTTP 503`,
      permanent: false,
    });
  }
});
