/**
 * A full disk, end to end, on Node and the binary, on a small tmpfs this test mounts (root only; it skips
 * loudly otherwise, see test/support/peers): /readyz fails and ingest answers 503 while the disk is full;
 * the relay stops cleanly and starts again on the full disk, delivers what it had accepted, and takes
 * alarms again once space is freed.
 *
 * scripts/run-tests.mjs builds dist/tocsin before running this file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killAllRelays, RELAY_TARGETS, startRelay, type RelayProcess } from './relay-process.ts';
import { startWebhookSink } from './webhook-sink.ts';
import { needs } from '../support/peers.ts';
import { fill, mountTmpfs } from '../support/tmpfs.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(what: string, fn: () => boolean | Promise<boolean>, limitMs = 20_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await fn())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}



for (const target of RELAY_TARGETS) {
  test(`${target}: a full disk fails readiness and ingest, not the relay; what was accepted is delivered`, async (t) => {
    const mnt = mkdtempSync(join(tmpdir(), 'tocsin-full-'));
    if (!needs(t, mountTmpfs(mnt, '24m'))) return rmSync(mnt, { recursive: true, force: true });
    let up = false;
    const sink = await startWebhookSink({ behavior: () => (up ? 200 : 503) });
    let relay: RelayProcess | undefined;
    t.after(async () => {
      await killAllRelays();
      await sink.close();
      execFileSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    });
    const dataDir = join(mnt, 'data');
    const config = async () =>
      [
        `listen: 127.0.0.1:${await freePort()}`,
        `data_dir: ${JSON.stringify(dataDir)}`,
        'log_level: info',
        'methods:',
        `  hook: { type: webhook, url: ${JSON.stringify(sink.url)}, backoff_base: 50ms, backoff_cap: 200ms }`,
        'delivery:',
        '  poll_interval: 100ms',
        'routes:',
        '  - methods: [hook]',
        '',
      ].join('\n');
    const post = async (name: string) => {
      const res = await fetch(`${relay!.baseUrl}/v1/alarms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, severity: 'critical' }) });
      return { status: res.status, retryAfter: res.headers.get('retry-after'), text: await res.text() };
    };
    const ready = async () => (await (await fetch(`${relay!.baseUrl}/readyz`)).json()) as { checks?: Record<string, string> };

    relay = await startRelay({ target, configYaml: await config(), dataDir });
    const ACCEPTED = 20;
    for (let i = 0; i < ACCEPTED; i++) assert.equal((await post(`before-${i}`)).status, 202);
    await relay.stop();

    fill(join(mnt, 'filler'));
    relay = await startRelay({ target, configYaml: await config(), dataDir });
    // Readiness finds out by itself (a real write, not the last commit's word), and ingest refuses.
    await until('/readyz to say the disk is full', async () => (await ready()).checks?.database === 'disk full');
    for (let i = 0; i < 5; i++) {
      const r = await post(`full-${i}`);
      assert.equal(r.status, 503, r.text);
      assert.ok(r.retryAfter, 'a 503 says when to retry');
    }
    up = true;
    await until('every accepted alarm delivered from the full disk', () => new Set(sink.requests.filter((r) => r.answer.status === 200).map((r) => r.envelope?.alarm?.name)).size >= ACCEPTED);
    await relay.stop();
    assert.equal(relay.exitInfo()?.code, 0, 'stopping on a full disk is no error');

    relay = await startRelay({ target, configYaml: await config(), dataDir });
    fill(join(mnt, 'filler-2')); // whatever the restart left
    assert.equal((await post('while-full')).status, 503);
    rmSync(join(mnt, 'filler'));
    rmSync(join(mnt, 'filler-2'));
    await until('/readyz ready again', async () => (await ready()).checks?.database === 'ok');
    assert.equal((await post('after')).status, 202);
    await until('the new alarm delivered', () => sink.requests.some((r) => r.answer.status === 200 && r.envelope?.alarm?.name === 'after'));
    await relay.stop();
    assert.equal(relay.exitInfo()?.code, 0);
    const errors = relay.logLines().filter((l) => (l.level as number) >= 50).map((l) => String(l.msg));
    const expected = /^(cannot write the database|cannot open the database, the disk is full)/;
    assert.ok(errors.every((m) => expected.test(m)), `only the disk-full transitions are errors: ${errors.join("; ")}`);
  });
}

test('node: a relay started on a disk with no space at all keeps answering (503), opens its database once space is freed, and stops on SIGTERM meanwhile', async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'tocsin-full-'));
  if (!needs(t, mountTmpfs(mnt, '4m'))) return rmSync(mnt, { recursive: true, force: true });
  t.after(async () => {
    await killAllRelays();
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });
  const dataDir = join(mnt, 'data');
  const config = async () => `listen: 127.0.0.1:${await freePort()}\ndata_dir: ${JSON.stringify(dataDir)}\nlog_level: info\n`;
  fill(join(mnt, 'filler'));
  let relay = await startRelay({ target: 'node', configYaml: await config(), dataDir });
  const readyz = async () => (await (await fetch(`${relay.baseUrl}/readyz`)).json()) as { error?: string };
  await until('/readyz to say it waits for space', async () => /disk full: waiting for free space/.test((await readyz()).error ?? ''));
  const res = await fetch(`${relay.baseUrl}/v1/alarms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x","severity":"info"}' });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '30');
  await relay.stop();
  assert.equal(relay.exitInfo()?.code, 0, 'a stop while waiting for space is a clean stop');

  relay = await startRelay({ target: 'node', configYaml: await config(), dataDir });
  await until('/readyz to say it waits for space', async () => /disk full/.test((await readyz()).error ?? ''));
  rmSync(join(mnt, 'filler'));
  await until('ready once space is freed', async () => (await fetch(`${relay.baseUrl}/readyz`)).status === 200);
  const ok = await fetch(`${relay.baseUrl}/v1/alarms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x","severity":"info"}' });
  assert.equal(ok.status, 202);
  await relay.stop();
  assert.equal(relay.exitInfo()?.code, 0);
});
