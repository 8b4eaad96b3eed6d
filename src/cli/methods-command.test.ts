import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMethod, methodsCommand, type MethodItem, type MethodsCommandOptions } from './methods-command.ts';

const TOKEN = 'adm-methods-1234';
const HOOK_URL = 'https://hooks.example.com/T000/secret-path';

/** The methods part of the admin API contract over a map: file methods read-only, secrets masked. */
function methodsApi() {
  const methods = new Map<string, MethodItem>([
    ['log', { name: 'log', type: 'log', origin: 'file', settings: {}, created_at: null, created_by: null }],
    ['ops-hook', { name: 'ops-hook', type: 'webhook', origin: 'file', settings: { url: '***', timeout: '5s' }, created_at: null, created_by: null }],
  ]);
  const requests: { method: string; path: string; body: unknown }[] = [];
  const err = (status: number, code: string, error: string, field?: string) => Response.json({ error, code, ...(field && { field }) }, { status });
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const body = init?.body === undefined ? undefined : JSON.parse(String(init.body));
    const verb = init?.method ?? 'GET';
    requests.push({ method: verb, path: url.pathname, body });
    if (new Headers(init?.headers).get('authorization') !== `Bearer ${TOKEN}`) return err(401, 'unauthorized', 'unknown admin token');
    const [, name, test] = /^\/api\/v1\/methods(?:\/([^/]+))?(\/test)?$/.exec(url.pathname) ?? [];
    const m = name === undefined ? undefined : methods.get(decodeURIComponent(name));
    if (verb === 'GET' && name === undefined) return Response.json({ items: [...methods.values()] });
    if (verb === 'GET') return m ? Response.json(m) : err(404, 'not_found', 'no such method');
    if (verb === 'POST' && test) {
      if (!m) return err(404, 'not_found', 'no such method');
      return Response.json(m.type === 'log' ? { ok: true, status: null, latency_ms: 1 } : { ok: false, error: 'HTTP 503: unavailable', retryable: true });
    }
    if (verb === 'POST') {
      const b = body as { name: string; by?: string; method: Record<string, unknown> };
      if (methods.has(b.name)) return err(409, 'conflict', `a method named "${b.name}" exists already`, 'name');
      if (b.method.type === 'webhook' && typeof b.method.url !== 'string') return err(400, 'invalid_request', 'method.url: is required', 'method.url');
      const item = { name: b.name, type: String(b.method.type), origin: 'api', settings: { ...b.method, url: '***' }, created_at: '2026-12-01T12:00:00.000Z', created_by: b.by ?? null };
      methods.set(b.name, item);
      return Response.json(item, { status: 201 });
    }
    if (verb === 'DELETE') {
      if (!m) return err(404, 'not_found', 'no such method');
      if (m.origin === 'file') return err(409, 'conflict', 'defined in the config file; edit the file');
      methods.delete(m.name);
      return new Response(null, { status: 204 });
    }
    return err(404, 'not_found', 'not found');
  }) as typeof globalThis.fetch;
  return { fetch, requests, methods };
}

async function run(opts: Partial<MethodsCommandOptions> & Pick<MethodsCommandOptions, 'command'>, api: { fetch: typeof fetch }) {
  let stdout = '';
  let stderr = '';
  const code = await methodsCommand({
    args: [], usage: 'USAGE\n', env: { USER: 'carol' }, hostname: () => 'desk', style: {}, fetch: api.fetch,
    stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), ...opts, values: { url: 'http://relay.test', token: TOKEN, ...opts.values },
  });
  return { code, stdout, stderr };
}

test('buildMethod: --file, then --type, then --set as YAML scalars (dotted keys nest; #text stays text)', async () => {
  const files: Record<string, string> = { 'm.yaml': 'type: slack\nchannel: "#ops"\ndelivery:\n  max_attempts: 3\n' };
  const read = (p: string) => {
    if (!(p in files)) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return files[p]!;
  };
  const built = await buildMethod({ file: 'm.yaml', type: 'webhook', set: ['url=https://x.example/h?a=1', 'delivery.timeout=5s', 'delivery.max_attempts=7', 'verify=false', 'channel=#alerts', 'note=null', 'empty='] }, read);
  assert.deepEqual(built, {
    ok: true,
    method: { type: 'webhook', channel: '#alerts', delivery: { max_attempts: 7, timeout: '5s' }, url: 'https://x.example/h?a=1', verify: false, note: null, empty: '' },
  });
  assert.deepEqual(await buildMethod({ set: ['url=x'] }, read), { ok: false, problem: "the method's type is required: --type T (webhook, slack, pagerduty, email, ...) or type: in --file" });
  assert.deepEqual(await buildMethod({ type: 'w', set: ['url'] }, read), { ok: false, problem: '--set must be KEY=VALUE, not "url"' });
  assert.deepEqual(await buildMethod({ type: 'w', set: ['a=1', 'a.b=2'] }, read), { ok: false, problem: '--set a.b: "a" is not a mapping' });
  assert.deepEqual(await buildMethod({ file: 'nope.yaml' }, read), { ok: false, problem: '--file nope.yaml: ENOENT' });
  files['list.yaml'] = '- a\n';
  assert.equal((await buildMethod({ file: 'list.yaml' }, read)).ok, false);
});

