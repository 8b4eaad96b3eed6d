/**
 * @module channels/email
 * Send the notification as an email through an SMTP server (the runtime's mail transport, on nodemailer):
 * a subject (template part `title`), a plain-text part (`text`) and an HTML part (`html`, auto-escaped;
 * a method whose `html` template renders empty sends text only).
 *
 * Threading: the Message-ID is the notification id (the same on every retry, so a receiver that saw an
 * attempt whose answer was lost can drop the copy); every mail about an alarm names that alarm's thread
 * anchor, `<alarm.<hash of its dedup key>@<sender's domain>>`, in References, and a resolve answers it
 * (In-Reply-To), so mail clients that thread by References put a resolve under its firing. The anchor
 * is no message of its own: firings of the same alarm are distinct mails and must not share an id.
 *
 * Outcomes: SMTP 4xx and connection failures retry; 5xx fail permanently; an authentication failure
 * (535, EAUTH) fails permanently and says so; an abort retries. A mail some recipients refused while
 * others took it counts as sent: sending again would duplicate it for those who have it.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { Delivery, SendResult } from '../domain/notification.ts';
import { redact, Secret } from '../lib/secret.ts';
import { TemplateError, type ChannelTemplates, type Renderer, type TemplatePart } from '../render/template.ts';
import { classifyAbort, classifyError, excerpt } from './http.ts';
import { defineChannel, type Channel, type ChannelDeps, type MailMessage, type MailServer, type MailTransport } from './types.ts';

export interface EmailSettings {
  readonly server: MailServer;
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
}

/** The rendered parts of one mail. */
export interface RenderedEmail {
  readonly title: string;
  readonly text: string;
  /** Absent or empty: a text-only mail. */
  readonly html?: string;
}

// ---- addresses ----------------------------------------------------------------------------------

const ADDR_SPEC = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/;
const NAME_ADDR = /^\s*(?:"[^"\\]*"|[^"<>,;]*?)\s*<([^<>]+)>\s*$/;

/** A problem with an address (`a@example.com` or `Name <a@example.com>`), or undefined. Deliberately loose. */
export function checkAddress(v: string): string | undefined {
  if (/[\r\n\0]/.test(v)) return 'must not contain line breaks';
  const spec = NAME_ADDR.exec(v)?.[1] ?? v.trim();
  return ADDR_SPEC.test(spec) ? undefined : `${JSON.stringify(v)} is not an email address (user@example.com or Name <user@example.com>)`;
}

const address = z.string().superRefine((v, ctx) => {
  const problem = checkAddress(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, input: v });
});

/** The domain of an address, for message ids; `tocsin.invalid` when it has none usable. */
function domainOf(addr: string): string {
  const spec = NAME_ADDR.exec(addr)?.[1] ?? addr;
  const domain = spec.slice(spec.lastIndexOf('@') + 1).trim().toLowerCase();
  return /^[a-z0-9.-]+$/.test(domain) ? domain : 'tocsin.invalid';
}

// ---- templates ----------------------------------------------------------------------------------

const MAX_SUBJECT = 200;

/** Subject: one alarm by name and summary, several by their names. */
const title = (word: string) =>
  `[${word}] <% if (it.alarms.length === 1) { %><%= it.alarm.name %> (<%= it.alarm.severity %>)<%= it.alarm.summary ? ': ' + it.alarm.summary : '' %>` +
  `<% } else { %><%= it.alarms.length %> alarms: <%= it.alarms.map((a) => a.name).join(', ') %><% } %>`;

/** Plain text: each alarm's name, summary, description, when, where from, labels, annotations. */
const text = (when: string) => `<% const n = it.alarms.length -%>
<% if (n > 1) { -%>
<%= n %> alarms <%= it.status %>

<% } -%>
<% it.alarms.forEach((a, i) => { -%>
<% if (n > 1) { %>[<%= i + 1 %>/<%= n %>] <% } -%>
<%= a.status.toUpperCase() %>: <%= a.name %> (<%= a.severity %>)
<% if (a.summary) { -%>
<%= a.summary %>
<% } -%>
<% if (a.description) { -%>

<%= a.description %>
<% } -%>

${when}: <%= time(a.occurred_at) %>
Source: <%= a.source %>
Dedup key: <%= a.dedup_key %>
<% if (Object.keys(a.labels).length > 0) { -%>
Labels: <%= Object.entries(a.labels).map(([k, v]) => k + '=' + v).join(', ') %>
<% } -%>
<% for (const [k, v] of Object.entries(a.annotations)) { -%>
<%= k %>: <%= v %>
<% } -%>

<% }) -%>
-- 
Sent by tocsin (method <%= it.method %>, notification <%= it.notification_id %>)
`;

