/**
 * @module channels/webhook
 * POST the envelope as JSON, optionally with a bearer token and a Standard Webhooks signature.
 */
import type { RetryPolicy, WebhookMethodConfig } from '../config/types.ts';
import { toEnvelope } from '../domain/envelope.ts';
import type { Delivery } from '../domain/notification.ts';
import { Secret } from '../lib/secret.ts';
import { postJson } from './http.ts';
import { signStandardWebhook } from './signing.ts';
import type { Channel, ChannelDeps, HttpRequest } from './types.ts';

export const USER_AGENT = 'tocsin';

/** Pure: the exact request for one attempt. Custom headers cannot override auth, idempotency or signature headers. */
export function buildWebhookRequest(
  cfg: WebhookMethodConfig,
  d: Delivery,
  nowMs: number,
  userAgent: string = USER_AGENT,
): HttpRequest {
  const body = JSON.stringify(toEnvelope(d));
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': userAgent };
  for (const [k, v] of Object.entries(cfg.headers)) headers[k.toLowerCase()] = v;
  if (cfg.bearerToken) headers['authorization'] = `Bearer ${cfg.bearerToken.reveal()}`;
  headers['idempotency-key'] = d.notificationId;
  if (cfg.signingSecret) {
    const ts = Math.floor(nowMs / 1000);
    headers['webhook-id'] = d.notificationId;
    headers['webhook-timestamp'] = String(ts);
    headers['webhook-signature'] = signStandardWebhook(cfg.signingSecret.reveal(), d.notificationId, ts, body);
  }
  return { method: 'POST', url: cfg.url.reveal(), headers, body };
}

export function createWebhookChannel(
  method: string,
  cfg: WebhookMethodConfig,
  retry: RetryPolicy,
  deps: ChannelDeps,
  userAgent: string = USER_AGENT,
): Channel {
  // Custom header values often carry credentials (e.g. an API key header): redact them like the rest.
  const secrets = [cfg.url, cfg.bearerToken, cfg.signingSecret, ...Object.values(cfg.headers).map((v) => new Secret(v))];
  const now = () => deps.clock.now();
  return {
    method,
    async send(d, signal) {
      let req: HttpRequest;
      try {
        req = buildWebhookRequest(cfg, d, now(), userAgent);
      } catch (e) {
        return { outcome: 'permanent', error: `cannot build request: ${e instanceof Error ? e.message : String(e)}` };
      }
      return postJson(deps.http, req, signal, now, retry.retryAfterCapMs, secrets);
    },
  };
}