test('methods list and show: secrets masked as the relay sends them; show prints each setting', async () => {
  const api = methodsApi();
  const list = await run({ command: 'list' }, api);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^NAME\s+TYPE\s+ORIGIN\s+CREATED\s+CREATED BY\s+SETTINGS$/m);
  assert.match(list.stdout, /^ops-hook\s+webhook\s+file\s+-\s+-\s+url=\*\*\*, timeout=5s$/m);
  const show = await run({ command: 'show', args: ['ops-hook'] }, api);
  assert.equal(show.stdout, 'name:       ops-hook\ntype:       webhook\norigin:     file\ncreated at: -\ncreated by: -\nsettings:\n  url: ***\n  timeout: 5s\n');
  const asJson = await run({ command: 'show', args: ['ops-hook'], values: { json: true } }, api);
  assert.equal((JSON.parse(asJson.stdout) as MethodItem).origin, 'file');
});

test('methods add sends {name, by, method}; the relay\'s 400 and 409 exit 1 in its words; the secret never printed', async () => {
  const api = methodsApi();
  const added = await run({ command: 'add', args: ['team-hook'], values: { type: 'webhook', set: [`url=${HOOK_URL}`] } }, api);
  assert.equal(added.code, 0, added.stderr);
  assert.equal(added.stdout, 'added team-hook (webhook)\n');
  assert.deepEqual(api.requests.at(-1), { method: 'POST', path: '/api/v1/methods', body: { name: 'team-hook', by: 'carol@desk', method: { type: 'webhook', url: HOOK_URL } } });
  const taken = await run({ command: 'add', args: ['ops-hook'], values: { type: 'webhook', set: [`url=${HOOK_URL}`] } }, api);
  assert.equal(taken.code, 1);
  assert.equal(taken.stderr, 'tocsin methods add: 409 a method named "ops-hook" exists already\n');
  const invalid = await run({ command: 'add', args: ['x'], values: { type: 'webhook' } }, api);
  assert.equal(invalid.code, 1);
  assert.equal(invalid.stderr, 'tocsin methods add: 400 method.url: is required\n');
  for (const r of [added, taken, invalid]) assert.ok(!r.stdout.includes(HOOK_URL) && !r.stderr.includes(HOOK_URL));
  const noName = await run({ command: 'add', values: { type: 'webhook' } }, api);
  assert.equal(noName.code, 2);
  assert.ok(noName.stderr.startsWith("tocsin methods add: the method's NAME is required"));
});

test('methods remove: 204 → removed; a file method is refused (409, exit 1); unknown 404', async () => {
  const api = methodsApi();
  await run({ command: 'add', args: ['tmp'], values: { type: 'webhook', set: ['url=https://a.example/'] } }, api);
  const removed = await run({ command: 'remove', args: ['tmp'] }, api);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(removed.stdout, 'removed tmp\n');
  assert.ok(!api.methods.has('tmp'));
  const file = await run({ command: 'remove', args: ['ops-hook'] }, api);
  assert.equal(file.code, 1);
  assert.equal(file.stderr, 'tocsin methods remove: 409 defined in the config file; edit the file\n');
  const unknown = await run({ command: 'remove', args: ['nope'] }, api);
  assert.equal(unknown.stderr, 'tocsin methods remove: 404 no such method\n');
});

test('test-method through the relay: sent → exit 0; not sent → exit 1 with the error; a refused token → 4', async () => {
  const api = methodsApi();
  const sent = await run({ command: 'test', args: ['log'] }, api);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal(sent.stdout, 'log: sent (1 ms)\n');
  assert.equal(api.requests.at(-1)!.path, '/api/v1/methods/log/test');
  const failed = await run({ command: 'test', args: ['ops-hook'] }, api);
  assert.equal(failed.code, 1);
  assert.equal(failed.stderr, 'ops-hook: failed, would be retried: HTTP 503: unavailable\n');
  const unknown = await run({ command: 'test', args: ['nope'] }, api);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, 'tocsin test-method: 404 no such method\n');
  const denied = await run({ command: 'test', args: ['log'], values: { token: 'bad' } }, api);
  assert.equal(denied.code, 4);
});