/** HTML: one card per alarm, its header coloured by severity (firing) or green (resolved). */
const html = (when: string, colour: string) => `<!DOCTYPE html>
<html><body style="margin:0;padding:16px;background:#f6f8fa;color:#1f2328;font-family:Arial,Helvetica,sans-serif;font-size:14px">
<% it.alarms.forEach((a) => { -%>
<% const colour = ${colour} -%>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:640px;margin:0 auto 16px;background:#ffffff;border:1px solid #d0d7de">
<tr><td style="padding:10px 16px;background:<%= colour %>;color:#ffffff;font-weight:bold"><%= a.status.toUpperCase() %> · <%= a.severity %> · <%= a.name %></td></tr>
<tr><td style="padding:12px 16px">
<% if (a.summary) { -%>
<p style="margin:0 0 8px;font-size:16px"><strong><%= a.summary %></strong></p>
<% } -%>
<% if (a.description) { -%>
<p style="margin:0 0 8px;white-space:pre-wrap"><%= a.description %></p>
<% } -%>
<table role="presentation" cellpadding="0" cellspacing="0" style="font-size:13px">
<tr><td style="padding:2px 12px 2px 0;color:#57606a">${when}</td><td><%= time(a.occurred_at) %></td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#57606a">Source</td><td><%= a.source %></td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#57606a">Dedup key</td><td><%= a.dedup_key %></td></tr>
<% if (Object.keys(a.labels).length > 0) { -%>
<tr><td style="padding:2px 12px 2px 0;color:#57606a">Labels</td><td><%= Object.entries(a.labels).map(([k, v]) => k + '=' + v).join(', ') %></td></tr>
<% } -%>
<% for (const [k, v] of Object.entries(a.annotations)) { -%>
<tr><td style="padding:2px 12px 2px 0;color:#57606a"><%= k %></td><td><% if (/^https?:\\/\\//.test(v)) { %><a href="<%= v %>"><%= v %></a><% } else { %><%= v %><% } %></td></tr>
<% } -%>
</table>
</td></tr>
</table>
<% }) -%>
<p style="max-width:640px;margin:0 auto;color:#57606a;font-size:12px">Sent by tocsin (method <%= it.method %>, notification <%= it.notification_id %>)</p>
</body></html>
`;

const SEVERITY_COLOUR = `({ critical: '#8b0000', error: '#cf222e', warning: '#bc4c00', info: '#0969da' })[a.severity] ?? '#57606a'`;

export const EMAIL_TEMPLATES: ChannelTemplates = {
  parts: ['title', 'text', 'html'],
  firing: { title: title('FIRING'), text: text('Occurred'), html: html('Occurred', SEVERITY_COLOUR) },
  resolved: { title: title('RESOLVED'), text: text('Resolved'), html: html('Resolved', `'#1a7f37'`) },
  html: ['html'],
};

// ---- the message --------------------------------------------------------------------------------

/** The thread anchor of an alarm (see the module comment). */
export function threadAnchor(dedupKey: string, domain: string): string {
  return `<alarm.${createHash('sha256').update(dedupKey).digest('hex').slice(0, 32)}@${domain}>`;
}

/** At most this many alarms' anchors go in References (a grouped notification can carry many). */
const MAX_REFERENCES = 20;

/**
 * Pure: the mail for one delivery. The subject is one line (whitespace collapsed, at most 200
 * characters).
 */
