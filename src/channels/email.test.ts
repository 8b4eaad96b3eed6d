/**
 * The email channel without a network: the exact message (subject, text, HTML, headers) for a firing and
 * a resolve, HTML escaping, grouping, the outcome of every kind of transport failure, template errors,
 * settings checks, and that the password never reaches an error text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Alarm } from '../domain/alarm.ts';
import type { Delivery, SendResult } from '../domain/notification.ts';
import { Secret } from '../lib/secret.ts';
import { checkTemplates, createRenderer, type MessageTemplates } from '../render/template.ts';
import { assertNoSecretLeak, networkError } from '../../test/support/channel-kit.ts';
import { buildEmailMessage, checkAddress, classifyMailError, createEmailChannel, EMAIL_TEMPLATES, emailChannel, type EmailSettings } from './email.ts';
import type { ChannelDeps, MailMessage, MailServer, MailTransport } from './types.ts';

const NOW = Date.parse('2024-03-01T12:00:00.500Z');
const USER = 'alerts@example.com';
const PASSWORD = 'pw-9Xq2-secret-Lm4';

const alarm: Alarm = {
  id: 'alm_01HQ00000000000000000000', source: 'zeebe', name: 'IncidentCreated', severity: 'error', status: 'firing',
  summary: 'Job failed', description: 'No retries left.', labels: { env: 'prod', team: 'payments' },
  annotations: { runbook: 'https://runbooks.example/incident' },
  occurredAt: Date.parse('2024-03-01T11:59:00Z'), receivedAt: Date.parse('2024-03-01T11:59:01Z'), dedupKey: 'abc123',
};
const delivery = (alarms: readonly Alarm[] = [alarm]): Delivery => ({
  notificationId: 'ntf_01HQ00000000000000000000', attempt: 1, method: 'ops-mail', createdAt: NOW, remoteRefs: {}, alarms,
});
const resolved: Alarm = { ...alarm, status: 'resolved' };

const server: MailServer = { host: 'smtp.example.com', port: 587, security: 'starttls', username: USER, password: new Secret(PASSWORD) };
const settings: EmailSettings = { server, from: 'Tocsin <alerts@example.com>', to: ['ops@example.com'], cc: ['lead@example.com'] };

/** The anchor of dedup key abc123, computed here independently. */
const ANCHOR = `<alarm.${createHash('sha256').update('abc123').digest('hex').slice(0, 32)}@example.com>`;

/** A transport that records messages and answers each send from a script (resolve, or reject with the error). */
function fakeTransport(script: (unknown | undefined)[] = [undefined]) {
  const sent: MailMessage[] = [];
  const servers: MailServer[] = [];
  const transport: MailTransport = {
    async send(m) {
      sent.push(m);
      const step = script[sent.length - 1];
      if (step !== undefined) throw step;
    },
    async close() {},
  };
  const deps: ChannelDeps = {
    http: async () => assert.fail('no HTTP'),
    clock: { now: () => NOW },
    writeLine: () => {},
    mail: (s) => {
      servers.push(s);
      return transport;
    },
  };
  return { sent, servers, deps };
}

const channel = (deps: ChannelDeps, overrides: MessageTemplates = {}, s: EmailSettings = settings) =>
  createEmailChannel('ops-mail', s, deps, createRenderer(EMAIL_TEMPLATES, overrides, 'UTC'));
const send = (deps: ChannelDeps, d = delivery(), overrides: MessageTemplates = {}) => channel(deps, overrides).send(d, new AbortController().signal);

const EXPECTED_TEXT = `FIRING: IncidentCreated (error)
Job failed

No retries left.

Occurred: 2024-03-01 11:59:00 UTC
Source: zeebe
Dedup key: abc123
Labels: env=prod, team=payments
runbook: https://runbooks.example/incident

-- 
Sent by tocsin (method ops-mail, notification ntf_01HQ00000000000000000000)
`;

