/**
 * Startup does nothing before listening that grows with the backlog: the listener comes up first (the
 * `tocsin listening` line), then the app is built (`tocsin ready`), and only then is the backlog counted
 * and reported. Checked by the order of the log lines on every target, with a backlog in the database;
 * and a database the app cannot use stops the relay after it listened, with the reason logged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPragmas } from '../../src/outbox/db.ts';
import { migrate } from '../../src/outbox/migrate.ts';
import { OutboxStore } from '../../src/outbox/store.ts';
import { openNodeSqlite } from '../../src/runtime/sqlite-node.ts';
import { freePort, RELAY_TARGETS, relayCommand, sinkRelayConfig, startRelay, type RelayProcess } from './relay-process.ts';
import { startWebhookSink } from './webhook-sink.ts';

const BACKLOG = 2000;

/** A database with BACKLOG pending notifications for the method `sink`. */
function seedBacklog(dataDir: string): void {
  const o = openNodeSqlite(join(dataDir, 'tocsin.db'));
  try {
    applyPragmas(o.db, 'NORMAL');
    migrate(o.db, Date.now());
    const store = new OutboxStore(o);
    store.enqueue.transaction(() => {
      for (let i = 0; i < BACKLOG; i++) {
        const id = `alm_backlog_${i}`;
        store.enqueue.insertAlarm(
          { id, source: 'seed', name: 'Backlog', severity: 'info', status: 'firing', labels: { i: String(i) }, annotations: {}, occurredAt: 1, receivedAt: 1, dedupKey: `k${i}` },
          1,
        );
        store.enqueue.insertNotification({ id: `ntf_backlog_${i}`, alarmIds: [id], method: 'sink', createdAt: Date.now() });
      }
    });
  } finally {
    o.close();
  }
}

for (const target of RELAY_TARGETS) {
  test(`${target}: listening comes first; the app is built and the backlog counted after it`, { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), `tocsin-startup-${target}-`));
    const sink = await startWebhookSink();
    let relay: RelayProcess | undefined;
    try {
      seedBacklog(dataDir);
      relay = await startRelay({ configYaml: sinkRelayConfig(await freePort(), dataDir, sink.url), dataDir, target });
      assert.ok(await sink.waitUntil(() => sink.counts().accepted >= BACKLOG, 30_000), 'the backlog is delivered');
      const msgs = relay.logLines().map((l) => l.msg);
      const at = (msg: string) => {
        const i = msgs.indexOf(msg);
        assert.ok(i >= 0, `no "${msg}" line:\n${relay!.stderr().slice(-3000)}`);
        return i;
      };
      assert.ok(at('tocsin listening') < at('tocsin ready'), 'listening before the app is built');
      const counted = relay.logLines().find((l) => l.msg === 'undelivered notifications in the outbox');
      assert.ok(counted && msgs.indexOf('undelivered notifications in the outbox') > at('tocsin ready'), 'counted after start');
      assert.ok(typeof counted.undelivered === 'number' && counted.undelivered <= BACKLOG && counted.undelivered > 0, JSON.stringify(counted));
      const ready = relay.logLines().find((l) => l.msg === 'tocsin ready')!;
      assert.equal(typeof ready.ready_ms, 'number');
    } finally {
      await relay?.stop().catch(() => {});
      await sink.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

for (const target of RELAY_TARGETS) {
  test(`${target}: a database that cannot be used stops the relay after listening: logged, exit 1`, { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), `tocsin-startfail-${target}-`));
    try {
      // A database written by a newer tocsin (a migration this one does not know).
      const o = openNodeSqlite(join(dataDir, 'tocsin.db'));
      migrate(o.db, Date.now());
      o.db.run(sql`INSERT INTO tocsin_migrations (id, tag, applied_at) VALUES (999, 'from_the_future', 0)`);
      o.close();
      const cmd = relayCommand(target, writeConfig(dataDir), dataDir);
      const child = spawn(cmd.file, cmd.args, { cwd: cmd.cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_TEST_CONTEXT: undefined } });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      assert.equal(code, 1, stderr);
      const lines = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.ok(lines.some((l) => l.msg === 'tocsin listening'), stderr);
      const failed = lines.find((l) => l.msg === 'could not start; stopping');
      assert.match(String(failed?.err), /database schema version 999 is newer than this tocsin/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

function writeConfig(dataDir: string): string {
  const file = join(dataDir, 'tocsin.yaml');
  writeFileSync(file, `listen: 127.0.0.1:0\ndata_dir: ${JSON.stringify(dataDir)}\n`);
  return file;
}
