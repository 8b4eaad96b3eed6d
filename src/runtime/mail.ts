/**
 * @module runtime/mail
 * The runtime's mail transport (the MailTransport port of channels/types) on nodemailer's SMTP transport,
 * the same on Node, Bun and Deno.
 *
 * - nodemailer is imported on the first send, never when this module loads: a relay without an email
 *   method never loads it (test/e2e/lazy-load).
 * - One connection per message (no pool): alerts are few, and an idle pooled connection is one the
 *   server drops under us. The AbortSignal cuts the connection in flight; `close()` cuts every one.
 * - Failures reject with a MailError carrying `responseCode` (the SMTP reply code) and/or `code` (the
 *   network error code when there is one, ECONNREFUSED rather than nodemailer's ESOCKET, else
 *   nodemailer's own: EAUTH, ETIMEDOUT, ETLS, ...), with a one-line message quoting the server's reply.
 * - Carbon copies (MailMessage.cc) are sent as nodemailer's `cc`: the Cc header and recipients of the
 *   envelope, each address as given (a display name with a comma stays whole).
 */
import type { MailMessage, MailServer, MailTransport } from '../channels/types.ts';
import type { SendMailOptions, Transporter } from 'nodemailer';

/** Connection timeouts (ms): TCP/TLS connect, the server's greeting, and inactivity while talking. */
export const MAIL_TIMEOUTS = { connectMs: 10_000, greetingMs: 15_000, socketMs: 30_000 } as const;

/** Options that no config setting reaches: for tests (a test CA) and tuning. */
export interface MailTransportOptions {
  /**
   * TLS options for the server's certificate: a test's own CA, or `rejectUnauthorized: false`. Never
   * set by config; without it the system's trust store verifies the certificate and its name.
   */
  readonly tls?: { readonly ca?: string | Buffer; readonly rejectUnauthorized?: boolean };
  readonly timeouts?: Partial<{ readonly connectMs: number; readonly greetingMs: number; readonly socketMs: number }>;
}

/** A failed send, as the mail channel classifies it. */
export class MailError extends Error {
  /** A network error code (ECONNREFUSED, ENOTFOUND, ...) or nodemailer's (EAUTH, ETIMEDOUT, ETLS, EENVELOPE, ...). */
  readonly code?: string;
  /** The SMTP reply code, when the server answered. */
  readonly responseCode?: number;
  constructor(message: string, fields: { code?: string; responseCode?: number; name?: string }) {
    super(message);
    this.name = fields.name ?? 'MailError';
    if (fields.code !== undefined) this.code = fields.code;
    if (fields.responseCode !== undefined) this.responseCode = fields.responseCode;
  }
}

interface NodemailerError {
  readonly name?: string;
  readonly message?: string;
  readonly code?: string;
  /** The system error's code that nodemailer replaced with its own (ECONNREFUSED under ESOCKET). */
  readonly originalCode?: string;
  readonly responseCode?: number;
  /** The server's reply, e.g. "550 5.1.1 <x@example.com>: no such user". */
  readonly response?: string;
  /** The command it answered, e.g. "RCPT TO", "AUTH PLAIN", "CONN". */
  readonly command?: string;
}

