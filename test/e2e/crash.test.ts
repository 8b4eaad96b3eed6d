/**
 * Crash test of the core promise: an alarm that got a 2xx is delivered at least once, whatever happens
 * to the process. Thousands of alarms are posted by concurrent posters while the webhook receiver fails
 * at random and the relay is SIGKILLed at random moments and restarted on the same data_dir and port.
 * Then every acknowledged alarm id must reach the receiver.
 *
 * It runs against each target (Node, dist/tocsin, Deno); CRASH_TARGET=binary (or node, deno) runs one.
 * Reproduce a run with CRASH_SEED=<seed printed by the run>. CRASH_ALARMS overrides the alarm count.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killAllRelays, RELAY_TARGETS, sinkRelayConfig, startRelay, type RelayProcess, type RelayTarget } from './relay-process.ts';
import { alwaysOk, flakyBehavior, startWebhookSink, type WebhookSink } from './webhook-sink.ts';
import { prng } from './prng.ts';

const ALARMS = Number(process.env.CRASH_ALARMS ?? 3000);
const POSTERS = 16;
/** The test runs against each target: Node, dist/tocsin and Deno (CRASH_TARGET=binary picks one). */
const TARGETS = (process.env.CRASH_TARGET || RELAY_TARGETS.join(',')).split(',') as RelayTarget[];
/** Kills at random points of the ingest (by acknowledged count, plus a random delay). */
const INGEST_KILLS = 5;
/** Kills at random moments after all posts were acknowledged, while deliveries drain. */
const DRAIN_KILLS = 2;
const POST_TIMEOUT_MS = 5_000;
const INGEST_DEADLINE_MS = 90_000;
const DELIVERY_WAIT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;


const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** An answer no retry can fix: stops the posters and fails the test. */
class FatalPost extends Error {}

interface Ack {
  readonly seq: number;
  readonly alarmId: string;
  readonly status: number;
  readonly at: number;
  /** Which relay process (0 = first start) answered. */
  readonly incarnation: number;
}

interface KillEvent {
  readonly n: number;
  readonly at: number;
  readonly phase: 'ingest' | 'drain';
  readonly ackedBefore: number;
  readonly deliveredBefore: number;
  readonly uptimeMs: number;
}

