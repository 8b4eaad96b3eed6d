import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTestSqlite } from '../../test/support/sqlite-under-test.ts';
import { parseConfig } from '../config/parse.ts';
import type { ChannelDeps, HttpRequest, HttpResponse } from '../channels/types.ts';
import type { WebhookSettings } from '../channels/webhook.ts';
import type { Logger } from '../lib/logger.ts';
import { applyPragmas, type OpenDatabase } from '../outbox/db.ts';
import { migrate } from '../outbox/migrate.ts';
import { MethodsStore } from '../outbox/methods-store.ts';
import { LiveConfig } from './live-config.ts';
import { loadMethodParser, maskSettings, MASK, runtimeMethods, type RuntimeMethods } from './runtime-methods.ts';

const noFiles = (path: string): string => {
  throw new Error(`unexpected read of ${path}`);
};

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function database(): OpenDatabase {
  const o = openTestSqlite(':memory:');
  cleanups.push(() => o.close());
  applyPragmas(o.db, 'FULL');
  migrate(o.db, 0);
  return o;
}

interface Logged {
  level: string;
  fields: Record<string, unknown>;
  msg: string;
}

function logger(): Logger & { records: Logged[] } {
  const records: Logged[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => void records.push({ level, fields, msg });
  return { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Outbound HTTP that records each request and answers with `status` (or throws, for a network error). */
function fakeHttp(answer: (req: HttpRequest) => number | Error) {
  const sent: HttpRequest[] = [];
  const http = async (req: HttpRequest): Promise<HttpResponse> => {
    sent.push(req);
    const a = answer(req);
    if (a instanceof Error) throw a;
    return { status: a, header: () => undefined, bodyExcerpt: `{"echo":${JSON.stringify(req.headers['authorization'] ?? '')}}` };
  };
  return { sent, http };
}

const FILE = `
methods:
  hook: { type: webhook, url: "http://127.0.0.1:1/file", bearer_token: file-token-1 }
routes:
  - methods: [hook]
`;

interface Setup {
  readonly methods: RuntimeMethods;
  readonly live: LiveConfig;
  readonly store: MethodsStore;
  readonly log: ReturnType<typeof logger>;
  readonly sent: HttpRequest[];
  changes: number;
}

function setup(opts: { yaml?: string; db?: OpenDatabase; answer?: (req: HttpRequest) => number | Error; env?: Record<string, string>; beforeWrite?: () => Promise<void> } = {}): Setup {
  const db = opts.db ?? database();
  const store = new MethodsStore(db);
  const { sent, http } = fakeHttp(opts.answer ?? (() => 200));
  const deps: ChannelDeps = { http, clock: { now: () => 1_800_000_000_000 }, writeLine: () => {} };
  const live = new LiveConfig(parseConfig(opts.yaml ?? FILE, {}, noFiles, undefined, { externalMethods: true }), deps);
  const log = logger();
  const s: Setup = {
    live, store, log, sent, changes: 0,
    methods: runtimeMethods({
      store,
      transact: async (write) => {
        await opts.beforeWrite?.();
        return db.raw.transaction(write);
      },
      live,
      changed: () => void s.changes++,
      clock: { now: () => 1_800_000_000_000 },
      scheduler: { after: (ms, fn) => { const t = setTimeout(fn, ms); return { cancel: () => clearTimeout(t) }; } },
      logger: log,
      randomBytes: (n) => new Uint8Array(n).fill(7),
      parser: () => loadMethodParser(opts.env ?? {}),
    }),
  };
  return s;
}

const PAGER = { type: 'webhook', url: 'https://hooks.example.com/pager?key=url-secret-1', bearer_token: 'api-token-1', headers: { 'X-Api-Key': 'header-secret-1' }, max_attempts: 4 };

test('add validates like the config file, stores the method as given, puts it in force, and masks every secret', async () => {
  const s = setup();
  await s.methods.service.start();
  assert.equal(s.changes, 1, 'the start hands the methods over');
  const r = await s.methods.add({ name: 'pager', by: 'ops@host', method: PAGER });
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.method, {
    name: 'pager', type: 'webhook', origin: 'api',
    settings: { url: MASK, headers: { 'X-Api-Key': MASK }, body: 'tocsin', bearerToken: MASK },
    created_at: '2027-01-15T08:00:00.000Z', created_by: 'ops@host',
  });
  assert.equal(s.changes, 2);
  assert.equal(s.live.origin('pager'), 'api');
  assert.ok(s.live.channels().has('pager'));
  assert.equal(s.live.settings('pager').maxAttempts, 4);
  assert.equal((s.live.config.methods.pager!.settings as WebhookSettings).bearerToken!.reveal(), 'api-token-1');
  const row = s.store.get('pager')!;
  assert.deepEqual(JSON.parse(row.settings), PAGER, 'stored as given');
  assert.deepEqual([row.type, row.createdBy, row.createdAt], ['webhook', 'ops@host', 1_800_000_000_000]);

  // The list: file methods first (the built-in log too), then the API's; secrets masked everywhere.
  const list = s.methods.list();
  assert.deepEqual(list.map((m) => [m.name, m.origin]), [['hook', 'file'], ['log', 'file'], ['pager', 'api']]);
  assert.deepEqual(list[0]!.settings, { url: MASK, headers: {}, body: 'tocsin', bearerToken: MASK });
  assert.equal(list[0]!.created_at, null);
  const shown = JSON.stringify([list, s.methods.get('pager')]);
  for (const secret of ['url-secret-1', 'api-token-1', 'header-secret-1', 'file-token-1', 'hooks.example.com']) assert.ok(!shown.includes(secret), secret);
  assert.ok(!JSON.stringify(s.log.records).includes('api-token-1'), 'never logged');
});

test('problems name the field as method.<key>, with the config file’s messages; names follow the config’s rule', async () => {
  const s = setup();
  await s.methods.service.start();
  const problem = async (name: string, method: unknown) => {
    const r = await s.methods.add({ name, method });
    assert.ok(!r.ok);
    return `${r.problem} ${r.field}: ${r.message}`;
  };
  assert.equal(await problem('x', { type: 'webhook', url: 'ftp://nope' }), 'invalid method.url: must be an http(s) URL');
  assert.equal(await problem('x', { type: 'webhook' }), 'invalid method: set exactly one of url or url_file');
  assert.equal(await problem('x', { type: 'pager' }), 'invalid method.type: unknown method type "pager"; expected one of: log, webhook, slack, pagerduty, email');
  assert.equal(await problem('x', { url: 'http://h' }), 'invalid method.type: required; expected one of: log, webhook, slack, pagerduty, email');
  assert.equal(await problem('x', { type: 'webhook', url: 'http://h', colour: 'red' }), 'invalid method.colour: unknown field');
  assert.equal(await problem('x', { type: 'webhook', url: 'http://h', max_attempts: 0 }), 'invalid method.max_attempts: must be a whole number >= 1');
  assert.equal(await problem('x', { type: 'webhook', url: 'http://h', headers: { 'bad name': 'v' } }), 'invalid method.headers.bad name: invalid header name');
  assert.equal(await problem('x', { type: 'email', to: ['a@example.com'] }), 'invalid method.host: required');
  assert.match(await problem('x', { type: 'slack', url: 'https://hooks.slack.com/services/T/B/C', template: { text: '<%= it.nope( %>' } }), /^invalid method\.template\.text: line 1: bad template syntax/);
  // What the file allows but the API does not: ${ENV} and *_file.
  assert.match(await problem('x', { type: 'webhook', url: 'http://h/${HOME}' }), /^invalid method\.url: \$\{\.\.\.\} is not expanded/);
  assert.equal(await problem('x', { type: 'webhook', url_file: 'secrets/url' }), 'invalid method.url_file: a method created through the API reads no file; give the value itself (url), or define the method in the config file');
  assert.match(await problem('x', { type: 'slack', url: 'https://hooks.slack.com/services/T/B/C', template: { text_file: '/etc/passwd' } }), /^invalid method\.template\.text_file: a method created through the API reads no file/);
  assert.equal(await problem('-x', { type: 'log' }), 'invalid name: invalid name; use letters, digits, "_", "." or "-", starting with a letter or digit');
  // A taken name: the file's (log is built in), or the API's.
  assert.equal(await problem('hook', { type: 'log' }), 'conflict name: a method named "hook" exists already (in the config file)');
  assert.equal(await problem('log', { type: 'log' }), 'conflict name: a method named "log" exists already (in the config file)');
  assert.ok((await s.methods.add({ name: 'ops.log', method: { type: 'log' } })).ok);
  assert.equal(await problem('ops.log', { type: 'log' }), 'conflict name: a method named "ops.log" exists already (created through the API)');
  assert.deepEqual(s.store.all().map((r) => r.name), ['ops.log'], 'nothing else was stored');
});

test('a *_file is refused: the API never makes the relay read a file (nothing is stored)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-rtm-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'token');
  writeFileSync(file, 'file-secret-9\n');
  const s = setup();
  await s.methods.service.start();
  const r = await s.methods.add({ name: 'filed', method: { type: 'webhook', url: 'http://127.0.0.1:1/x', bearer_token_file: file } });
  assert.ok(!r.ok);
  assert.equal(r.field, 'method.bearer_token_file');
  assert.ok(!JSON.stringify(r).includes('file-secret-9'));
  assert.deepEqual(s.store.all(), []);
});

test('remove: unknown 404, a file method or one a route names is a conflict; removed, it is out of force and of the database', async () => {
  const s = setup({ yaml: `${FILE}  - methods: [pager]\n` });
  s.store.insert({ name: 'pager', type: 'log', settings: '{"type":"log"}', createdAt: 1, createdBy: null, updatedAt: 1 });
  await s.methods.service.start();
  await s.methods.add({ name: 'spare', method: { type: 'log' } });
  assert.deepEqual(await s.methods.remove('nope'), { ok: false, problem: 'unknown', message: 'no such method' });
  assert.deepEqual(await s.methods.remove('hook'), { ok: false, problem: 'conflict', message: 'the method "hook" is defined in the config file; edit the file' });
  assert.deepEqual(await s.methods.remove('pager'), {
    ok: false, problem: 'conflict', message: 'the method "pager" is still named at routes[1].methods[0] in the config file; remove it there first',
  });
  const before = s.changes;
  assert.deepEqual(await s.methods.remove('spare'), { ok: true });
  assert.equal(s.changes, before + 1);
  assert.equal(s.live.channels().has('spare'), false);
  assert.equal(s.methods.get('spare'), undefined);
  assert.deepEqual(s.store.all().map((r) => r.name), ['pager']);
});

test('a restart puts the stored methods in force again; a route naming a method nobody defines fails the start', async () => {
  const db = database();
  const first = setup({ db });
  await first.methods.service.start();
  assert.ok((await first.methods.add({ name: 'pager', by: 'ops@host', method: PAGER })).ok);

  const yaml = `${FILE}  - methods: [pager]\n`;
  const second = setup({ db, yaml });
  assert.equal(second.live.channels().has('pager'), false, 'not before the start');
  await second.methods.service.start();
  assert.ok(second.live.channels().has('pager'));
  assert.deepEqual(second.methods.get('pager')?.created_by, 'ops@host');
  assert.equal(second.methods.get('pager')?.created_at, '2027-01-15T08:00:00.000Z');

  const other = setup({ yaml: `${FILE}  - methods: [log]\n  - methods: [log, missing]\n` });
  await assert.rejects(async () => other.methods.service.start(), {
    name: 'ConfigError',
    message: 'routes[2].methods[1]: unknown method "missing"; define it under methods or create it with `tocsin methods add`',
  });
});

test('a stored method that no longer validates is left out and logged (without its settings); it can be removed', async () => {
  const db = database();
  const s0 = setup({ db });
  s0.store.insert({ name: 'stale', type: 'webhook', settings: JSON.stringify({ type: 'webhook', url: 'http://127.0.0.1:1/x', colour: 'red', bearer_token: 'stale-token-1' }), createdAt: 1, createdBy: null, updatedAt: 1 });
  const s = setup({ db });
  await s.methods.service.start();
  assert.equal(s.live.channels().has('stale'), false);
  const logged = s.log.records.find((r) => r.level === 'error')!;
  assert.equal(logged.fields.method, 'stale');
  assert.match(String((logged.fields.issues as string[])[0]), /^method\.colour: unknown field/);
  assert.ok(!JSON.stringify(s.log.records).includes('stale-token-1'));
  assert.equal((await s.methods.add({ name: 'stale', method: { type: 'log' } })).ok, false, 'its name stays taken');
  assert.deepEqual(await s.methods.remove('stale'), { ok: true });
  assert.deepEqual(s.store.all(), []);
  assert.ok((await s.methods.add({ name: 'stale', method: { type: 'log' } })).ok);
});

test('test sends one labelled notification through the method and reports the outcome, never a secret', async () => {
  let status = 202;
  const s = setup({ answer: () => status });
  await s.methods.service.start();
  await s.methods.add({ name: 'pager', method: PAGER });
  const ok = await s.methods.test('pager');
  assert.ok(ok?.ok);
  assert.equal(ok.status, 202);
  assert.ok(Number.isInteger(ok.latency_ms));
  assert.equal(s.sent.length, 1);
  const body = JSON.parse(s.sent[0]!.body);
  assert.equal(body.alarm.name, 'TocsinTestNotification');
  assert.equal(body.alarm.labels.method, 'pager');
  assert.equal(s.sent[0]!.headers['authorization'], 'Bearer api-token-1');

  status = 503;
  const failed = await s.methods.test('pager');
  assert.deepEqual(failed && { ok: failed.ok, retryable: !failed.ok && failed.retryable }, { ok: false, retryable: true });
  status = 400;
  const permanent = await s.methods.test('pager');
  assert.ok(permanent && !permanent.ok && !permanent.retryable);
  assert.match(permanent.error, /400/);
  for (const r of [failed, permanent]) for (const secret of ['api-token-1', 'url-secret-1']) assert.ok(!JSON.stringify(r).includes(secret), secret);

  // A file method can be tested too; an unknown one is undefined (404).
  status = 200;
  assert.equal((await s.methods.test('hook'))?.ok, true);
  assert.equal(await s.methods.test('nope'), undefined);
  assert.equal(s.store.all().length, 1, 'a test writes nothing');
});

test('maskSettings: Secrets and header values become "***"; the rest is shown as it is', async () => {
  const { Secret } = await import('../lib/secret.ts');
  assert.deepEqual(
    maskSettings({ url: new Secret('u'), to: ['a@example.com'], port: 25, tls: true, headers: { A: 'x' }, auth: { password: new Secret('p'), user: 'me' }, fn: () => 1 }),
    { url: MASK, to: ['a@example.com'], port: 25, tls: true, headers: { A: MASK }, auth: { password: MASK, user: 'me' } },
  );
  // A plain-string URL with credentials (PagerDuty's url, client_url) is masked too; one without is shown.
  assert.deepEqual(
    maskSettings({ url: 'https://user:pd-pass-1@events.example.com/v2/enqueue', client_url: 'https://ops.example.com/runbook', note: 'a:b@c' }),
    { url: MASK, client_url: 'https://ops.example.com/runbook', note: 'a:b@c' },
  );
});

test('a reload while a method is being removed or added sees it as the API will have it: never a route naming a method that is not stored', async () => {
  let gate: Promise<void> = Promise.resolve();
  const s = setup({ beforeWrite: () => gate });
  await s.methods.service.start();
  assert.ok((await s.methods.add({ name: 'pager', method: { type: 'log' } })).ok);
  const naming = parseConfig(`${FILE}  - methods: [pager]\n`, {}, noFiles, undefined, { externalMethods: true });

  // Removing: out of force before the write, so the reload that names it is refused.
  let open!: () => void;
  gate = new Promise<void>((r) => (open = r));
  const removing = s.methods.remove('pager');
  await new Promise((r) => setTimeout(r, 10));
  assert.throws(() => s.live.reload(naming), { name: 'ConfigError', message: /unknown method "pager"/ });
  open();
  assert.deepEqual(await removing, { ok: true });
  assert.deepEqual(s.store.all(), []);

  // Adding: in force before the write, so a reload meanwhile that names it is taken, and it is stored.
  gate = new Promise<void>((r) => (open = r));
  const adding = s.methods.add({ name: 'pager', method: { type: 'log' } });
  await new Promise((r) => setTimeout(r, 10));
  s.live.reload(naming);
  open();
  assert.ok((await adding).ok);
  assert.deepEqual(s.store.all().map((r) => r.name), ['pager']);
});

test('a stored method that a file method of the same name shadows can be removed: the stored one goes, the file one stays in force', async () => {
  const db = database();
  const s0 = setup({ db });
  await s0.methods.service.start();
  assert.ok((await s0.methods.add({ name: 'pager', method: { type: 'log' } })).ok);
  // The file comes to define the name (a later edit): its method wins.
  const s = setup({ db, yaml: FILE.replace('methods:\n', 'methods:\n  pager: { type: log }\n') });
  await s.methods.service.start();
  assert.equal(s.live.origin('pager'), 'file');
  assert.deepEqual(await s.methods.remove('pager'), { ok: true });
  assert.deepEqual(s.store.all(), []);
  assert.equal(s.live.origin('pager'), 'file', 'the file method stays');
  assert.ok(s.live.channels().has('pager'));
  assert.equal((await s.methods.remove('pager')).ok, false, 'now only the file method is left: a conflict');
});
