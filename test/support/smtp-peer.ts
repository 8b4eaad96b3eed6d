/**
 * A real SMTP server on 127.0.0.1 for the email channel's tests (the `smtp-server` package): STARTTLS
 * (or implicit TLS) with a self-signed certificate made by `openssl` at test time (Node cannot make an
 * X.509 certificate by itself; `opensslMissing()` says when a test must skip), AUTH PLAIN and LOGIN
 * (offered only once TLS is up) for one test user, and every message it takes recorded raw, with a
 * small parser for its headers and text/HTML parts. A test can have it refuse the next MAIL FROM, RCPT
 * TO or DATA with a reply of its choosing, or refuse every login.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { waitUntil } from './peer-server.ts';

export interface TestCertificate {
  readonly key: string;
  /** PEM; also the CA a client trusts (it is self-signed), for 127.0.0.1 and localhost. */
  readonly cert: string;
}

/** Why `openssl` cannot make a certificate here, or undefined when it can. */
export function opensslMissing(): string | undefined {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? 'openssl is not installed (apt-get install openssl): the SMTP peer needs a test certificate' : undefined;
}

let cached: TestCertificate | undefined;

/** A self-signed certificate for 127.0.0.1 and localhost (P-256, valid 2 days), made once per process. */
export function testCertificate(): TestCertificate {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-smtp-cert-'));
  try {
    const r = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`openssl could not make a test certificate: ${r.error?.message ?? r.stderr}`);
    cached = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A message as the peer took it. */
export interface ReceivedMail {
  /** The envelope (MAIL FROM, RCPT TO). */
  readonly from: string;
  readonly to: readonly string[];
  /** Whether the session was encrypted (STARTTLS or implicit TLS), and who had logged in. */
  readonly secure: boolean;
  readonly user: string | undefined;
  readonly raw: string;
}

/** A login attempt. */
export interface AuthAttempt {
  readonly method: string;
  readonly username: string;
  readonly ok: boolean;
}

export type SmtpStage = 'mail' | 'rcpt' | 'data';

export interface SmtpPeerOptions {
  /** `starttls` (default): plain, upgraded on STARTTLS; `implicit`: TLS from the first byte; `none`: no STARTTLS (refused). */
  readonly tls?: 'starttls' | 'implicit' | 'none';
  /** Take mail without a login (by default a client must log in). */
  readonly authOptional?: boolean;
  readonly user?: string;
  readonly password?: string;
}

export interface SmtpPeer {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The certificate (PEM) a client trusts as its CA. */
  readonly ca: string;
  readonly messages: readonly ReceivedMail[];
  readonly auths: readonly AuthAttempt[];
  /** The next command at `stage` is answered `code message` instead (once). */
  failNext(stage: SmtpStage, code: number, message?: string): void;
  /** Refuse every login (535) while on. */
  rejectAuth(on?: boolean): void;
  /** Resolves true once `n` messages are in, or false after `timeoutMs`. */
  waitForMessages(n: number, timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

const DEFAULT_REPLIES: Readonly<Record<number, string>> = {
  421: '4.3.2 Service shutting down',
  451: '4.3.0 Temporary local problem, try again later',
  452: '4.3.1 Insufficient system storage',
  550: '5.1.1 Mailbox unavailable',
  553: '5.1.3 Bad recipient address syntax',
  554: '5.6.0 Transaction failed',
};

/** An error smtp-server answers with `code message`. */
function reply(code: number, message?: string): Error {
  return Object.assign(new Error(message ?? DEFAULT_REPLIES[code] ?? 'Refused by the test peer'), { responseCode: code });
}

/** Starts the peer on a free loopback port. */
export async function startSmtpPeer(options: SmtpPeerOptions = {}): Promise<SmtpPeer> {
  const { key, cert } = testCertificate();
  const user = options.user ?? 'tocsin-test';
  const password = options.password ?? 'pw-Smtp-7f3a9c1e';
  const mode = options.tls ?? 'starttls';
  const messages: ReceivedMail[] = [];
  const auths: AuthAttempt[] = [];
  const waiters = new Set<() => void>();
  const failures = new Map<SmtpStage, Error>();
  let refuseLogins = false;
  const take = (stage: SmtpStage) => {
    const e = failures.get(stage);
    failures.delete(stage);
    return e;
  };

  const settings: SMTPServerOptions = {
    secure: mode === 'implicit',
    // Not just hidden: nodemailer with requireTLS tries STARTTLS even when the server does not offer it.
    disabledCommands: mode === 'none' ? ['STARTTLS'] : [],
    authOptional: options.authOptional ?? false,
    // Without TLS (mode none) a login goes in plain text: allowed only then.
    allowInsecureAuth: mode === 'none',
    key,
    cert,
    authMethods: ['PLAIN', 'LOGIN'],
    banner: 'tocsin test peer',
    logger: false,
    closeTimeout: 200,
    disableReverseLookup: true,
    onAuth(auth, _session, cb) {
      const ok = !refuseLogins && auth.username === user && auth.password === password;
      auths.push({ method: auth.method, username: auth.username ?? '', ok });
      if (!ok) return cb(reply(535, '5.7.8 Authentication credentials invalid'));
      cb(null, { user: auth.username });
    },
    onMailFrom(_address, _session, cb) {
      cb(take('mail') ?? null);
    },
    onRcptTo(_address, _session, cb) {
      cb(take('rcpt') ?? null);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const failure = take('data');
        if (failure) return cb(failure);
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          secure: session.secure,
          user: typeof session.user === 'string' ? session.user : undefined,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        for (const w of [...waiters]) w();
        cb(null);
      });
    },
  };
  const server = new SMTPServer(settings);
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    user,
    password,
    ca: cert,
    messages,
    auths,
    failNext: (stage, code, message) => void failures.set(stage, reply(code, message)),
    rejectAuth: (on = true) => void (refuseLogins = on),
    waitForMessages: (n, timeoutMs = 5000) => waitUntil(() => messages.length >= n, timeoutMs, waiters, 50),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---- reading a message --------------------------------------------------------------------------

/** Decodes RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`) in a header value. */
export function decodeWords(value: string): string {
  return value.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=(\s+(?==\?))?/g, (_m, _charset: string, enc: string, text: string) =>
    enc.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_q, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'),
  );
}

/** Headers (names lower-cased; unfolded; encoded words decoded) and the raw body of a MIME entity. */
export function parseEntity(raw: string): { headers: Map<string, string>; body: string } {
  const at = raw.indexOf('\r\n\r\n');
  const head = at < 0 ? raw : raw.slice(0, at);
  const body = at < 0 ? '' : raw.slice(at + 4);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), decodeWords(line.slice(colon + 1).trim()));
  }
  return { headers, body };
}

function decodeBody(body: string, encoding: string | undefined): string {
  switch ((encoding ?? '7bit').toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable':
      return Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_q, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
    default:
      return body;
  }
}

/** A received message's headers, and its text and HTML parts (decoded; line ends as sent, CRLF). */
export function readMail(raw: string): { headers: Map<string, string>; text?: string; html?: string } {
  const top = parseEntity(raw);
  const out: { headers: Map<string, string>; text?: string; html?: string } = { headers: top.headers };
  const visit = (entity: { headers: Map<string, string>; body: string }) => {
    const type = entity.headers.get('content-type') ?? 'text/plain';
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
    if (/^multipart\//i.test(type) && boundary) {
      const parts = entity.body.split(`--${boundary}`).slice(1);
      for (const p of parts) {
        if (p.startsWith('--')) break;
        visit(parseEntity(p.replace(/^\r\n/, '').replace(/\r\n$/, '')));
      }
      return;
    }
    const decoded = decodeBody(entity.body, entity.headers.get('content-transfer-encoding'));
    if (/^text\/html/i.test(type)) out.html = decoded;
    else if (/^text\/plain/i.test(type)) out.text = decoded;
  };
  visit(top);
  return out;
}