/** nodemailer's error → MailError: the network code first, the reply code, and one line of text. */
export function toMailError(err: unknown): MailError {
  if (err instanceof MailError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as NodemailerError;
  const systemCode = typeof e.originalCode === 'string' && /^E[A-Z_]+$/.test(e.originalCode) ? e.originalCode : undefined;
  const code = systemCode ?? (typeof e.code === 'string' && e.code ? e.code : undefined);
  const responseCode = typeof e.responseCode === 'number' && e.responseCode > 0 ? e.responseCode : undefined;
  let message: string;
  if (responseCode !== undefined && typeof e.response === 'string') {
    // The reply without its code (the channel says the code), and the command it answered.
    const reply = e.response.replace(/^\d{3}[ -]?/, '').trim();
    message = e.command && e.command !== 'CONN' ? `${reply} (${e.command})` : reply;
  } else {
    message = String(e.message ?? 'mail send failed');
  }
  message = message.replace(/\s+/g, ' ').trim() || 'mail send failed';
  return new MailError(message, {
    ...(code !== undefined && { code }),
    ...(responseCode !== undefined && { responseCode }),
    ...(e.name === 'AbortError' && { name: 'AbortError' }),
  });
}

/** The nodemailer message for a MailMessage (pure; exported for tests). */
export function toNodemailerMessage(m: MailMessage, signal: AbortSignal): SendMailOptions {
  return {
    from: m.from,
    to: [...m.to],
    ...(m.cc && m.cc.length > 0 && { cc: [...m.cc] }),
    subject: m.subject,
    text: m.text,
    ...(m.html !== undefined && { html: m.html }),
    headers: { ...m.headers },
    // Our messages never name files or URLs to attach; refuse them should one slip into a field.
    disableFileAccess: true,
    disableUrlAccess: true,
    signal,
  };
}

/**
 * A transport to one SMTP server. `security`: `tls` connects with TLS (465); `starttls` requires the
 * upgrade and fails if the server does not offer it; `none` never upgrades (a loopback relay).
 */
export function createMailTransport(server: MailServer, options: MailTransportOptions = {}): MailTransport {
  let transporter: Promise<Transporter> | undefined;
  // Sends in flight: close() aborts them (each send's own signal is chained to its controller).
  const inFlight = new Set<AbortController>();
  let closed = false;
  const timeouts = { ...MAIL_TIMEOUTS, ...options.timeouts };

  const open = () =>
    (transporter ??= import('nodemailer').then((nodemailer) =>
      nodemailer.createTransport({
        host: server.host,
        port: server.port,
        secure: server.security === 'tls',
        requireTLS: server.security === 'starttls',
        ignoreTLS: server.security === 'none',
        ...(server.username !== undefined && { auth: { user: server.username, pass: server.password?.reveal() ?? '' } }),
        connectionTimeout: timeouts.connectMs,
        greetingTimeout: timeouts.greetingMs,
        socketTimeout: timeouts.socketMs,
        dnsTimeout: timeouts.connectMs,
        ...(options.tls && { tls: { ...options.tls } }),
        logger: false,
      }),
    ));

  return {
    async send(message, signal) {
      if (closed) throw new MailError('the mail transport is closed', { code: 'ECONNECTION' });
      const controller = new AbortController();
      const onAbort = () => controller.abort(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      inFlight.add(controller);
      try {
        const t = await open();
        await t.sendMail(toNodemailerMessage(message, controller.signal));
      } catch (e) {
        throw toMailError(e);
      } finally {
        signal.removeEventListener('abort', onAbort);
        inFlight.delete(controller);
      }
    },
    async close() {
      closed = true;
      for (const c of inFlight) c.abort(new Error('the mail transport was closed'));
      if (transporter) (await transporter.catch(() => undefined))?.close();
    },
  };
}

/** A stable key for a server's settings: transports are shared by methods that name the same server. */
function serverKey(s: MailServer): string {
  return JSON.stringify([s.host, s.port, s.security, s.username ?? null, s.password?.reveal() ?? null]);
}

/**
 * The ChannelDeps.mail factory of a runtime: one transport per distinct server (methods, and the channels
 * a reload builds again, share it), all closed by `close()`.
 */
export function mailTransports(options: MailTransportOptions = {}): { readonly mail: (server: MailServer) => MailTransport; close(): Promise<void> } {
  const open = new Map<string, MailTransport>();
  return {
    mail(server) {
      const key = serverKey(server);
      let t = open.get(key);
      if (!t) open.set(key, (t = createMailTransport(server, options)));
      return t;
    },
    async close() {
      const all = [...open.values()];
      open.clear();
      await Promise.all(all.map((t) => t.close()));
    },
  };
}
