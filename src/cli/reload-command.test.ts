import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reloadCommand, renderReload } from './reload-command.ts';

test('renderReload: the methods added, removed and changed, and what needs a restart', () => {
  assert.equal(
    renderReload({ status: 'reloaded', methods: { added: ['b'], removed: ['c', 'd'], changed: [] }, restart_needed: ['listen', 'data_dir'] }),
    'reloaded the configuration\n  methods added: b\n  methods removed: c, d\n  a restart is needed to apply: listen, data_dir\n',
  );
  assert.equal(renderReload({ status: 'reloaded', methods: { added: [], removed: [], changed: [] }, restart_needed: [] }), 'reloaded the configuration\n  methods: no change\n');
});

test('reload: POST /-/reload; an invalid file prints its issues (exit 1); no config file 409 (exit 1)', async () => {
  let answer: { status: number; body: unknown } = { status: 200, body: { status: 'reloaded', methods: { added: ['x'], removed: [], changed: [] }, restart_needed: [] } };
  const calls: string[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push(`${init?.method} ${new URL(String(input)).pathname}`);
    return Response.json(answer.body, { status: answer.status });
  }) as typeof globalThis.fetch;
  const run = async (json = false) => {
    let stdout = '';
    let stderr = '';
    const code = await reloadCommand({ command: '', values: { url: 'http://relay.test', token: 't', json }, env: {}, usage: 'U\n', fetch, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { code, stdout, stderr };
  };
  const ok = await run();
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, 'reloaded the configuration\n  methods added: x\n');
  assert.deepEqual(calls, ['POST /-/reload']);

  answer = { status: 400, body: { error: 'the configuration file is invalid; keeping the running configuration', code: 'invalid_request', issues: ['methods.a.url: is required', 'routes.0.methods: unknown method "b"'] } };
  const bad = await run();
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '');
  assert.equal(bad.stderr, 'tocsin reload: 400 the configuration file is invalid; keeping the running configuration\n  methods.a.url: is required\n  routes.0.methods: unknown method "b"\n');
  const badJson = await run(true);
  assert.deepEqual(JSON.parse(badJson.stdout), answer.body);

  answer = { status: 409, body: { error: 'tocsin runs on its built-in defaults: there is no config file to reload', code: 'conflict' } };
  const none = await run();
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^tocsin reload: 409 /);
});