const EXPECTED_HTML = `<!DOCTYPE html>
<html><body style="margin:0;padding:16px;background:#f6f8fa;color:#1f2328;font-family:Arial,Helvetica,sans-serif;font-size:14px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:640px;margin:0 auto 16px;background:#ffffff;border:1px solid #d0d7de">
<tr><td style="padding:10px 16px;background:#cf222e;color:#ffffff;font-weight:bold">FIRING · error · IncidentCreated</td></tr>
<tr><td style="padding:12px 16px">
<p style="margin:0 0 8px;font-size:16px"><strong>Job failed</strong></p>
<p style="margin:0 0 8px;white-space:pre-wrap">No retries left.</p>
<table role="presentation" cellpadding="0" cellspacing="0" style="font-size:13px">
<tr><td style="padding:2px 12px 2px 0;color:#57606a">Occurred</td><td>2024-03-01 11:59:00 UTC</td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#57606a">Source</td><td>zeebe</td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#57606a">Dedup key</td><td>abc123</td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#57606a">Labels</td><td>env=prod, team=payments</td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#57606a">runbook</td><td><a href="https://runbooks.example/incident">https://runbooks.example/incident</a></td></tr>
</table>
</td></tr>
</table>
<p style="max-width:640px;margin:0 auto;color:#57606a;font-size:12px">Sent by tocsin (method ops-mail, notification ntf_01HQ00000000000000000000)</p>
</body></html>
`;

test('a firing: the exact message, through the transport for the configured server', async () => {
  const t = fakeTransport();
  assert.deepEqual(await send(t.deps), { outcome: 'sent' });
  assert.deepEqual(t.servers, [server]);
  assert.deepEqual(t.sent, [{
    from: 'Tocsin <alerts@example.com>',
    to: ['ops@example.com'],
    cc: ['lead@example.com'],
    subject: '[FIRING] IncidentCreated (error): Job failed',
    text: EXPECTED_TEXT,
    html: EXPECTED_HTML,
    headers: {
      'Message-ID': '<ntf_01HQ00000000000000000000@example.com>',
      References: ANCHOR,
      'Auto-Submitted': 'auto-generated',
      'X-Tocsin-Notification-Id': 'ntf_01HQ00000000000000000000',
      'X-Tocsin-Status': 'firing',
    },
  }]);
});

test('a resolve: its own subject, text and green HTML, threaded under the firing (In-Reply-To its anchor)', async () => {
  const t = fakeTransport();
  assert.deepEqual(await send(t.deps, delivery([resolved])), { outcome: 'sent' });
  const m = t.sent[0]!;
  assert.equal(m.subject, '[RESOLVED] IncidentCreated (error): Job failed');
  assert.equal(m.text, EXPECTED_TEXT.replace('FIRING:', 'RESOLVED:').replace('Occurred:', 'Resolved:'));
  assert.equal(
    m.html,
    EXPECTED_HTML.replace('background:#cf222e', 'background:#1a7f37').replace('FIRING ·', 'RESOLVED ·').replace('>Occurred<', '>Resolved<'),
  );
  assert.deepEqual(m.headers, {
    'Message-ID': '<ntf_01HQ00000000000000000000@example.com>',
    References: ANCHOR,
    'In-Reply-To': ANCHOR,
    'Auto-Submitted': 'auto-generated',
    'X-Tocsin-Notification-Id': 'ntf_01HQ00000000000000000000',
    'X-Tocsin-Status': 'resolved',
  });
  assert.deepEqual(m.cc, ['lead@example.com']);
});

test('several alarms (grouping): counted in the subject, each in the body, each anchor referenced', async () => {
  const other: Alarm = { ...alarm, name: 'DiskFull', severity: 'warning', summary: undefined, description: undefined, labels: {}, annotations: {}, dedupKey: 'disk-1' };
  const t = fakeTransport();
  await send(t.deps, delivery([alarm, other]));
  const m = t.sent[0]!;
  assert.equal(m.subject, '[FIRING] 2 alarms: IncidentCreated, DiskFull');
  assert.ok(m.text.startsWith('2 alarms firing\n\n[1/2] FIRING: IncidentCreated (error)\nJob failed\n'), m.text);
  assert.ok(m.text.includes('\n[2/2] FIRING: DiskFull (warning)\n\nOccurred: 2024-03-01 11:59:00 UTC\nSource: zeebe\nDedup key: disk-1\n\n-- \n'), m.text);
  assert.equal(m.html!.match(/<table role="presentation" width/g)?.length, 2);
  assert.ok(m.html!.includes('background:#bc4c00;color:#ffffff;font-weight:bold">FIRING · warning · DiskFull<'));
  const diskAnchor = `<alarm.${createHash('sha256').update('disk-1').digest('hex').slice(0, 32)}@example.com>`;
  assert.equal(m.headers!['References'], `${ANCHOR} ${diskAnchor}`);
});