async function crashRun(TARGET: RelayTarget, t: TestContext): Promise<void> {
  const seed = process.env.CRASH_SEED !== undefined && process.env.CRASH_SEED !== '' ? Number(process.env.CRASH_SEED) >>> 0 : randomInt(2 ** 31);
  /** Progress goes to stdout as it happens; summary lines also become test diagnostics. */
  const say = (msg: string, summary = false) => {
    console.log(`[crash] ${msg}`);
    if (summary) t.diagnostic(msg);
  };
  say(`${TARGET}: seed ${seed} (rerun with CRASH_TARGET=${TARGET} CRASH_SEED=${seed}), ${ALARMS} alarms, ${POSTERS} posters`, true);
  const rngKills = prng(seed ^ 0x5bd1e995);
  const rngSink = prng(seed ^ 0x27d4eb2f);
  const rngPost = prng(seed ^ 0x165667b1);

  const started = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'tocsin-crash-'));
  let sink: WebhookSink | undefined;
  let relay: RelayProcess | undefined;
  const incarnations: { relay: RelayProcess; startedAt: number }[] = [];
  let stopPosting = false;

  try {
    sink = await startWebhookSink({ behavior: flakyBehavior(rngSink, { http500: 0.1, http503: 0.1, slow: 0.05, slowMs: [100, 1500], drop: 0.02 }) });
    const port = await freePort();
    const yaml = sinkRelayConfig(port, dataDir, sink.url, { max_attempts: '1000', timeout: '2s' });

    const start = async (): Promise<RelayProcess> => {
      let lastErr: unknown;
      for (let i = 0; i < 3; i++) {
        try {
          const r = await startRelay({ configYaml: yaml, dataDir, target: TARGET });
          assert.equal(r.port, port, 'relay must come back on the same port');
          incarnations.push({ relay: r, startedAt: Date.now() });
          return r;
        } catch (e) {
          lastErr = e; // e.g. the port briefly still taken: try again
          await sleep(300);
        }
      }
      throw lastErr;
    };
    relay = await start();
    const baseUrl = `http://127.0.0.1:${port}`;

    // ---- posters ---------------------------------------------------------------------------------
    const acks = new Map<string, Ack>(); // alarm id → ack
    const postStats = { requests: 0, accepted202: 0, repeat200: 0, non2xx: 0, connErrors: 0 };
    let fatal: Error | undefined;
    let nextSeq = 0;

    const postOne = async (seq: number): Promise<void> => {
      const body = JSON.stringify({
        name: 'CrashTest',
        severity: 'warning',
        summary: `crash test alarm ${seq}`,
        labels: { seq: String(seq), run: String(seed) },
      });
      const deadline = started + INGEST_DEADLINE_MS;
      while (!stopPosting) {
        if (Date.now() > deadline) throw new Error(`alarm seq ${seq} not acknowledged within ${INGEST_DEADLINE_MS} ms of the start`);
        postStats.requests++;
        const incarnation = incarnations.length - 1;
        try {
          const res = await fetch(`${baseUrl}/v1/alarms`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': `crash-${seed}-${seq}` },
            body,
            signal: AbortSignal.timeout(POST_TIMEOUT_MS),
          });
          const text = await res.text();
          if (res.status === 202 || res.status === 200) {
            let json: { alarm_ids?: string[]; notification_ids?: string[] };
            try {
              json = JSON.parse(text) as { alarm_ids?: string[]; notification_ids?: string[] };
            } catch {
              throw new FatalPost(`seq ${seq}: ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
            }
            const ids = json.alarm_ids ?? [];
            if (ids.length !== 1 || (json.notification_ids ?? []).length !== 1) {
              throw new FatalPost(`seq ${seq}: unexpected ${res.status} body ${text}`);
            }
            const alarmId = ids[0]!;
            if (res.status === 202) postStats.accepted202++;
            else postStats.repeat200++;
            acks.set(alarmId, { seq, alarmId, status: res.status, at: Date.now(), incarnation });
            return;
          }
          postStats.non2xx++;
          if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
            throw new FatalPost(`seq ${seq}: relay answered ${res.status} ${text}`);
          }
        } catch (e) {
          if (e instanceof FatalPost) throw e;
          postStats.connErrors++;
        }
        await sleep(30 + Math.floor(rngPost() * 120));
      }
    };

    const poster = async () => {
      while (!stopPosting && fatal === undefined) {
        const seq = nextSeq++;
        if (seq >= ALARMS) return;
        try {
          await postOne(seq);
        } catch (e) {
          fatal ??= e instanceof Error ? e : new Error(String(e));
          stopPosting = true;
        }
      }
    };
    const posting = Promise.all(Array.from({ length: POSTERS }, () => poster()));
    let postingDone = false;
    void posting.then(() => (postingDone = true));

    // ---- killer ----------------------------------------------------------------------------------
    const kills: KillEvent[] = [];
    const thresholds = Array.from({ length: INGEST_KILLS }, () => Math.floor(ALARMS * (0.05 + 0.9 * rngKills()))).sort((a, b) => a - b);
    const killAndRestart = async (phase: KillEvent['phase']) => {
      const inc = incarnations[incarnations.length - 1]!;
      const ev: KillEvent = {
        n: kills.length + 1,
        at: Date.now() - started,
        phase,
        ackedBefore: acks.size,
        deliveredBefore: sink!.counts().uniqueAlarms,
        uptimeMs: Date.now() - inc.startedAt,
      };
      await relay!.kill9();
      kills.push(ev);
      say(`kill #${ev.n} (${phase}) at ${ev.at} ms: acked ${ev.ackedBefore}, delivered ${ev.deliveredBefore}, uptime ${ev.uptimeMs} ms`);
      await sleep(Math.floor(rngKills() * 300));
      relay = await start();
    };

    for (const threshold of thresholds) {
      while (acks.size < threshold && !postingDone && fatal === undefined) await sleep(5);
      if (fatal) break;
      await sleep(Math.floor(rngKills() * 250));
      await killAndRestart('ingest');
    }
    await posting;
    if (fatal) throw fatal;
    const ingestMs = Date.now() - started;
    say(`ingest done at ${ingestMs} ms: ${acks.size} acknowledged; posts ${JSON.stringify(postStats)}`);
    assert.equal(acks.size, ALARMS, 'every alarm should eventually be acknowledged');

    for (let i = 0; i < DRAIN_KILLS; i++) {
      await sleep(100 + Math.floor(rngKills() * 1500));
      await killAndRestart('drain');
    }

    // ---- after the last restart: receiver healthy, wait for every acknowledged alarm ---------------
    sink.setBehavior(alwaysOk);
    const s = sink;
    const missing = () => [...acks.keys()].filter((id) => !s.firstAcceptedByAlarm.has(id));
    const allIn = await sink.waitUntil(() => missing().length === 0, DELIVERY_WAIT_MS);
    const counts = sink.counts();
    const durationMs = Date.now() - started;
    const deliveredAcked = acks.size - missing().length;
    say(
      `acknowledged ${acks.size}, delivered ${deliveredAcked} of them (sink: ${counts.uniqueAlarms} unique alarms, ` +
        `${counts.uniqueNotifications} unique notifications), duplicates ${counts.duplicates}, kills ${kills.length}, ` +
        `sink requests ${counts.requests} (failed/dropped ${counts.failed}, client gone ${counts.clientGone}), duration ${durationMs} ms`,
    );
    say(
      `totals: acked=${acks.size} delivered=${deliveredAcked} duplicates=${counts.duplicates} kills=${kills.length} ` +
        `repeat200=${postStats.repeat200} duration=${durationMs}ms seed=${seed}`,
      true,
    );

    if (!allIn) {
      const lost = missing();
      const details: string[] = [];
      for (const id of lost.slice(0, 20)) {
        const ack = acks.get(id)!;
        let state = '';
        try {
          const res = await fetch(`${baseUrl}/v1/alarms/${id}`, { signal: AbortSignal.timeout(2000) });
          state = `${res.status} ${await res.text()}`;
        } catch (e) {
          state = `lookup failed: ${String(e)}`;
        }
        const mentions = incarnations.flatMap((inc, i) =>
          inc.relay.stderr().split('\n').filter((l) => l.includes(id)).map((l) => `  [relay #${i}] ${l}`),
        );
        const sinkSaw = s.requests.filter((r) => r.alarmId === id).map((r) => `  [sink] attempt ${r.attempt} → ${r.answer.status}${r.answer.drop ? ' drop' : ''}`);
        details.push(
          `${id} seq ${ack.seq}: ${ack.status} at ${ack.at - started} ms from relay #${ack.incarnation}\n  state: ${state}\n${[...mentions, ...sinkSaw].join('\n')}`,
        );
      }
      assert.fail(
        `${lost.length} of ${acks.size} acknowledged alarms never reached the receiver within ${DELIVERY_WAIT_MS} ms (seed ${seed}):\n` +
          `${lost.join(' ')}\n\nkills: ${JSON.stringify(kills)}\n\n${details.join('\n\n')}`,
      );
    }

    // What arrived for each acknowledged alarm is the alarm that was posted.
    const mismatched: string[] = [];
    for (const [id, ack] of acks) {
      const got = s.firstAcceptedByAlarm.get(id)!;
      const labels = got.envelope?.alarm?.labels;
      if (labels?.seq !== String(ack.seq) || got.envelope?.method !== 'sink' || got.notificationId === undefined) {
        mismatched.push(`${id}: posted seq ${ack.seq}, received ${got.body.slice(0, 300)}`);
      }
    }
    assert.deepEqual(mismatched, [], 'delivered envelopes must carry the posted alarm');

    // ---- graceful stop -------------------------------------------------------------------------
    const last = relay;
    const t0 = Date.now();
    await last.stop(STOP_TIMEOUT_MS);
    const exit = await last.exited;
    say(`SIGTERM → exit ${exit.code ?? exit.signal} after ${Date.now() - t0} ms`, true);
    assert.deepEqual(exit, { code: 0, signal: null }, `relay should exit 0 after SIGTERM\n${last.stderr().slice(-3000)}`);
    assert.ok(kills.length >= 5, `expected at least 5 kills, got ${kills.length}`);
  } finally {
    stopPosting = true;
    await killAllRelays();
    await sink?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

for (const target of TARGETS) {
  test(`${target}: every acknowledged alarm is delivered at least once across repeated SIGKILLs`, { timeout: 180_000 }, (t) => crashRun(target, t));
}
