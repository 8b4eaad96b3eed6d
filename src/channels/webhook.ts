/**
 * @module channels/webhook
 * POST the envelope as JSON, optionally with a bearer token and a Standard Webhooks signature.
 */
import * as z from 'zod';
import { toEnvelope } from '../domain/envelope.ts';
import type { Delivery } from '../domain/notification.ts';
import { Secret } from '../lib/secret.ts';
import { attemptHttp } from './http.ts';
import { checkHttpUrl, headersField } from './settings.ts';
import { checkSigningSecret, signStandardWebhook } from './signing.ts';
import { defineChannel, type Channel, type ChannelDeps, type HttpRequest } from './types.ts';

export const USER_AGENT = 'tocsin';

export interface WebhookSettings {
  readonly url: Secret;
  readonly headers: Readonly<Record<string, string>>;
  readonly bearerToken?: Secret;
  readonly signingSecret?: Secret;
}

/** Pure: the exact request for one attempt. Custom headers cannot override auth, idempotency or signature headers. */
export function buildWebhookRequest(
  cfg: WebhookSettings,
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

export function createWebhookChannel(method: string, cfg: WebhookSettings, deps: ChannelDeps, userAgent: string = USER_AGENT): Channel {
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
      return attemptHttp(deps.http, req, signal, { now, secrets });
    },
  };
}

export const webhookChannel = defineChannel({
  type: 'webhook',
  summary: 'POST the notification envelope as JSON to a URL',
  fields: z.strictObject({
    headers: headersField.describe('extra request headers; they cannot replace `authorization`, `idempotency-key` or the signature headers, and their values are redacted from error texts like secrets'),
  }),
  defaults: { headers: {} },
  secrets: {
    url: { required: true, check: checkHttpUrl, description: 'the http(s) URL to POST to' },
    bearer_token: { required: false, description: 'sent as `Authorization: Bearer <token>`' },
    signing_secret: {
      required: false,
      check: checkSigningSecret,
      description: '`whsec_<base64>`: signs each request with Standard Webhooks headers',
    },
  },
  settings: (f, s): WebhookSettings => ({
    url: s.url!,
    headers: { ...f.headers },
    ...(s.bearer_token && { bearerToken: s.bearer_token }),
    ...(s.signing_secret && { signingSecret: s.signing_secret }),
  }),
  create: (method, settings, deps) => createWebhookChannel(method, settings, deps),
});
