/**
 * POST /-/reload against a relay process (the node target): the admin token is required; a valid file
 * swaps the methods and routes as SIGHUP does (the same log line) and answers what changed and what needs
 * a restart; an invalid file answers 400 with its issues and the running configuration stays (alarms still
 * reach the first sink); deliveries go on throughout.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killAllRelays, sinkRelayConfig, startRelay, waitForLogLine, type RelayProcess } from './relay-process.ts';
import { startWebhookSink } from './webhook-sink.ts';
import { readAnswer, type HttpAnswer } from '../support/http-answer.ts';

const ADMIN = 'reload-admin-token-1';
const WAIT_MS = 30_000;

after(() => killAllRelays());

async function call(relay: RelayProcess, path: string, init: RequestInit = {}): Promise<HttpAnswer> {
  return readAnswer(await fetch(`${relay.baseUrl}${path}`, { ...init, signal: AbortSignal.timeout(15_000) }));
}

const reload = (relay: RelayProcess, token?: string) =>
  call(relay, '/-/reload', { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });
const alarm = (relay: RelayProcess, name: string) =>
  call(relay, '/v1/alarms', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });

test('POST /-/reload: a valid file swaps methods and routes, an invalid one is refused with its issues', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-reload-api-'));
  const first = await startWebhookSink();
  const second = await startWebhookSink();
  let relay: RelayProcess | undefined;
  try {
    const port = await freePort();
    const dataDir = join(dir, 'data');
    const base = `${sinkRelayConfig(port, dataDir, first.url)}admin:\n  tokens: [${ADMIN}]\n`;
    relay = await startRelay({ configYaml: base, dataDir });
    assert.equal((await alarm(relay, 'Before')).status, 202);
    assert.ok(await first.waitUntil(() => first.counts().uniqueAlarms === 1, WAIT_MS));

    assert.equal((await reload(relay)).status, 401);
    assert.equal((await reload(relay, 'wrong')).status, 401);

    // A new method that takes over the route, and a restart-only setting.
    const next = base
      .replace('methods:\n', `methods:\n  other: { type: webhook, url: ${JSON.stringify(second.url)}, backoff_base: 50ms }\n`)
      .replace('routes:\n  - methods: [sink]', 'routes:\n  - methods: [other]')
      .concat('ingest: { max_batch: 10 }\n');
    writeFileSync(relay.configFile, next);
    const seen = relay.logLines().length;
    const ok = await reload(relay, ADMIN);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json, { status: 'reloaded', methods: { added: ['other'], removed: [], changed: [] }, restart_needed: ['ingest'] });
    const logged = await waitForLogLine(relay, 'configuration reloaded', seen);
    assert.deepEqual(logged.methods, { added: ['other'], removed: [], changed: [] });
    assert.equal((await alarm(relay, 'After')).status, 202);
    assert.ok(await second.waitUntil(() => second.counts().uniqueAlarms === 1, WAIT_MS), 'the new route goes to the new method');

    // An invalid file: refused with its issues, the running configuration kept.
    writeFileSync(relay.configFile, next.replace('routes:\n  - methods: [other]', 'routes:\n  - methods: [nowhere]'));
    const before = relay.logLines().length;
    const bad = await reload(relay, ADMIN);
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.code, 'invalid_request');
    assert.equal(bad.json.error, 'the configuration file is invalid; keeping the running configuration');
    assert.ok(Array.isArray(bad.json.issues) && bad.json.issues.some((i: string) => i.includes('nowhere')), bad.text);
    await waitForLogLine(relay, 'reload failed: the configuration file is invalid; keeping the running configuration', before);
    assert.equal((await alarm(relay, 'StillRunning')).status, 202);
    assert.ok(await second.waitUntil(() => second.counts().uniqueAlarms === 2, WAIT_MS), 'the running configuration still delivers');
    assert.ok(!bad.text.includes(ADMIN) && !ok.text.includes(second.url), 'no secret in the answers');
  } finally {
    await relay?.stop();
    await first.close();
    await second.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
