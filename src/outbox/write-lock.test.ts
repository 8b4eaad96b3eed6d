import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { WriteLock } from './write-lock.ts';

test('runs fn holding the lock, re-entrant, released after a throw', () => {
  const lock = new WriteLock(1);
  assert.equal(lock.holder, 0);
  const seen = lock.run(() => lock.run(() => lock.holder));
  assert.equal(seen, 1);
  assert.equal(lock.holder, 0);
  assert.throws(() => lock.run(() => { throw new Error('boom'); }), /boom/);
  assert.equal(lock.holder, 0, 'released after the throw');
});

test('a holder id must be an integer ≥ 1', () => {
  assert.throws(() => new WriteLock(0));
  assert.throws(() => new WriteLock(1.5));
});

test('a thread waits while another thread holds the lock, and goes once it is released', async () => {
  // Cell 0: the lock; cell 1: set by the other thread just before it releases.
  const buffer = new SharedArrayBuffer(8);
  const main = new WriteLock(1, buffer);
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const cell = new Int32Array(workerData);
    while (Atomics.compareExchange(cell, 0, 0, 2) !== 0) Atomics.wait(cell, 0, Atomics.load(cell, 0), 50);
    parentPort.postMessage('holding');
    Atomics.wait(cell, 1, 0, 200); // hold a while (the main thread is blocked waiting by then)
    Atomics.store(cell, 1, 1);
    Atomics.store(cell, 0, 0);
    Atomics.notify(cell, 0, 1);`;
  const worker = new Worker(code, { eval: true, workerData: buffer });
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  assert.equal(main.holder, 2);
  const sawRelease = main.run(() => Atomics.load(new Int32Array(buffer), 1));
  assert.equal(sawRelease, 1, 'ran only after the other thread released');
  assert.equal(main.holder, 0);
  await worker.terminate();
});

test('a holder that died is released by forceRelease; a waiter gives up after maxWaitMs', () => {
  const buffer = new SharedArrayBuffer(4);
  const main = new WriteLock(1, buffer, { maxWaitMs: 100 });
  Atomics.store(new Int32Array(buffer), 0, 2); // the delivery thread died holding it
  assert.equal(main.forceRelease(3), false, 'only the dead holder’s id releases');
  assert.equal(main.forceRelease(2), true);
  assert.equal(main.run(() => main.holder), 1);
  // Held for good by someone: the waiter goes on without it, and leaves the holder's mark alone.
  Atomics.store(new Int32Array(buffer), 0, 2);
  assert.equal(main.run(() => 'ran'), 'ran');
  assert.equal(main.holder, 2);
});
