/**
 * @module channels/webhook
 * POST the envelope (or, with `body: monasca`, monasca-notification's webhook body) as JSON, optionally with Basic auth (from the URL's userinfo), a bearer token and a
 * Standard Webhooks signature.
 */
import * as z from 'zod';
import { toEnvelope } from '../domain/envelope.ts';
import type { Delivery } from '../domain/notification.ts';
import { Secret } from '../lib/secret.ts';
import { BODY_FORMATS, toMonascaBody, type BodyFormat } from './monasca-body.ts';
import { attemptHttp, basicAuthorization, splitUserinfo, urlSecrets, type BasicAuth } from './http.ts';
import { checkHttpUrl, headersField } from './settings.ts';
import { checkSigningSecret, signStandardWebhook } from './signing.ts';
import { defineChannel, type Channel, type ChannelDeps, type HttpRequest } from './types.ts';
import { TemplateError, type Renderer } from '../render/template.ts';

export const USER_AGENT = 'tocsin';

export interface WebhookSettings {
  /** As configured: userinfo in it is sent as Basic auth, never as part of the URL (see splitUserinfo). */
  readonly url: Secret;
  readonly headers: Readonly<Record<string, string>>;
  /** `tocsin` (the envelope) or `monasca` (the 10-field body of monasca-notification's webhook plugin); default tocsin. */
  readonly body?: BodyFormat;
  /** Explicit Basic credentials (no config setting gives them yet); they take the place of any in the URL. */
  readonly basicAuth?: BasicAuth;
  readonly bearerToken?: Secret;
  readonly signingSecret?: Secret;
}

/**
 * Pure: the request body. monasca's body describes one alarm: a notification carrying several (grouping)
 * cannot be sent in it, and fails permanently rather than dropping alarms.
 */
export function webhookBody(format: BodyFormat, d: Delivery, rendered?: string): string {
  // A method's `template.body` (checked at startup to give JSON) takes the place of the built-in bodies.
  if (rendered !== undefined) return rendered;
  if (format === 'tocsin') return JSON.stringify(toEnvelope(d));
  if (d.alarms.length !== 1) throw new Error(`body monasca carries exactly one alarm, this notification has ${d.alarms.length}`);
  return JSON.stringify(toMonascaBody(d.alarms[0]!));
}

/**
 * Pure: the exact request for one attempt. Custom headers cannot override auth, idempotency or signature
 * headers. Userinfo in the URL is taken out of it and sent as `Authorization: Basic`, the same on every
 * runtime; a bearer token replaces it.
 */
export function buildWebhookRequest(
  cfg: WebhookSettings,
  d: Delivery,
  nowMs: number,
  userAgent: string = USER_AGENT,
  renderedBody?: string,
): HttpRequest {
  const target = splitUserinfo(cfg.url.reveal());
  const body = webhookBody(cfg.body ?? 'tocsin', d, renderedBody);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': userAgent };
  for (const [k, v] of Object.entries(cfg.headers)) headers[k.toLowerCase()] = v;
  const basic = cfg.basicAuth ?? target.auth;
  if (basic) headers['authorization'] = basicAuthorization(basic);
  if (cfg.bearerToken) headers['authorization'] = `Bearer ${cfg.bearerToken.reveal()}`;
  headers['idempotency-key'] = d.notificationId;
  if (cfg.signingSecret) {
    const ts = Math.floor(nowMs / 1000);
    headers['webhook-id'] = d.notificationId;
    headers['webhook-timestamp'] = String(ts);
    headers['webhook-signature'] = signStandardWebhook(cfg.signingSecret.reveal(), d.notificationId, ts, body);
  }
  return { method: 'POST', url: target.url, headers, body };
}

/**
 * Everything that must never appear in an error text: the secret settings, the URL with and without its
 * userinfo and the URL's secret-looking parts (the request URL no longer has the userinfo), and custom
 * header values (often credentials, e.g. an API key header).
 */
function webhookSecrets(cfg: WebhookSettings): Secret[] {
  const url = cfg.url.reveal();
  let target: ReturnType<typeof splitUserinfo> = { url };
  try {
    target = splitUserinfo(url);
  } catch {
    // Such a URL is never sent: building the request fails.
  }
  return [
    cfg.url, new Secret(target.url), ...urlSecrets(url), ...(target.auth ? [target.auth.password] : []),
    ...[cfg.basicAuth?.password, cfg.bearerToken, cfg.signingSecret].filter((s) => s !== undefined),
    ...Object.values(cfg.headers).map((v) => new Secret(v)),
  ];
}

