/**
 * @module runtime/start-gate
 * The HTTP handler the listener gets before the app exists: the relay listens first and builds the app
 * (database, migrations, statements) right after, so requests that arrive in between wait for it. If the
 * app cannot be built, they get 503 `unavailable` with Retry-After: nothing was accepted. Meanwhile
 * /healthz answers at once (the process is alive, even through a long migration) and /readyz says
 * `starting`.
 */
import type { FetchHandler } from './platform.ts';

export interface StartGate {
  readonly fetch: FetchHandler;
  /** From now on every request goes to `handler` (waiting ones too). */
  open(handler: FetchHandler): void;
  /** The app could not start: waiting and later requests get 503. */
  fail(reason: string): void;
  /** The app cannot start yet (it will try again): requests get 503 with the reason, until open() or fail(). */
  hold(reason: string): void;
}

export function startGate(version: string): StartGate {
  let handler: FetchHandler | undefined;
  let settle: (h: FetchHandler) => void = () => {};
  const ready = new Promise<FetchHandler>((r) => (settle = r));
  const unavailable = (reason: string): FetchHandler => () =>
    Response.json({ error: `tocsin could not start: ${reason}`, code: 'unavailable' }, { status: 503, headers: { 'retry-after': '5' } });
  const held = (reason: string): FetchHandler => (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === 'GET' && path === '/healthz') return Response.json({ status: 'ok', version });
    if (req.method === 'GET' && path === '/readyz') return Response.json({ status: 'not ready', error: reason }, { status: 503 });
    return Response.json({ error: `tocsin cannot start yet: ${reason}; nothing was accepted`, code: 'unavailable' }, { status: 503, headers: { 'retry-after': '30' } });
  };
  const starting = (req: Request): Response | undefined => {
    const path = new URL(req.url).pathname;
    if (req.method !== 'GET') return undefined;
    if (path === '/healthz') return Response.json({ status: 'ok', version });
    if (path === '/readyz') return Response.json({ status: 'not ready', error: 'starting' }, { status: 503 });
    return undefined;
  };
  return {
    fetch: (req) => (handler ? handler(req) : (starting(req) ?? ready.then((h) => h(req)))),
    open(h) {
      handler = h;
      settle(h);
    },
    fail(reason) {
      handler = unavailable(reason);
      settle(handler);
    },
    hold(reason) {
      handler = held(reason);
      settle(handler);
    },
  };
}