test('HTML escapes every alarm field; only http(s) annotations become links; the subject is one line', async () => {
  const evil: Alarm = {
    ...alarm,
    name: '<script>alert("x")</script>',
    summary: 'a & b <i>',
    description: "it's \"quoted\"",
    labels: { '<k>': '<v>' },
    annotations: { link: 'https://x.example/?a="><img src=x>', js: 'javascript:alert(1)' },
  };
  const t = fakeTransport();
  await send(t.deps, delivery([{ ...evil, summary: 'line one\r\nBcc: victim@example.com' }]));
  assert.equal(t.sent[0]!.subject, '[FIRING] <script>alert("x")</script> (error): line one Bcc: victim@example.com');
  await send(t.deps, delivery([evil]));
  const html = t.sent[1]!.html!;
  assert.ok(!html.includes('<script>') && !html.includes('<i>') && !html.includes('<img') && !html.includes('<k>'), html);
  assert.ok(html.includes('FIRING · error · &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</td>'), html);
  assert.ok(html.includes('<strong>a &amp; b &lt;i&gt;</strong>'));
  assert.ok(html.includes('it&#39;s &quot;quoted&quot;'));
  assert.ok(html.includes('<td>&lt;k&gt;=&lt;v&gt;</td>'));
  assert.ok(html.includes('<a href="https://x.example/?a=&quot;&gt;&lt;img src=x&gt;">'));
  assert.ok(html.includes('<td>javascript:alert(1)</td>'), 'a javascript: URL is text, not a link');
  // The text part is not HTML: nothing escaped.
  assert.ok(t.sent[1]!.text.startsWith('FIRING: <script>alert("x")</script> (error)\na & b <i>\n'));
});

test('the default templates pass the startup check; a method\'s templates replace them; an empty html template sends text only', async () => {
  assert.deepEqual(checkTemplates(EMAIL_TEMPLATES, {}, 'UTC'), []);
  assert.deepEqual(emailChannel.templates, EMAIL_TEMPLATES);
  const t = fakeTransport();
  await send(t.deps, delivery(), { title: 'ALERT <%= it.alarm.name %>', text: 'see <%= it.alarm.dedup_key %>', html: '' });
  assert.deepEqual([t.sent[0]!.subject, t.sent[0]!.text, 'html' in t.sent[0]!], ['ALERT IncidentCreated', 'see abc123', false]);
});

test('a template that throws: permanent, naming the part', async () => {
  const t = fakeTransport([]);
  assert.deepEqual(await send(t.deps, delivery(), { text: 'a\n<% throw new Error("boom") %>' }), {
    outcome: 'permanent',
    error: 'template error in text: line 2: boom',
  });
  assert.equal(t.sent.length, 0);
});

test('no mail transport in this runtime: permanent', async () => {
  const { mail: _, ...deps } = fakeTransport().deps;
  assert.deepEqual(await send(deps), { outcome: 'permanent', error: 'no mail transport in this runtime' });
});

const smtp = (responseCode: number, message: string) => Object.assign(new Error(message), { responseCode });

