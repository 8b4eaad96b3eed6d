/**
 * @module http/metrics-route
 * `GET /metrics`: the Prometheus text of the app's registry. With `metrics.token` (or `metrics.token_file`)
 * configured, a scrape must send `Authorization: Bearer <token>` (compared by SHA-256 in constant time,
 * never logged); otherwise 401 with the catalogue's body. Without a token it is open (the relay listens
 * on loopback by default).
 */
import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import type Registry from 'prom-client/lib/registry.js';
import { sha256Hex } from '../lib/hash.ts';
import type { Secret } from '../lib/secret.ts';
import { errorResponse } from './errors.ts';

export interface MetricsRouteDeps {
  readonly registry: Registry;
  /** The token now (read at every scrape: a reload may change it); undefined: open. */
  readonly token: () => Secret | undefined;
}

/** Whether an Authorization header carries this bearer token; undefined when it does, else why not. */
function refusal(authorization: string | undefined, digest: Buffer): string | undefined {
  if (!authorization) return 'missing Authorization: Bearer <metrics token>';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) return 'Authorization must be "Bearer <metrics token>"';
  return timingSafeEqual(digest, Buffer.from(sha256Hex(m[1]!), 'hex')) ? undefined : 'unknown metrics token';
}

/**
 * @example
 * app.route('/', metricsRoute({ registry: metrics.registry, token: () => live.config.metrics.token }));
 */
export function metricsRoute(deps: MetricsRouteDeps): Hono {
  const app = new Hono();
  let seen: Secret | undefined;
  let digest: Buffer | undefined;
  app.get('/metrics', async (c) => {
    const token = deps.token();
    if (token) {
      if (token !== seen) {
        digest = Buffer.from(sha256Hex(token.reveal()), 'hex');
        seen = token;
      }
      const why = refusal(c.req.header('authorization'), digest!);
      if (why) return errorResponse(c, 'unauthorized', why);
    }
    c.header('Content-Type', deps.registry.contentType);
    return c.body(await deps.registry.metrics());
  });
  return app;
}
