/**
 * SIGHUP reloads the configuration on every target: methods, routes and sources swap without a restart,
 * an invalid file is logged and the running configuration kept, restart-only settings are named, and a
 * relay running on its built-in defaults shrugs a SIGHUP off (the default action would end it: exit 129).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { freePort, REPO_ROOT, RELAY_TARGETS, sinkRelayConfig, startRelay, waitForLogLine, type RelayProcess } from './relay-process.ts';
import { startWebhookSink } from './webhook-sink.ts';

async function post(relay: RelayProcess, name: string, token?: string): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${relay.baseUrl}/v1/alarms`, { method: 'POST', headers, body: JSON.stringify({ name }) });
  await res.arrayBuffer();
  return res.status;
}

for (const target of RELAY_TARGETS) {
  test(`${target}: SIGHUP swaps methods, routes and sources; a bad file is refused; the relay keeps running`, { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), `tocsin-reload-${target}-`));
    const first = await startWebhookSink();
    const second = await startWebhookSink();
    let relay: RelayProcess | undefined;
    try {
      const port = await freePort();
      const yaml = sinkRelayConfig(port, dataDir, first.url);
      relay = await startRelay({ configYaml: yaml, dataDir, target });
      assert.equal(await post(relay, 'BeforeReload'), 202);
      assert.ok(await first.waitUntil(() => first.counts().uniqueAlarms === 1, 30_000), 'delivered to the first sink');

      // New method and route, a source (auth on from now), and a restart-only change (ingest).
      const next = [
        sinkRelayConfig(port, dataDir, first.url).replace('routes:\n  - methods: [sink]', 'routes:\n  - methods: [other]'),
        'sources:',
        '  ops: { token: reload-token-1 }',
        'ingest: { max_batch: 10 }',
        '',
      ].join('\n').replace('methods:\n', `methods:\n  other: { type: webhook, url: ${JSON.stringify(second.url)}, backoff_base: 50ms }\n`);
      writeFileSync(relay.configFile, next);
      let seen = relay.logLines().length;
      relay.proc.kill('SIGHUP');
      const reloaded = await waitForLogLine(relay, 'configuration reloaded', seen);
      assert.deepEqual(reloaded.methods, { added: ['other'], removed: [], changed: [] });
      const warning = await waitForLogLine(relay, 'these settings changed but take effect only after a restart', seen);
      assert.deepEqual(warning.settings, ['ingest']);

      assert.equal(await post(relay, 'NoToken'), 401, 'the new source list is in force');
      assert.equal(await post(relay, 'AfterReload', 'reload-token-1'), 202);
      assert.ok(await second.waitUntil(() => second.counts().uniqueAlarms === 1, 30_000), 'delivered through the new route');
      assert.equal(first.counts().uniqueAlarms, 1, 'not through the old one');

      // An invalid file: logged with its problems, the running configuration kept.
      writeFileSync(relay.configFile, `${next}\nmethods: { broken: { type: pager } }\n`);
      seen = relay.logLines().length;
      relay.proc.kill('SIGHUP');
      const refused = await waitForLogLine(relay, 'reload failed: the configuration file is invalid; keeping the running configuration', seen);
      assert.ok(Array.isArray(refused.issues) && refused.issues.length > 0, JSON.stringify(refused));
      assert.equal(await post(relay, 'StillRunning', 'reload-token-1'), 202);
      assert.ok(await second.waitUntil(() => second.counts().uniqueAlarms === 2, 30_000));
      assert.equal(relay.exitInfo(), undefined, 'still running');

      await relay.stop();
      assert.deepEqual(relay.exitInfo(), { code: 0, signal: null });
    } finally {
      await relay?.stop().catch(() => {});
      await first.close();
      await second.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

test('node: SIGHUP on the built-in defaults (no config file) is logged and changes nothing', { timeout: 30_000 }, async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tocsin-reload-defaults-'));
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(REPO_ROOT, 'src/main.ts'), 'serve', '--listen', '127.0.0.1:0'], {
    cwd, env: { ...process.env, NODE_TEST_CONTEXT: undefined }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const until = async (what: string) => {
      for (let i = 0; i < 400 && !stderr.includes(what); i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(stderr.includes(what), `no "${what}" in:\n${stderr}`);
    };
    await until('tocsin listening');
    child.kill('SIGHUP');
    await until('nothing to reload');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, 'a graceful stop after SIGHUP, not exit 129');
  } finally {
    child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  }
});
