/**
 * @module runtime/delivery-worker
 * Entry point of the delivery thread (see runtime/threads): this runtime's SQLite driver and HTTP client,
 * then app/delivery-thread. A failure to start is reported to the main thread, which refuses to start.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { DeliveryThreadInit, FromDeliveryThread, ThreadPort, ToDeliveryThread } from '../dispatch/thread-protocol.ts';
import { systemClock } from '../lib/clock.ts';
import { coerceError } from '../lib/errors.ts';
import { RelayClock } from '../lib/monotonic-clock.ts';
import { loadPlatform } from './detect.ts';

const init = workerData as DeliveryThreadInit;
// First of all: following the main thread's clock sets this thread's by the wall clock (see RelayClock).
const clock = init.clock ? new RelayClock({}, init.clock) : systemClock;
const parent = parentPort!;
const port: ThreadPort = {
  post: (msg: FromDeliveryThread) => parent.postMessage(msg),
  onMessage: (fn) => parent.on('message', (m: ToDeliveryThread) => fn(m)),
  // Node and Bun: let the thread end; Deno ends it when the main thread terminates it.
  close: () => (parent as { close?: () => void }).close?.(),
};

try {
  const platform = await loadPlatform();
  const [{ runDeliveryThread }, openDatabase, http] = await Promise.all([
    import('../app/delivery-thread.ts'),
    platform.loadSqlite(),
    platform.createHttpClient(),
  ]);
  await runDeliveryThread(init, port, { openDatabase, http: http.client, clock, random: Math.random });
  await http.close();
} catch (e) {
  port.post({ type: 'failed', error: coerceError(e).message });
  port.close();
}
