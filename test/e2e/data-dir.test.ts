/**
 * The data directory, on every target. One relay per data directory: a second `tocsin serve` on the same data_dir exits 1
 * naming the directory and the PID of the relay holding it, and the first keeps running. Once the first
 * has stopped (or died), the directory is free again. A data directory the relay cannot write is named
 * with the reason (not SQLite's "unable to open database file").
 *
 * scripts/run-tests.mjs builds dist/tocsin before running this file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killAllRelays, RELAY_TARGETS, relayCommand, startRelay } from './relay-process.ts';
import { needs } from '../support/peers.ts';
import Database from 'better-sqlite3';

const config = (port: number, dataDir: string) => `listen: 127.0.0.1:${port}\ndata_dir: ${JSON.stringify(dataDir)}\nlog_level: info\n`;

/** Runs `tocsin serve` to its exit (it must exit by itself); its code and stderr. */
function runToExit(target: (typeof RELAY_TARGETS)[number], yaml: string, workDir: string): Promise<{ code: number | null; stderr: string }> {
  const file = join(workDir, `second-${Date.now()}.yaml`);
  writeFileSync(file, yaml);
  const cmd = relayCommand(target, file, workDir);
  const child = spawn(cmd.file, cmd.args, { cwd: cmd.cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_TEST_CONTEXT: undefined } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => child.on('exit', (code) => (clearTimeout(timer), resolve({ code, stderr }))));
}

for (const target of RELAY_TARGETS) {
  test(`${target}: a second relay on the same data_dir exits 1 naming the dir and the PID holding it`, async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'tocsin-single-'));
    const dataDir = join(work, 'data');
    t.after(async () => {
      await killAllRelays();
      rmSync(work, { recursive: true, force: true });
    });
    const first = await startRelay({ target, configYaml: config(await freePort(), dataDir), dataDir });
    const second = await runToExit(target, config(await freePort(), dataDir), work);
    assert.equal(second.code, 1, second.stderr);
    assert.ok(second.stderr.includes(`data_dir ${dataDir} is in use by another tocsin (pid ${first.proc.pid} on `), second.stderr);
    assert.equal((await fetch(`${first.baseUrl}/healthz`)).status, 200, 'the first one keeps running');

    await first.kill9();
    const third = await startRelay({ target, configYaml: config(await freePort(), dataDir), dataDir });
    // It started: a dead holder leaves the directory free. And it becomes ready.
    for (let i = 0; (await fetch(`${third.baseUrl}/readyz`)).status !== 200; i++) {
      assert.ok(i < 200, 'ready within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    await third.stop();
  });
}

test('a data_dir the relay cannot write: the path and the reason, exit 1 (node, as uid 65534)', (t) => {
  const setpriv = spawnSync('setpriv', ['--version']);
  if (!needs(t, process.getuid?.() !== 0 ? 'running as another user needs root' : setpriv.status !== 0 ? 'setpriv (util-linux) is not installed' : undefined)) return;
  const work = mkdtempSync(join(tmpdir(), 'tocsin-perm-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  chmodSync(work, 0o755);
  const locked = join(work, 'locked');
  mkdirSync(locked, { mode: 0o555 });
  const file = join(work, 'tocsin.yaml');
  writeFileSync(file, `listen: 127.0.0.1:0\ndata_dir: ${JSON.stringify(join(locked, 'data'))}\n`);
  chmodSync(file, 0o644);
  const cmd = relayCommand('node', file, work);
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', cmd.file, ...cmd.args], { cwd: cmd.cwd, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.ok(
    r.stderr.includes(`tocsin: cannot open ${join(locked, 'data', 'tocsin.lock')}: directory ${join(locked, 'data')} does not exist and ${locked} is not writable by uid 65534`),
    r.stderr,
  );
});

for (const target of RELAY_TARGETS) {
  test(`${target}: another process holding the database's write lock (BEGIN EXCLUSIVE) freezes nothing; ingest waits for it`, async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'tocsin-locked-'));
    const dataDir = join(work, 'data');
    t.after(async () => {
      await killAllRelays();
      rmSync(work, { recursive: true, force: true });
    });
    const relay = await startRelay({ target, configYaml: config(await freePort(), dataDir), dataDir });
    const post = () => fetch(`${relay.baseUrl}/v1/alarms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x","severity":"info"}' });
    assert.equal((await post()).status, 202);

    // This test's process is the other process (what `sqlite3 data/tocsin.db` with BEGIN EXCLUSIVE does).
    const other = new Database(join(dataDir, 'tocsin.db'));
    other.exec('BEGIN EXCLUSIVE');
    other.exec(`INSERT INTO idempotency_keys (key, alarm_ids, notification_ids, created_at) VALUES ('other-process', '[]', '[]', 0)`);
    let answered = false;
    const waiting = post().then((r) => ((answered = true), r));
    try {
      for (let i = 0; ; i++) {
        const ready = (await (await fetch(`${relay.baseUrl}/readyz`)).json()) as { checks?: Record<string, string> };
        if (ready.checks?.database === 'database locked by another process') break;
        assert.ok(i < 200, 'readyz reports the lock');
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal((await fetch(`${relay.baseUrl}/healthz`)).status, 200);
      assert.equal((await fetch(`${relay.baseUrl}/metrics`)).status, 200);
      assert.equal(answered, false, 'the POST is answered once its alarm is committed, not before');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    assert.equal((await waiting).status, 202);
    await relay.stop();
  });
}
