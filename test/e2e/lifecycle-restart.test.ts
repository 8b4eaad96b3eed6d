/**
 * Repeats live in SQLite: across a graceful restart (down for longer than the interval) and a kill -9,
 * the reminders of a still-firing alarm go on with no number skipped or sent twice, one reminder (not a
 * burst) catches up a downtime, and none follows the resolve.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killAllRelays, sinkRelayConfig, startRelay, type RelayProcess } from './relay-process.ts';
import { startWebhookSink, type WebhookSink } from './webhook-sink.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** When a notification was enqueued: the time part of its id (ntf_ + a ULID). */
function enqueuedAt(notificationId: string): number {
  const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  return [...notificationId.slice(4, 14)].reduce((t, ch) => t * 32 + B32.indexOf(ch), 0);
}

test('repeat_interval survives a restart and a kill -9: reminders 1..n, each once, none after the resolve', { timeout: 120_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tocsin-repeat-'));
  let sink: WebhookSink | undefined;
  let relay: RelayProcess | undefined;
  try {
    sink = await startWebhookSink();
    const port = await freePort();
    const yaml = sinkRelayConfig(port, dataDir, sink.url, { repeat_interval: '1s' });
    relay = await startRelay({ configYaml: yaml, dataDir });
    const post = async (status: string) => {
      const res = await fetch(`${relay!.baseUrl}/v1/alarms`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Hot', labels: { host: 'a' }, status }),
      });
      assert.equal(res.status, 202);
    };
    /** The notifications the sink accepted: repeat number (0: a state change), status, when enqueued. */
    const received = () => {
      const byId = new Map<string, { repeat: number; status: string; at: number }>();
      for (const r of sink!.requests) {
        if (!r.accepted || !r.notificationId) continue;
        const env = r.envelope as { repeat?: number; alarm?: { status?: string } };
        if (!byId.has(r.notificationId)) byId.set(r.notificationId, { repeat: env.repeat ?? 0, status: env.alarm?.status ?? '', at: enqueuedAt(r.notificationId) });
      }
      return [...byId.values()];
    };
    const maxRepeat = () => Math.max(0, ...received().map((x) => x.repeat));
    await post('firing');
    assert.ok(await sink.waitUntil(() => maxRepeat() >= 2, 10_000), 'reminders 1 and 2');
    await relay.stop();
    const downAt = Date.now();
    await sleep(2500); // more than two intervals pass while it is down
    relay = await startRelay({ configYaml: yaml, dataDir });
    assert.ok(await sink.waitUntil(() => maxRepeat() >= 3, 10_000), 'a reminder after the restart');
    const third = received().find((x) => x.repeat === 3)!;
    t.diagnostic(`reminder 3 came ${third.at - downAt} ms after the stop`);
    assert.ok(await sink.waitUntil(() => maxRepeat() >= 5, 10_000));
    await relay.kill9();
    relay = await startRelay({ configYaml: yaml, dataDir });
    assert.ok(await sink.waitUntil(() => maxRepeat() >= 7, 10_000), 'reminders go on after a kill -9');
    await post('resolved');
    assert.ok(await sink.waitUntil(() => received().some((x) => x.status === 'resolved'), 10_000));
    await sleep(2500);
    const all = received();
    const repeats = all.filter((x) => x.repeat > 0).map((x) => x.repeat).sort((a, b) => a - b);
    assert.deepEqual(repeats, Array.from({ length: repeats.length }, (_, i) => i + 1), 'each reminder number once, none skipped');
    // Catching up the downtime sent one reminder, not one per missed interval: 3 and 4 are an interval apart.
    const at = (n: number) => all.find((x) => x.repeat === n)!.at;
    assert.ok(at(4) - at(3) >= 900, `reminder 4 ${at(4) - at(3)} ms after 3`);
    const resolvedAt = all.find((x) => x.status === 'resolved')!.at;
    assert.ok(all.every((x) => x.repeat === 0 || x.at < resolvedAt), 'no reminder after the resolve');
    assert.deepEqual(all.filter((x) => x.repeat === 0).map((x) => x.status), ['firing', 'resolved']);
  } finally {
    await relay?.stop().catch(() => undefined);
    await killAllRelays();
    await sink?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a group being gathered survives a restart: its alarms go out together after it', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tocsin-group-'));
  let sink: WebhookSink | undefined;
  let relay: RelayProcess | undefined;
  try {
    sink = await startWebhookSink();
    const port = await freePort();
    const yaml = sinkRelayConfig(port, dataDir, sink.url).replace(
      '  - methods: [sink]\n',
      '  - methods: [sink]\n    group_by: [cluster]\n    group_wait: 3s\n',
    );
    assert.match(yaml, /group_wait: 3s/);
    relay = await startRelay({ configYaml: yaml, dataDir });
    const res = await fetch(`${relay.baseUrl}/v1/alarms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(['a', 'b'].map((host) => ({ name: 'Down', labels: { cluster: 'c1', host } }))),
    });
    assert.equal(res.status, 202);
    await relay.kill9();
    assert.equal(sink.counts().requests, 0, 'nothing went out before group_wait');
    relay = await startRelay({ configYaml: yaml, dataDir });
    assert.ok(await sink.waitUntil(() => sink!.counts().accepted >= 1, 15_000), 'the group went out after the restart');
    await sleep(500);
    const bodies = sink.requests.filter((r) => r.accepted).map((r) => JSON.parse(r.body) as { alarms?: { labels: { host: string } }[] });
    assert.equal(bodies.length, 1);
    assert.deepEqual(bodies[0]!.alarms?.map((a) => a.labels.host), ['a', 'b']);
  } finally {
    await relay?.stop().catch(() => undefined);
    await killAllRelays();
    await sink?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
