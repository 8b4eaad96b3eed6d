/**
 * The relay when its database misbehaves under it, in process (on both delivery designs): another
 * process holding the write lock, the data directory deleted while it runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { rmSync, statSync } from 'node:fs';
import { startDeliveryThread } from '../../src/runtime/threads.ts';
import { createHarness, type Harness } from './app-harness.ts';
import { startWebhookSink, type WebhookSink } from './webhook-sink.ts';

const hookConfig = (url: string) => `methods:\n  hook: { type: webhook, url: ${JSON.stringify(url)} }\nroutes:\n  - methods: [hook]\n`;
const alarm = (name: string) => ({ name, severity: 'critical' });
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Settles to "pending" if p has not settled after a few turns of the event loop. */
async function state<T>(p: Promise<T>): Promise<'pending' | 'settled'> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  return done ? 'settled' : 'pending';
}

async function until(what: string, fn: () => boolean | Promise<boolean>, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await fn())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

for (const threaded of [false, true]) {
  const design = threaded ? 'delivery thread' : 'one thread';

  test(`${design}: a write lock held by another process leaves /healthz and /readyz answering, and ingest waits for it`, async (t) => {
    const sink: WebhookSink = await startWebhookSink();
    const h: Harness = await createHarness({ yaml: hookConfig(sink.url), start: true, ...(threaded && { deliveryThread: startDeliveryThread }) });
    t.after(async () => {
      await h.cleanup();
      await sink.close();
    });
    const first = await h.post('/v1/alarms', alarm('before'));
    assert.equal(first.status, 202);
    const firstId = (first.json as { alarm_ids: string[] }).alarm_ids[0]!;

    const other = new Database(h.dbFile);
    other.exec('BEGIN EXCLUSIVE');
    other.exec(`INSERT INTO idempotency_keys (key, alarm_ids, notification_ids, created_at) VALUES ('other-process', '[]', '[]', 0)`);
    let released = false;
    t.after(() => {
      if (!released) other.exec('ROLLBACK');
      other.close();
    });

    const waiting = h.post('/v1/alarms', alarm('during'));
    // Each of these is answered while the POST waits: nothing blocks the event loop for the lock.
    assert.equal((await h.get('/healthz')).status, 200);
    await until('/readyz to report the lock', async () => {
      const ready = await h.get('/readyz');
      return ready.status === 503 && ready.json?.checks?.database === 'database locked by another process';
    });
    assert.equal((await h.get('/metrics')).status, 200);
    // Requests that only read answer too (a WAL reader does not wait for the writer's lock).
    const read = await h.get(`/v1/alarms/${firstId}`);
    assert.equal(read.status, 200, read.text);
    assert.equal((await h.get('/v1/alarms?state=firing')).status, 200);
    assert.equal(await state(waiting), 'pending', 'the POST is answered only once its alarm is committed');

    other.exec('ROLLBACK');
    released = true;
    const res = await waiting;
    assert.equal(res.status, 202, res.text);
    await until('/readyz ready again', async () => (await h.get('/readyz')).status === 200);
    await until('both alarms delivered', () => sink.requests.length >= 2);
    await sleep(300);
    assert.equal(new Set(sink.requests.map((r) => r.notificationId)).size, sink.requests.length, 'no notification is sent twice for the lock');
    assert.ok(
      h.logger.records.some((r) => r.level === 'warn' && /database locked/.test(String(r.fields.reason))),
      'the lock is logged once, with its reason',
    );
  });

  test(`${design}: deleting the data directory under the relay fails readiness and ingest answers 503`, async (t) => {
    const sink = await startWebhookSink();
    const h = await createHarness({ yaml: hookConfig(sink.url), start: true, ...(threaded && { deliveryThread: startDeliveryThread }) });
    t.after(async () => {
      await h.cleanup();
      await sink.close();
    });
    assert.equal((await h.post('/v1/alarms', alarm('before'))).status, 202);
    rmSync(h.dataDir, { recursive: true, force: true });
    await sleep(300); // the commit path looks at the file every 250 ms at most

    const res = await h.post('/v1/alarms', alarm('after'));
    assert.equal(res.status, 503, res.text);
    assert.ok(res.headers.get('retry-after'), 'a 503 says when to retry');
    assert.match(res.text, /deleted/);
    const ready = await h.get('/readyz');
    assert.equal(ready.status, 503);
    assert.match(ready.text, /was deleted while tocsin was running/);
    const gone = h.logger.records.filter((r) => r.level === 'error' && /database file gone/.test(r.msg));
    assert.equal(gone.length, 1, 'logged once');
  });

  test(`${design}: once the outbox drains, the WAL is checkpointed and truncated`, async (t) => {
    const sink = await startWebhookSink();
    const h = await createHarness({ yaml: hookConfig(sink.url), start: true, ...(threaded && { deliveryThread: startDeliveryThread }) });
    t.after(async () => {
      await h.cleanup();
      await sink.close();
    });
    const walSize = () => statSync(`${h.dbFile}-wal`, { throwIfNoEntry: false })?.size ?? 0;
    for (let i = 0; i < 50; i++) assert.equal((await h.post('/v1/alarms', alarm(`a${i}`))).status, 202);
    assert.ok(walSize() > 0, 'the commits went to the WAL');
    await until('all delivered', () => sink.requests.length >= 50);
    await until('the WAL truncated', () => walSize() === 0);
  });
}
