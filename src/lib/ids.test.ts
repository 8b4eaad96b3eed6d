import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idGenerator, ulid } from './ids.ts';

/** The straightforward encoding: the 80 random bits, 5 at a time, most significant first. */
function reference(nowMs: number, bytes: Uint8Array): string {
  const A = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let time = '';
  for (let i = 0, t = nowMs; i < 10; i++, t = Math.floor(t / 32)) time = A[t % 32] + time;
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  let rnd = '';
  for (let i = 0; i < 80; i += 5) rnd += A[parseInt(bits.slice(i, i + 5), 2)];
  return time + rnd;
}

test('ULID layout: the spec example time, and random bits encoded as the reference does', () => {
  assert.equal(ulid(1469918176385, () => new Uint8Array(10)).slice(0, 10), '01ARYZ6S41');
  let seed = 7;
  for (let i = 0; i < 500; i++) {
    const bytes = Uint8Array.from({ length: 10 }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 255);
    const now = 1_700_000_000_000 + i * 7919;
    assert.equal(ulid(now, () => bytes), reference(now, bytes));
  }
  assert.equal(ulid(0, () => new Uint8Array(10).fill(255)), '0000000000ZZZZZZZZZZZZZZZZ');
});

test('the generator prefixes ids and keeps the time part in step with the clock', () => {
  let now = 1469918176385;
  const gen = idGenerator(() => now, (n) => new Uint8Array(n));
  assert.equal(gen.alarm(), 'alm_01ARYZ6S410000000000000000');
  now += 1;
  assert.equal(gen.notification(), 'ntf_01ARYZ6S420000000000000000');
  assert.ok(gen.alarm() > 'alm_01ARYZ6S41', 'sortable by time');
});
