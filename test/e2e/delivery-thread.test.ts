/**
 * Delivery on a thread of its own (as the relay runs it): the app with a real delivery thread, real
 * webhook sinks on 127.0.0.1, and the database file shared by both threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/parse.ts';
import type { DeliveryThreadInit, ThreadHandle } from '../../src/dispatch/thread-protocol.ts';
import { startDeliveryThread } from '../../src/runtime/threads.ts';
import { createHarness, type Harness } from './app-harness.ts';
import { startWebhookSink, type WebhookSink } from './webhook-sink.ts';

const hookConfig = (url: string, extra = '') => `
methods:
  hook: { type: webhook, url: ${JSON.stringify(url)}, backoff_base: 100ms, backoff_cap: 200ms${extra} }
  log: { type: log }
routes:
  - match: { labels: { to: log } }
    methods: [log]
  - methods: [hook]
`;

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function postAlarms(h: Harness, n: number, labels: Record<string, string> = {}): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await h.post('/v1/alarms', { name: 'ThreadTest', labels: { i: String(i), ...labels } });
    assert.equal(res.status, 202, res.text);
  }
}

const metric = async (h: Harness, line: RegExp) => Number(line.exec((await h.get('/metrics')).text)?.[1] ?? NaN);

test('the delivery thread delivers, reports to the main thread (metrics, count, log lines) and follows a reload', async (t) => {
  const sink = await startWebhookSink();
  const other = await startWebhookSink();
  const h = await createHarness({ yaml: hookConfig(sink.url), start: true, deliveryThread: startDeliveryThread });
  t.after(async () => {
    await h.cleanup();
    await sink.close();
    await other.close();
  });
  await until(() => h.app.readiness.check().checks.dispatcher === 'ok', 'the delivery thread to run');

  await postAlarms(h, 20);
  await postAlarms(h, 2, { to: 'log' });
  assert.ok(await sink.waitUntil(() => sink.counts().uniqueAlarms === 20, 20_000), 'all 20 delivered by the thread');
  // The `log` method's lines are written by the main thread.
  await until(() => h.lines.length === 2, 'two log lines');
  assert.equal(JSON.parse(h.lines[0]!).alarm.name, 'ThreadTest');
  await until(() => h.app.store.pendingCount === 0, 'the undelivered count to reach 0');
  assert.equal(await metric(h, /^tocsin_delivery_attempts_total\{method="hook",outcome="sent"\} (\d+)/m), 20);
  assert.equal(await metric(h, /^tocsin_notifications_undelivered (\d+)/m), 0);
  assert.equal(h.count('deliveries'), 22);
  // The thread checkpoints every second (no commit copies the WAL while the other thread waits): soon
  // the database file itself, read without its WAL (a copy of the file alone), has them.
  const inFile = () => {
    const copy = join(h.dataDir, 'file-only.db');
    copyFileSync(h.dbFile, copy);
    const db = new Database(copy, { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS c FROM deliveries').get() as { c: number }).c;
    } catch {
      return -1; // copied mid-write: try again
    } finally {
      db.close();
      rmSync(copy, { force: true });
    }
  };
  await until(() => inFile() === 22, 'the delivered rows in the database file');

  // A reload moves the method to another receiver: the thread builds its channel again.
  h.app.reload(parseConfig(`${hookConfig(other.url)}\ndata_dir: ${JSON.stringify(h.dataDir)}\n`, {}, () => ''));
  await postAlarms(h, 3, { round: 'after-reload' }); // new alarms (a repeat of a firing one is not notified)
  assert.ok(await other.waitUntil(() => other.counts().uniqueAlarms === 3, 20_000), 'delivered to the new URL');
  assert.equal(sink.counts().uniqueAlarms, 20);
});

test('a receiver failure is retried by the thread and its log records reach the main logger', async (t) => {
  let failing = true;
  const sink = await startWebhookSink({ behavior: () => (failing ? 503 : 200) });
  const h = await createHarness({ yaml: hookConfig(sink.url), start: true, deliveryThread: startDeliveryThread });
  t.after(async () => {
    await h.cleanup();
    await sink.close();
  });
  await postAlarms(h, 3);
  await until(() => h.logger.records.some((r) => r.msg === 'delivery attempt failed; will retry'), 'the failure in the main log');
  failing = false;
  assert.ok(await sink.waitUntil(() => sink.counts().uniqueAlarms === 3, 20_000));
  const failed = h.logger.records.find((r) => r.msg === 'delivery attempt failed; will retry')!;
  assert.equal(failed.level, 'warn');
  assert.equal(failed.fields.method, 'hook');
});

test('a delivery thread that dies is restarted; what it held is delivered again, nothing is lost', async (t) => {
  let slow = true;
  const sink = await startWebhookSink({ behavior: () => (slow ? { status: 200, delayMs: 400 } : 200) });
  const handles: ThreadHandle[] = [];
  const spawn = (init: DeliveryThreadInit) => {
    const handle = startDeliveryThread(init);
    handles.push(handle);
    return handle;
  };
  const h = await createHarness({ yaml: hookConfig(sink.url, ', timeout: 5s'), start: true, deliveryThread: spawn });
  t.after(async () => {
    await h.cleanup();
    await sink.close();
  });
  await until(() => h.app.readiness.check().checks.dispatcher === 'ok', 'the delivery thread to run');
  await postAlarms(h, 10);
  await until(() => sink.counts().requests > 0, 'deliveries in flight');
  // Killed mid-flight, as a crash would: nothing it held was recorded.
  await handles[0]!.terminate();
  await until(() => h.logger.records.some((r) => r.msg.startsWith('the delivery thread stopped unexpectedly')), 'the crash logged');
  assert.match(JSON.stringify(h.app.readiness.check()), /delivery thread restarting/);
  slow = false;
  await until(() => handles.length === 2, 'a second thread');
  assert.ok(await sink.waitUntil(() => sink.counts().uniqueAlarms === 10, 20_000), 'every alarm delivered after the restart');
  await until(() => h.app.store.pendingCount === 0, 'nothing left undelivered');
  assert.equal(h.count('notifications'), 0);
});

test('stop lets the thread finish what is in flight (within the grace period) and record it', async (t) => {
  const sink: WebhookSink = await startWebhookSink({ behavior: () => ({ status: 200, delayMs: 300 }) });
  const h = await createHarness({ yaml: hookConfig(sink.url), start: true, deliveryThread: startDeliveryThread });
  t.after(async () => {
    await h.cleanup();
    await sink.close();
  });
  await until(() => h.app.readiness.check().checks.dispatcher === 'ok', 'the delivery thread to run');
  await postAlarms(h, 5);
  await until(() => sink.counts().requests === 5, 'five in flight');
  await h.app.stop();
  assert.equal(sink.counts().accepted, 5);
  assert.equal(h.count('deliveries'), 5, 'outcomes recorded before the thread stopped');
  assert.equal(h.count('notifications'), 0);
});
