/**
 * @module runtime/threads
 * Starts the delivery thread (node:worker_threads, which Node, Bun and Deno all provide). The thread's
 * entry is runtime/delivery-worker.ts: in the compiled binary it is one of the build's entry points; on
 * Node from source, the thread first registers tsx (module hooks do not reach worker threads on Node 20).
 */
import { Worker } from 'node:worker_threads';
import type { DeliveryThreadInit, FromDeliveryThread, ThreadHandle } from '../dispatch/thread-protocol.ts';
import { runtimeName } from './detect.ts';

function workerFor(entry: URL, workerData: unknown): Worker {
  if (runtimeName() === 'node' && entry.pathname.endsWith('.ts')) {
    const tsx = import.meta.resolve('tsx/esm/api');
    const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
    return new Worker(code, { eval: true, workerData });
  }
  return new Worker(entry, { workerData });
}

export function startDeliveryThread(init: DeliveryThreadInit): ThreadHandle {
  const worker = workerFor(new URL('./delivery-worker.ts', import.meta.url), init);
  let failure: Error | undefined;
  worker.on('error', (e) => (failure = e));
  return {
    post: (msg) => worker.postMessage(msg),
    onMessage: (fn) => worker.on('message', (m: FromDeliveryThread) => fn(m)),
    onExit: (fn) => worker.on('exit', (code) => fn(code, failure)),
    terminate: async () => {
      await worker.terminate();
    },
  };
}
