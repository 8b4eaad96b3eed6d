/**
 * The email channel, built from its descriptor, on the runtime's real mail transport (nodemailer) against
 * a real SMTP server (test/support/smtp-peer): STARTTLS and login, implicit TLS, what the server
 * receives, and how its refusals, an unreachable or silent server and an abort come out, the password
 * in no error text.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { emailChannel, buildEmailMessage, type EmailSettings } from '../../src/channels/email.ts';
import { guardChannel } from '../../src/channels/registry.ts';
import type { Channel, ChannelDeps } from '../../src/channels/types.ts';
import type { Alarm } from '../../src/domain/alarm.ts';
import type { Delivery, SendResult } from '../../src/domain/notification.ts';
import { Secret, secretsIn } from '../../src/lib/secret.ts';
import { createRenderer } from '../../src/render/template.ts';
import { createMailTransport, mailTransports, type MailTransportOptions } from '../../src/runtime/mail.ts';
import { assertNoSecretLeak } from '../support/channel-kit.ts';
import { needs } from '../support/peers.ts';
import { opensslMissing, readMail, startSmtpPeer, type SmtpPeer, type SmtpPeerOptions } from '../support/smtp-peer.ts';

const alarm: Alarm = {
  id: 'alm_01HQ00000000000000000000', source: 'zeebe', name: 'IncidentCreated', severity: 'error', status: 'firing',
  summary: 'Job failed', description: 'No retries left · café', labels: { env: 'prod' }, annotations: { runbook: 'https://runbooks.example/incident' },
  occurredAt: Date.parse('2024-03-01T11:59:00Z'), receivedAt: Date.parse('2024-03-01T11:59:01Z'), dedupKey: 'abc123',
};
const delivery = (notificationId = 'ntf_01HQ00000000000000000001'): Delivery => ({
  notificationId, attempt: 1, method: 'ops-mail', createdAt: Date.now(), remoteRefs: {}, alarms: [alarm],
});

/** The channel as the registry builds it (descriptor settings, default templates, guarded). */
function emailMethod(fields: Record<string, unknown>, password: string | undefined, transport: MailTransportOptions): { channel: Channel; settings: EmailSettings } {
  const problems: string[] = [];
  const settings = emailChannel.settings(
    { port: 587, secure: false, require_tls: true, cc: [], from: 'Tocsin <alerts@example.com>', to: ['ops@example.com'], ...fields },
    { password: password === undefined ? undefined : new Secret(password) },
    (f, m) => problems.push(`${f}: ${m}`),
  ) as EmailSettings;
  assert.deepEqual(problems, []);
  const deps: ChannelDeps = {
    http: async () => assert.fail('no HTTP'),
    clock: { now: () => Date.now() },
    writeLine: () => {},
    mail: (server) => createMailTransport(server, transport),
  };
  const renderer = createRenderer(emailChannel.templates!, {}, 'UTC');
  return { channel: guardChannel(emailChannel.create('ops-mail', settings, deps, renderer), secretsIn(settings)), settings };
}

/** A peer for this test (closed after it), or undefined when the test skips. */
async function peer(t: TestContext, options?: SmtpPeerOptions): Promise<SmtpPeer | undefined> {
  if (!needs(t, opensslMissing())) return undefined;
  const p = await startSmtpPeer(options);
  t.after(() => p.close());
  return p;
}

/** The channel, logging in to the peer, trusting its certificate. */
const loggedIn = (p: SmtpPeer, fields: Record<string, unknown> = {}, password = p.password) =>
  emailMethod({ host: '127.0.0.1', port: p.port, username: p.user, cc: ['lead@example.com'], ...fields }, password, { tls: { ca: p.ca } });

const send = (c: Channel, d = delivery()) => c.send(d, AbortSignal.timeout(10_000));
const errorOf = (r: SendResult) => (r.outcome === 'sent' ? '' : r.error);
const crlf = (s: string) => s.replace(/\r\n/g, '\n');

test('STARTTLS and login: the server gets the message as built, subject, text, HTML and headers', async (t) => {
  const p = await peer(t);
  if (!p) return;
  const { channel, settings } = loggedIn(p);
  assert.deepEqual(await send(channel), { outcome: 'sent' });
  assert.equal(p.messages.length, 1);
  const got = p.messages[0]!;
  assert.deepEqual([got.secure, got.user, got.from, got.to], [true, p.user, 'alerts@example.com', ['ops@example.com', 'lead@example.com']]);
  assert.deepEqual(p.auths.map((a) => a.ok), [true]);

  const renderer = createRenderer(emailChannel.templates!, {}, 'UTC');
  const d = delivery();
  const built = buildEmailMessage(settings, { title: renderer.render('title', d)!, text: renderer.render('text', d)!, html: renderer.render('html', d)! }, d);
  const mail = readMail(got.raw);
  const h = mail.headers;
  assert.equal(h.get('subject'), built.subject);
  assert.equal(h.get('from'), 'Tocsin <alerts@example.com>');
  assert.equal(h.get('to'), 'ops@example.com');
  assert.equal(h.get('cc'), 'lead@example.com');
  for (const name of ['Message-ID', 'References', 'Auto-Submitted', 'X-Tocsin-Notification-Id', 'X-Tocsin-Status']) {
    assert.equal(h.get(name.toLowerCase()), built.headers![name], name);
  }
  assert.equal(h.get('message-id'), '<ntf_01HQ00000000000000000001@example.com>');
  assert.equal(crlf(mail.text ?? ''), built.text);
  assert.equal(crlf(mail.html ?? ''), built.html);
  assert.ok(mail.text?.includes('No retries left · café'), 'UTF-8 survives');
});

