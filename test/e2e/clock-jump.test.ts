/**
 * The wall clock of a running relay stepped back 1 h, then forward 26 h, with libfaketime
 * (Debian: `apt-get install faketime`): the relay (`node --import tsx src/main.ts serve`, delivering on its
 * thread) reads its wall clock from a file the test rewrites (FAKETIME_TIMESTAMP_FILE, FAKETIME_NO_CACHE),
 * and the monotonic clock stays real (FAKETIME_DONT_FAKE_MONOTONIC). A receiver that fails throughout
 * must see every retry come promptly after each step (not an hour later), new alarms at once, and nothing
 * may be dead-lettered for max_age 24 h once it succeeds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killAllRelays, sinkRelayConfig, startRelay, type RelayProcess } from './relay-process.ts';
import { startWebhookSink, type WebhookSink } from './webhook-sink.ts';
import { needs } from '../support/peers.ts';

/** LD_PRELOAD as the `faketime` command sets it (multi-threaded libfaketime), or undefined when it is not installed. */
function faketimePreload(): string | undefined {
  const r = spawnSync('faketime', ['-m', '-f', '+0', 'printenv', 'LD_PRELOAD'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('faketime') ? r.stdout.trim() : undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

test('the wall clock stepped back 1 h and forward 26 h under a running relay: retries stay prompt, nothing is dead-lettered', async (t) => {
  const preload = faketimePreload();
  if (!needs(t, preload ? undefined : 'faketime is not installed (apt-get install faketime): the wall-clock step test did not run') || !preload) return;
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-clock-jump-'));
  const stamp = join(dir, 'faketime');
  const stepTo = (offset: string) => writeFileSync(stamp, `${offset}\n`);
  stepTo('+0');
  let failing = true;
  const sink: WebhookSink = await startWebhookSink({ behavior: () => (failing ? 503 : 200) });
  let relay: RelayProcess | undefined;
  t.after(async () => {
    await relay?.stop().catch(() => killAllRelays());
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const port = await freePort();
  const dataDir = join(dir, 'data');
  relay = await startRelay({
    configYaml: sinkRelayConfig(port, dataDir, sink.url, { backoff_base: '1s', backoff_cap: '2s', max_age: '24h', max_attempts: '1000' }),
    dataDir,
    env: { LD_PRELOAD: preload, FAKETIME_TIMESTAMP_FILE: stamp, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
  });
  const r = relay;
  const post = async (label: string) => {
    const res = await fetch(`${r.baseUrl}/v1/alarms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ClockJump', labels: { n: label } }) });
    assert.equal(res.status, 202, await res.text());
  };
  /** Notification ids the receiver was sent at or after `since` (this process's clock, which is not faked). */
  const attemptedSince = (since: number) => new Set(sink.requests.filter((q) => q.at >= since).map((q) => q.notificationId));
  const logged = (msg: string) => r.logLines().some((l) => l.msg === msg);

  for (let i = 0; i < 10; i++) await post(`old-${i}`);
  await until(() => attemptedSince(0).size === 10, 'a first (failed) attempt of each of the 10', 10_000);

  // Back 1 h: without the fix, each retry waited about an hour.
  stepTo('-1h');
  await until(() => logged('wall clock jumped back by 1h0m; the outbox schedule moves with it'), 'the step back to be noticed', 5000);
  let since = Date.now();
  for (let i = 0; i < 5; i++) await post(`new-${i}`);
  await until(() => attemptedSince(since).size === 15, 'every retry (backoff ≤ 2 s) and the 5 new alarms after the step back', 8000);

  // Forward 26 h, past max_age: without the fix, the next failure of each dead-lettered it.
  stepTo('+25h');
  await until(() => logged('wall clock jumped forward by 26h0m; the outbox schedule moves with it'), 'the step forward to be noticed', 5000);
  since = Date.now();
  await until(() => attemptedSince(since).size === 15, 'every notification to fail once more after the step forward', 8000);

  failing = false;
  await until(() => sink.counts().uniqueNotifications === 15, 'all 15 delivered once the receiver answers', 8000);
  const dead = r.logLines().filter((l) => l.msg === 'notification dead-lettered');
  assert.deepEqual(dead, [], 'nothing dead-lettered');
  const metrics = await (await fetch(`${r.baseUrl}/metrics`)).text();
  assert.match(metrics, /^tocsin_clock_jumps_total\{direction="back"\} 1$/m);
  assert.match(metrics, /^tocsin_clock_jumps_total\{direction="forward"\} 1$/m);
  assert.doesNotMatch(metrics, /^tocsin_notifications_dead_total\{/m);
});