export function buildEmailMessage(s: EmailSettings, rendered: RenderedEmail, d: Delivery): MailMessage {
  const domain = domainOf(s.from);
  const anchors = [...new Set(d.alarms.map((a) => threadAnchor(a.dedupKey, domain)))];
  const resolved = d.alarms[0]!.status === 'resolved';
  let subject = rendered.title.replace(/\s+/g, ' ').trim();
  if (subject.length > MAX_SUBJECT) subject = `${subject.slice(0, MAX_SUBJECT - 1)}…`;
  const headers: Record<string, string> = {
    'Message-ID': `<${d.notificationId}@${domain}>`,
    References: anchors.slice(0, MAX_REFERENCES).join(' '),
    ...(resolved && { 'In-Reply-To': anchors[0]! }),
    // RFC 3834: no vacation auto-replies to an alert.
    'Auto-Submitted': 'auto-generated',
    'X-Tocsin-Notification-Id': d.notificationId,
    'X-Tocsin-Status': resolved ? 'resolved' : 'firing',
  };
  return {
    from: s.from,
    to: [...s.to],
    ...(s.cc.length > 0 && { cc: [...s.cc] }),
    subject,
    text: rendered.text,
    ...(rendered.html && { html: rendered.html }),
    headers,
  };
}

// ---- outcomes -----------------------------------------------------------------------------------

/** nodemailer's codes for failures without a reply that no retry can fix. */
const PERMANENT_CODES: Readonly<Record<string, string>> = {
  EENVELOPE: 'invalid sender or recipients',
  EMESSAGE: 'message refused',
  ECONFIG: 'invalid mail configuration',
  EREQUIRETLS: 'REQUIRETLS not supported',
};
/** nodemailer's codes for failures of the connection (the network's own codes go to classifyError). */
const RETRY_CODES: Readonly<Record<string, string>> = {
  ECONNECTION: 'connection closed',
  ESOCKET: 'socket error',
  ETIMEDOUT: 'timeout',
  ETLS: 'TLS failed',
  EDNS: 'DNS lookup failed',
  EPROTOCOL: 'unexpected server reply',
};

/**
 * A rejected send → outcome. Classified by `responseCode` like an HTTP status (4xx retry, 5xx permanent),
 * authentication failures first (permanent unless the server says 4xx: "try again later"), then by `code`.
 */
export function classifyMailError(err: unknown): SendResult {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; responseCode?: unknown; message?: unknown; name?: unknown };
  const code = typeof e.code === 'string' && e.code ? e.code : undefined;
  const rc = typeof e.responseCode === 'number' && e.responseCode >= 100 && e.responseCode <= 599 ? e.responseCode : undefined;
  const text = excerpt(typeof e.message === 'string' ? e.message : String(err)) || 'no reply text';
  const status = rc !== undefined ? { status: rc } : {};
  if (e.name === 'AbortError' || code === 'EABORT') return classifyAbort(err);
  if (code === 'EAUTH' || code === 'ENOAUTH' || rc === 530 || rc === 534 || rc === 535 || rc === 538) {
    const at = rc !== undefined ? ` (SMTP ${rc})` : '';
    if (rc !== undefined && rc < 500) return { outcome: 'retry', ...status, error: `authentication failed${at}, temporarily: ${text}` };
    return { outcome: 'permanent', ...status, error: `authentication failed${at}: ${text}` };
  }
  if (rc !== undefined && rc >= 400 && rc < 500) return { outcome: 'retry', ...status, error: `SMTP ${rc}: ${text}` };
  if (rc !== undefined && rc >= 500) return { outcome: 'permanent', ...status, error: `SMTP ${rc}: ${text}` };
  if (code !== undefined && PERMANENT_CODES[code]) return { outcome: 'permanent', error: `${PERMANENT_CODES[code]} (${code}): ${text}` };
  if (code !== undefined && RETRY_CODES[code]) return { outcome: 'retry', error: `${RETRY_CODES[code]} (${code}): ${text}` };
  return classifyError(err);
}

// ---- the channel --------------------------------------------------------------------------------

/** Renders the three parts; a template that throws names its part. */
function render(renderer: Renderer, d: Delivery): RenderedEmail | { error: string } {
  const out: Partial<Record<TemplatePart, string>> = {};
  for (const part of ['title', 'text', 'html'] as const) {
    try {
      const v = renderer.render(part, d);
      if (v !== undefined) out[part] = v;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return { error: e instanceof TemplateError ? `template error in ${part}: ${why}` : `cannot render ${part}: ${why}` };
    }
  }
  return { title: out.title ?? '', text: out.text ?? '', ...(out.html !== undefined && { html: out.html }) };
}