test('outcomes: SMTP 4xx and connection failures retry, 5xx and authentication failures are permanent', async () => {
  const rows: [string, unknown, SendResult['outcome'], RegExp, number?][] = [
    ['421', smtp(421, '4.3.2 Service shutting down'), 'retry', /^SMTP 421: 4\.3\.2 Service shutting down$/, 421],
    ['451', smtp(451, '4.3.0 Try again later (DATA)'), 'retry', /^SMTP 451: /, 451],
    ['452', smtp(452, '4.3.1 Insufficient system storage'), 'retry', /^SMTP 452: /, 452],
    ['454 auth', Object.assign(smtp(454, '4.7.0 Temporary authentication failure'), { code: 'EAUTH' }), 'retry', /^authentication failed \(SMTP 454\), temporarily: /, 454],
    ['500', smtp(500, '5.5.2 Syntax error'), 'permanent', /^SMTP 500: /, 500],
    ['550', smtp(550, '5.1.1 Mailbox unavailable (RCPT TO)'), 'permanent', /^SMTP 550: 5\.1\.1 Mailbox unavailable \(RCPT TO\)$/, 550],
    ['553', smtp(553, '5.1.3 Bad address'), 'permanent', /^SMTP 553: /, 553],
    ['535', smtp(535, '5.7.8 Authentication credentials invalid'), 'permanent', /^authentication failed \(SMTP 535\): 5\.7\.8/, 535],
    ['EAUTH', Object.assign(new Error('Invalid login'), { code: 'EAUTH' }), 'permanent', /^authentication failed: Invalid login$/],
    ['ECONNREFUSED', networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:25'), 'retry', /^connection refused \(ECONNREFUSED\)$/],
    ['ETIMEDOUT', networkError('ETIMEDOUT', 'Greeting never received'), 'retry', /^timeout \(ETIMEDOUT\): Greeting never received$/],
    ['ECONNECTION', networkError('ECONNECTION', 'Connection closed unexpectedly'), 'retry', /^connection closed \(ECONNECTION\)/],
    ['ETLS', networkError('ETLS', 'STARTTLS failed'), 'retry', /^TLS failed \(ETLS\)/],
    ['EENVELOPE', networkError('EENVELOPE', 'No recipients defined'), 'permanent', /^invalid sender or recipients \(EENVELOPE\)/],
    ['plain Error', new Error('something odd'), 'retry', /^request failed: something odd$/],
  ];
  const wrong: string[] = [];
  for (const [name, err, outcome, error, status] of rows) {
    const r = await send(fakeTransport([err]).deps);
    const text = r.outcome === 'sent' ? '' : r.error;
    if (r.outcome !== outcome || !error.test(text) || r.status !== status) wrong.push(`${name}: ${JSON.stringify(r)}`);
    assert.deepEqual(classifyMailError(err), r, name);
  }
  assert.deepEqual(wrong, []);
});

test('an abort retries, even when the transport ignores the signal', async () => {
  const deps: ChannelDeps = { ...fakeTransport().deps, mail: () => ({ send: () => new Promise<void>(() => {}), close: async () => {} }) };
  const ac = new AbortController();
  const pending = channel(deps).send(delivery(), ac.signal);
  ac.abort(new DOMException('deadline', 'TimeoutError'));
  assert.deepEqual(await pending, { outcome: 'retry', error: 'timeout after request deadline' });
});

test('the password never reaches an error text, in any form a server might echo it in', async () => {
  const problems: string[] = [];
  const s = emailChannel.settings(
    { host: 'smtp.example.com', port: 587, secure: false, require_tls: true, username: USER, from: USER, to: ['ops@example.com'], cc: [] },
    { password: new Secret(PASSWORD) },
    (f, m) => problems.push(`${f}: ${m}`),
  ) as EmailSettings;
  assert.deepEqual(problems, []);
  const plain = Buffer.from(`\u0000${USER}\u0000${PASSWORD}`).toString('base64');
  const echoes = [
    smtp(535, `5.7.8 bad password ${PASSWORD}`),
    smtp(451, `4.3.0 echo ${Buffer.from(PASSWORD).toString('base64')}`),
    smtp(535, `5.7.8 AUTH PLAIN ${plain} refused`),
    Object.assign(new Error(`connect failed for ${encodeURIComponent(PASSWORD)}`), { code: 'ECONNRESET' }),
    new Error(`weird ${JSON.stringify(PASSWORD)}`),
  ];
  for (const err of echoes) {
    const r = await channel(fakeTransport([err]).deps, {}, s).send(delivery(), new AbortController().signal);
    assert.notEqual(r.outcome, 'sent');
    assertNoSecretLeak([PASSWORD, `\u0000${USER}\u0000${PASSWORD}`], { error: r.outcome === 'sent' ? '' : r.error });
  }
});

test('settings: the security mode, login both or neither, defaults', () => {
  const base = { host: 'smtp.example.com', port: 587, secure: false, require_tls: true, from: USER, to: ['ops@example.com'], cc: [] };
  const build = (f: Record<string, unknown>, password?: string) => {
    const problems: string[] = [];
    const s = emailChannel.settings({ ...base, ...f }, { password: password === undefined ? undefined : new Secret(password) }, (k, m) => problems.push(`${k}: ${m}`)) as EmailSettings;
    return { s, problems };
  };
  assert.equal(build({}).s.server.security, 'starttls');
  assert.equal(build({ secure: true, port: 465 }).s.server.security, 'tls');
  assert.equal(build({ require_tls: false }).s.server.security, 'none');
  assert.equal(build({ host: '[::1]' }).s.server.host, '::1');
  assert.deepEqual(build({ username: USER }).problems, ['password: set with username (or password_file): a login needs both']);
  assert.deepEqual(build({}, PASSWORD).problems, ['username: set with password: a login needs both']);
  const ok = build({ username: USER }, PASSWORD);
  assert.deepEqual([ok.problems, ok.s.server.username, ok.s.server.password?.reveal()], [[], USER, PASSWORD]);
  assert.equal(JSON.stringify(ok.s).includes(PASSWORD), false);
  assert.deepEqual(emailChannel.defaults, { port: 587, secure: false, require_tls: true, cc: [] });
});

test('fields: addresses checked loosely; host, port and recipients validated', () => {
  for (const good of ['a@example.com', 'Tocsin <alerts@example.com>', '"Ops, Team" <ops@example.com>', 'root@localhost']) assert.equal(checkAddress(good), undefined, good);
  for (const bad of ['example.com', 'a@', '@b', 'a b@example.com', 'x <a@example.com', 'a@example.com\r\nBcc: b@example.com']) assert.notEqual(checkAddress(bad), undefined, bad);
  const parse = (f: Record<string, unknown>) =>
    emailChannel.fields.safeParse({ host: 'smtp.example.com', port: 587, secure: false, require_tls: true, from: USER, to: ['ops@example.com'], cc: [], ...f }).success;
  assert.equal(parse({}), true);
  assert.equal(parse({ to: [] }), false);
  assert.equal(parse({ to: ['nope'] }), false);
  assert.equal(parse({ cc: ['nope'] }), false);
  assert.equal(parse({ host: 'smtp://smtp.example.com' }), false);
  assert.equal(parse({ port: 0 }), false);
  assert.equal(parse({ password: 'inline' }), false, 'secrets are not fields');
});

test('buildEmailMessage: no carbon copies without cc; a sender without a usable domain', () => {
  const m = buildEmailMessage({ ...settings, from: 'alerts@localhost', cc: [] }, { title: ' a\n b ', text: 't' }, delivery());
  assert.equal(m.subject, 'a b');
  assert.equal(m.cc, undefined);
  assert.equal(m.headers!['Message-ID'], '<ntf_01HQ00000000000000000000@localhost>');
  assert.equal('html' in m, false);
  const long = buildEmailMessage(settings, { title: 'x'.repeat(500), text: '' }, delivery());
  assert.equal(long.subject.length, 200);
});

test('settings: a password sent in plain text (require_tls false, not secure) is refused unless the server is this host', () => {
  const problems = (f: Record<string, unknown>) => {
    const out: string[] = [];
    emailChannel.settings({ port: 25, secure: false, require_tls: false, cc: [], from: 'a@example.com', to: ['b@example.com'], username: 'u', ...f }, { password: new Secret('pw-123456') }, (field, msg) => out.push(`${field}: ${msg}`));
    return out;
  };
  assert.deepEqual(problems({ host: 'smtp.example.com' }), ['require_tls: false would send the password unencrypted to a remote server: set require_tls: true (STARTTLS) or secure: true (TLS)']);
  assert.deepEqual(problems({ host: '127.0.0.1' }), []);
  assert.deepEqual(problems({ host: 'localhost' }), []);
  assert.deepEqual(problems({ host: 'smtp.example.com', require_tls: true }), []);
});

test('carbon copies reach the transport as a list: a display name with a comma stays one address', async () => {
  const { toNodemailerMessage } = await import('../runtime/mail.ts');
  const m = buildEmailMessage({ ...settings, cc: ['"Doe, John" <j@example.com>', 'lead@example.com'] }, { title: 's', text: 't' }, delivery());
  const out = toNodemailerMessage(m, new AbortController().signal);
  assert.deepEqual(out.cc, ['"Doe, John" <j@example.com>', 'lead@example.com']);
  assert.equal((out.headers as Record<string, string>)['Cc'], undefined);
});