test('implicit TLS (secure: true)', async (t) => {
  const p = await peer(t, { tls: 'implicit' });
  if (!p) return;
  const { channel } = loggedIn(p, { secure: true });
  assert.deepEqual(await send(channel), { outcome: 'sent' });
  assert.deepEqual([p.messages[0]?.secure, p.messages[0]?.user], [true, p.user]);
});

test('a refused login: permanent, "authentication failed", nothing sent, the password in no error text', async (t) => {
  const p = await peer(t);
  if (!p) return;
  const wrong = 'wrong-Pw-42-zzz';
  const bad = await send(loggedIn(p, {}, wrong).channel);
  p.rejectAuth();
  const refused = await send(loggedIn(p).channel);
  for (const r of [bad, refused]) {
    assert.equal(r.outcome, 'permanent', JSON.stringify(r));
    assert.match(errorOf(r), /^authentication failed \(SMTP 535\): /);
    assert.equal(r.status, 535);
  }
  assert.equal(p.messages.length, 0);
  assertNoSecretLeak([wrong, p.password], { bad: errorOf(bad), refused: errorOf(refused) });
});

test('SMTP replies: 451 (RCPT or DATA) retries, 550 (RCPT) and 554 (DATA) are permanent', async (t) => {
  const p = await peer(t);
  if (!p) return;
  const { channel } = loggedIn(p, { cc: [] });
  const cases: [Parameters<SmtpPeer['failNext']>, SendResult['outcome'], RegExp][] = [
    [['rcpt', 451], 'retry', /^SMTP 451: 4\.3\.0 Temporary local problem, try again later/],
    [['data', 451], 'retry', /^SMTP 451: 4\.3\.0 Temporary local problem, try again later \(DATA\)$/],
    [['rcpt', 550], 'permanent', /^SMTP 550: 5\.1\.1 Mailbox unavailable \(RCPT TO\)$/],
    [['data', 554], 'permanent', /^SMTP 554: 5\.6\.0 Transaction failed \(DATA\)$/],
    [['mail', 421], 'retry', /^SMTP 421: /],
  ];
  const errors: Record<string, string> = {};
  for (const [[stage, code], outcome, error] of cases) {
    p.failNext(stage, code);
    const r = await send(channel);
    assert.equal(r.outcome, outcome, `${stage} ${code}: ${JSON.stringify(r)}`);
    assert.equal(r.status, code);
    assert.match(errorOf(r), error);
    errors[`${stage} ${code}`] = errorOf(r);
  }
  assert.equal(p.messages.length, 0);
  assertNoSecretLeak([p.password], errors);
  // And then it goes through.
  assert.deepEqual(await send(channel), { outcome: 'sent' });
});

test('STARTTLS required but refused: permanent (the server says so); an untrusted certificate: retry, saying why', async (t) => {
  const plain = await peer(t, { tls: 'none' });
  if (!plain) return;
  const r = await send(loggedIn(plain).channel);
  assert.deepEqual(r, { outcome: 'permanent', status: 500, error: 'SMTP 500: Error: command not recognized (STARTTLS)' });
  assert.deepEqual([plain.auths.length, plain.messages.length], [0, 0], 'no login and no mail without TLS');

  const p = await peer(t);
  if (!p) return;
  const untrusted = emailMethod({ host: '127.0.0.1', port: p.port, username: p.user }, p.password, {});
  const u = await send(untrusted.channel);
  assert.equal(u.outcome, 'retry');
  assert.match(errorOf(u), /^socket error \(ESOCKET\): .*certificate/i);
  assertNoSecretLeak([p.password], { notOffered: errorOf(r), untrusted: errorOf(u) });
});

test('without TLS (require_tls: false) the transport never upgrades', async (t) => {
  const p = await peer(t, { authOptional: true });
  if (!p) return;
  const { channel } = emailMethod({ host: '127.0.0.1', port: p.port, require_tls: false }, undefined, {});
  assert.deepEqual(await send(channel), { outcome: 'sent' });
  assert.deepEqual([p.messages[0]?.secure, p.messages[0]?.user], [false, undefined]);
});

test('an unreachable server retries: connection refused', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const { channel } = emailMethod({ host: '127.0.0.1', port }, undefined, {});
  const r = await send(channel);
  assert.deepEqual(r, { outcome: 'retry', error: 'connection refused (ECONNREFUSED)' });
});

test('a server that never greets: the deadline aborts the send and closes the connection; close() cuts a send too', async (t) => {
  const sockets = new Set<Socket>();
  let closed = 0;
  const silent = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => closed++);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const port = (silent.address() as AddressInfo).port;
  const { channel } = emailMethod({ host: '127.0.0.1', port }, undefined, {});
  const started = Date.now();
  const r = await channel.send(delivery(), AbortSignal.timeout(300));
  assert.deepEqual(r, { outcome: 'retry', error: 'timeout after request deadline' });
  assert.ok(Date.now() - started < 5000);
  await waitFor(() => closed === 1, 'the aborted connection was closed');

  const pool = mailTransports();
  const pending = pool.mail({ host: '127.0.0.1', port, security: 'none' }).send(
    { from: 'a@example.com', to: ['b@example.com'], subject: 's', text: 't' },
    new AbortController().signal,
  );
  await waitFor(() => sockets.size === 2, 'the second send connected');
  await pool.close();
  await assert.rejects(pending, { name: 'AbortError' });
  await waitFor(() => closed === 2, 'close() closed the connection');
});

async function waitFor(pred: () => boolean, what: string, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