/** Resolves with the send, or rejects with the signal's reason once it aborts (even if the transport does not). */
async function raced(send: Promise<void>, signal: AbortSignal): Promise<void> {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  send.catch(() => {});
  try {
    await Promise.race([send, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

export function createEmailChannel(method: string, s: EmailSettings, deps: ChannelDeps, renderer: Renderer): Channel {
  const secrets = s.server.password ? [s.server.password] : [];
  let transport: MailTransport | undefined;
  return {
    method,
    async send(d, signal) {
      if (!deps.mail) return { outcome: 'permanent', error: 'no mail transport in this runtime' };
      const rendered = render(renderer, d);
      if ('error' in rendered) return { outcome: 'permanent', error: rendered.error };
      const message = buildEmailMessage(s, rendered, d);
      try {
        transport ??= deps.mail(s.server);
        await raced(transport.send(message, signal), signal);
        return { outcome: 'sent' };
      } catch (err) {
        const r = signal.aborted ? classifyAbort(signal.reason) : classifyMailError(err);
        // The error may end in a cut-off excerpt: a secret cut there is redacted too.
        return r.outcome === 'sent' ? r : { ...r, error: redact(r.error, secrets, { truncated: true }) };
      }
    },
  };
}

export const emailChannel = defineChannel({
  type: 'email',
  summary: 'send an email (subject, text and HTML parts) through an SMTP server, with STARTTLS or TLS and optional login',
  fields: z.strictObject({
    host: z
      .string()
      .regex(/^[^\s/:@]+$|^\[?[0-9A-Fa-f:.]+\]?$/, { error: 'must be a host name or IP address (no scheme, port or path)' })
      .describe('the SMTP server (a host name or IP address)'),
    port: z.number().int().min(1).max(65535).describe('its port: 587 (submission, STARTTLS) by default; 465 with `secure: true`; 25 for a local relay'),
    secure: z.boolean().describe('TLS from the first byte (implicit TLS, usually port 465)'),
    require_tls: z.boolean().describe('without `secure`: upgrade with STARTTLS, and fail if the server does not offer it; `false` sends in plain text (a relay on the same host only)'),
    username: z.string().min(1).optional().describe('the login name (with `password`)'),
    from: address.describe('the sender: `alerts@example.com` or `Tocsin <alerts@example.com>`; its domain also names the message ids'),
    to: z.array(address).min(1, { error: 'must list at least one address' }).describe('the recipients'),
    cc: z.array(address).describe('carbon-copy recipients'),
  }),
  defaults: { port: 587, secure: false, require_tls: true, cc: [] },
  secrets: {
    password: { required: false, description: 'the login password (with `username`); never written to error texts' },
  },
  templates: EMAIL_TEMPLATES,
  settings: (f, s, problem): EmailSettings => {
    const username = f.username;
    const password = s.password;
    if (username !== undefined && password === undefined) problem('password', 'set with username (or password_file): a login needs both');
    if (password !== undefined && username === undefined) problem('username', 'set with password: a login needs both');
    // A password in plain text is for a relay on this host only.
    const host = f.host.replace(/^\[(.*)\]$/, '$1');
    if (password !== undefined && !f.secure && !f.require_tls && !/^(localhost|127(\.\d{1,3}){3}|::1)$/i.test(host)) {
      problem('require_tls', 'false would send the password unencrypted to a remote server: set require_tls: true (STARTTLS) or secure: true (TLS)');
    }
    const server: MailServer = {
      host: f.host.replace(/^\[(.*)\]$/, '$1'),
      port: f.port,
      security: f.secure ? 'tls' : f.require_tls ? 'starttls' : 'none',
      ...(username !== undefined && password !== undefined && {
        username,
        // AUTH PLAIN sends base64("\0user\0password"): a server echoing it is redacted too.
        password: new Secret(password.reveal(), [...password.revealAll().slice(1), `\u0000${username}\u0000${password.reveal()}`]),
      }),
    };
    return { server, from: f.from.trim(), to: f.to.map((a) => a.trim()), cc: f.cc.map((a) => a.trim()) };
  },
  create: (method, settings, deps, renderer) => createEmailChannel(method, settings, deps, renderer),
});