/** The configured URL as a Secret that also redacts the credentials in its userinfo, in every form. */
function urlSecret(url: Secret, userinfo: BasicAuth | undefined): Secret {
  return userinfo ? new Secret(url.reveal(), userinfo.password.revealAll()) : url;
}

/** The header name in `headers` that is `Authorization` (any case), if any. */
function authorizationHeader(headers: Readonly<Record<string, string>>): string | undefined {
  return Object.keys(headers).find((k) => k.toLowerCase() === 'authorization');
}

export function createWebhookChannel(
  method: string,
  cfg: WebhookSettings,
  deps: ChannelDeps,
  userAgent: string = USER_AGENT,
  renderer?: Renderer,
): Channel {
  const secrets = webhookSecrets(cfg);
  const now = () => deps.clock.now();
  return {
    method,
    async send(d, signal) {
      let req: HttpRequest;
      try {
        const rendered = renderer?.render('body', d);
        // Checked at startup with a sample alarm; a real alarm's text (a quote in a summary) can still break it.
        if (rendered !== undefined) JSON.parse(rendered);
        req = buildWebhookRequest(cfg, d, now(), userAgent, rendered);
      } catch (e) {
        if (e instanceof TemplateError) return { outcome: 'permanent', error: `template error in body: ${e.message}` };
        if (e instanceof SyntaxError) return { outcome: 'permanent', error: `template error in body: the output is not JSON (${e.message}); write values with <%~ json(…) %>` };
        return { outcome: 'permanent', error: `cannot build request: ${e instanceof Error ? e.message : String(e)}` };
      }
      return attemptHttp(deps.http, req, signal, { now, secrets });
    },
  };
}

export const webhookChannel = defineChannel({
  type: 'webhook',
  summary: 'POST the notification envelope (or a monasca-compatible body) as JSON to a URL',
  fields: z.strictObject({
    body: z
      .enum(BODY_FORMATS, { error: `must be one of: ${BODY_FORMATS.join(', ')}` })
      .describe('the request body: `tocsin`, the notification envelope; `monasca`, the exact 10-field body monasca-notification\'s webhook plugin POSTs (see [Webhook requests](#webhook-requests))'),
    headers: headersField.describe('extra request headers; they cannot replace `authorization`, `idempotency-key` or the signature headers, and their values are redacted from error texts like secrets'),
  }),
  defaults: { body: 'tocsin', headers: {} },
  // No default: the body is the envelope (or monasca's) unless a method gives `template.body`, JSON.
  templates: { parts: ['body'], firing: {}, resolved: {}, json: ['body'] },
  secrets: {
    url: {
      required: true,
      check: checkHttpUrl,
      description:
        'the http(s) URL to POST to; a user name and password in it (`https://user:pass@host/…`) are sent as `Authorization: Basic`, percent-decoded, and taken out of the URL',
    },
    bearer_token: { required: false, description: 'sent as `Authorization: Bearer <token>`' },
    signing_secret: {
      required: false,
      check: checkSigningSecret,
      description: '`whsec_<base64>`: signs each request with Standard Webhooks headers',
    },
  },
  settings: (f, s, problem): WebhookSettings => {
    let userinfo: BasicAuth | undefined;
    try {
      userinfo = splitUserinfo(s.url!.reveal()).auth;
    } catch (e) {
      problem('url', `${(e as Error).message}: write each reserved character of the user name and password as %XX`);
    }
    // Userinfo is sent as one Authorization header: a second source of that header is a mistake.
    const header = authorizationHeader(f.headers ?? {});
    if (userinfo && s.bearer_token) {
      problem('bearer_token', 'cannot be used with a user name or password in url (each sets the Authorization header): remove one of them');
    }
    if (userinfo && header !== undefined) {
      problem(`headers.${header}`, 'cannot be used with a user name or password in url (each sets the Authorization header): remove one of them');
    }
    return {
      url: urlSecret(s.url!, userinfo),
      headers: { ...f.headers },
      body: f.body,
      ...(s.bearer_token && { bearerToken: s.bearer_token }),
      ...(s.signing_secret && { signingSecret: s.signing_secret }),
    };
  },
  // The envelope carries `alarms: [...]`; monasca's body has room for one alarm.
  carriesSeveral: (settings) => settings.body === 'tocsin',
  create: (method, settings, deps, renderer) => createWebhookChannel(method, settings, deps, USER_AGENT, renderer),
});
