/**
 * @module runtime/start-gate
 * The HTTP handler the listener gets before the app exists: the relay listens first and builds the app
 * (database, migrations, statements) right after, so requests that arrive in between wait for it. If the
 * app cannot be built, they get 503 `unavailable` with Retry-After: nothing was accepted.
 */
import type { FetchHandler } from './platform.ts';

export interface StartGate {
  readonly fetch: FetchHandler;
  /** From now on every request goes to `handler` (waiting ones too). */
  open(handler: FetchHandler): void;
  /** The app could not start: waiting and later requests get 503. */
  fail(reason: string): void;
}

export function startGate(): StartGate {
  let handler: FetchHandler | undefined;
  let settle: (h: FetchHandler) => void = () => {};
  const ready = new Promise<FetchHandler>((r) => (settle = r));
  const unavailable = (reason: string): FetchHandler => () =>
    Response.json({ error: `tocsin could not start: ${reason}`, code: 'unavailable' }, { status: 503, headers: { 'retry-after': '5' } });
  return {
    fetch: (req) => (handler ? handler(req) : ready.then((h) => h(req))),
    open(h) {
      handler = h;
      settle(h);
    },
    fail(reason) {
      handler = unavailable(reason);
      settle(handler);
    },
  };
}
