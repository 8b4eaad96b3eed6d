import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { RelayClock, steadyOf } from './monotonic-clock.ts';

/** A wall clock and a monotonic clock the test moves. */
function sources(wallAt = 1_700_000_000_000, monoAt = 5_000.25) {
  const s = { wall: wallAt, mono: monoAt };
  return { s, wall: { now: () => s.wall }, monotonic: () => s.mono };
}

test('starts at the wall clock, then moves with the monotonic clock only', () => {
  const { s, wall, monotonic } = sources();
  const clock = new RelayClock({ wall, monotonic });
  assert.equal(clock.now(), 1_700_000_000_000);
  s.mono += 1500.5;
  assert.equal(clock.now(), 1_700_000_001_500, 'whole milliseconds');
  s.wall -= 3_600_000; // the wall clock is stepped back
  assert.equal(clock.now(), 1_700_000_001_500);
  assert.equal(clock.steady.now(), 1_700_000_001_500);
  assert.equal(clock.shift, 0);
});

test('move shifts now() but not the steady clock, on every clock that follows the link', () => {
  const { s, wall, monotonic } = sources();
  const clock = new RelayClock({ wall, monotonic });
  s.mono += 10;
  const follower = new RelayClock({ wall, monotonic: () => s.mono * 2 }, clock.link()); // another origin and pace of its own
  assert.equal(follower.now(), clock.now(), 'set by the wall clock at start');
  clock.move(90_000_000);
  assert.equal(clock.now(), 1_700_000_000_010 + 90_000_000);
  assert.equal(clock.steady.now(), 1_700_000_000_010);
  assert.equal(follower.shift, 90_000_000, 'the shift is shared');
  assert.equal(follower.now(), clock.now());
  follower.move(-3_600_000);
  assert.equal(clock.shift, 90_000_000 - 3_600_000);
});

test('a follower started after a step of the wall clock keeps the time of the clock it follows', () => {
  const { s, wall, monotonic } = sources();
  const clock = new RelayClock({ wall, monotonic });
  s.wall += 25 * 3_600_000; // stepped, not yet noticed
  const link = clock.link();
  clock.move(25 * 3_600_000); // noticed before the follower reads the wall clock
  const follower = new RelayClock({ wall, monotonic }, link);
  assert.equal(follower.now(), clock.now());
  assert.equal(follower.steady.now(), clock.steady.now());
});

test('steadyOf: a RelayClock gives its steady clock and shift; another clock is its own steady clock', () => {
  const { wall, monotonic } = sources();
  const clock = new RelayClock({ wall, monotonic });
  clock.move(5);
  const r = steadyOf(clock);
  assert.equal(r.steady, clock.steady);
  assert.equal(r.shift(), 5);
  const plain = { now: () => 42 };
  assert.equal(steadyOf(plain).steady, plain);
  assert.equal(steadyOf(plain).shift(), 0);
});

test('the system sources: close to Date.now(), and a thread following the link agrees within milliseconds', async () => {
  const clock = new RelayClock();
  // Bounds are loose: a loaded machine can pause the thread between two reads.
  assert.ok(Math.abs(clock.now() - Date.now()) <= 50);
  clock.move(7_200_000);
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const shift = new BigInt64Array(workerData.shift);
    // What RelayClock does with a link (this worker runs plain JS).
    const origin = Date.now() + workerData.steadyMinusWall - performance.now();
    parentPort.postMessage(Math.floor(origin + performance.now()) + Number(Atomics.load(shift, 0)));`;
  const worker = new Worker(code, { eval: true, workerData: clock.link() });
  const theirs = await new Promise<number>((resolve, reject) => worker.once('message', resolve).once('error', reject));
  const ours = clock.now();
  const wall = Date.now();
  await worker.terminate();
  assert.ok(Math.abs(theirs - ours) <= 50, `${theirs} vs ${ours}`);
  assert.ok(Math.abs(ours - (wall + 7_200_000)) <= 50, `${ours} vs ${wall + 7_200_000}`);
});
