/**
 * What the test peers (webhook sink, fake healthchecks) share: listening on loopback with their sockets
 * tracked (so close() can cut them), and letting a test wait for what they receive.
 */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** Listens on 127.0.0.1 on a free port, tracking sockets in `sockets`; resolves with the port. */
export async function listenOnLoopback(server: Server, sockets: Set<Socket>): Promise<number> {
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * How the test peers (webhook sink, fake healthchecks) let a test wait for what they receive: resolves
 * true as soon as `pred` holds (checked on every event the peer reports through `waiters`, and every
 * `everyMs`), or with `pred()` once `timeoutMs` has passed.
 */
export function waitUntil(pred: () => boolean, timeoutMs: number, waiters: Set<() => void>, everyMs: number): Promise<boolean> {
  if (pred()) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const finish = (v: boolean) => {
      waiters.delete(check);
      clearInterval(iv);
      clearTimeout(to);
      resolve(v);
    };
    const check = () => {
      if (pred()) finish(true);
    };
    const iv = setInterval(check, everyMs);
    const to = setTimeout(() => finish(pred()), timeoutMs);
    waiters.add(check);
  });
}

/** Closes a peer's server: no new connections, every open one cut (its `sockets`, as listenOnLoopback tracks them). */
export async function closePeer(server: Server, sockets: Set<Socket>): Promise<void> {
  const done = new Promise<void>((r) => server.close(() => r()));
  server.closeAllConnections();
  for (const s of sockets) s.destroy();
  await done;
}
