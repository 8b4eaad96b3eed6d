/**
 * The heartbeat canary (issue #10), end to end, on every target (Node, dist/tocsin, Deno): a relay with a
 * canary `path` whose notifications go to the webhook method `sink` (and nowhere else: the one route
 * sends ordinary alarms to the method `ops`, another receiver), pinging the strict fake healthchecks
 * server of test/support/fake-healthchecks.ts. Intervals are short (1 s) and every wait is bounded.
 *
 * - healthy path: `/start` then success with the same rid, run after run, and the canary notifications
 *   carry the canary's labels; with sources configured (ingest needs a token), the canary still gets in;
 * - the receiver answers 503: `/fail` within max_latency (+ one tick) naming the method and its last
 *   error; /readyz says `failing` but stays 200; the receiver back: success again;
 * - `kill -9` and restart while runs are open: no `/fail` at all, and the open runs get their success;
 * - a full disk (a small tmpfs this test mounts; root only, loud skip otherwise): `/fail` naming the
 *   injection error (503);
 * - the healthchecks server down (503, dropped connections) or black-holing pings: real alarms are
 *   accepted and delivered promptly, the relay stays ready and stops promptly;
 * - resolve: true: the firing then the resolved canary notification (same dedup key) before the success;
 * - affects_readiness: true (Node): /readyz answers 503 while the canary fails.
 *
 * Invariants checked after every case: the fake saw no violation (rid a UUID, paired with an earlier
 * `/start`, the ping URL's query kept, body within limits), every ping says `User-Agent: tocsin/<version>`,
 * a run ends with one outcome, no canary notification went through the routes (none at `ops`), and the
 * ping URL (a secret) is in no log line, ping body or metric.
 *
 * scripts/run-tests.mjs builds dist/tocsin before running the end-to-end tests that start it.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killAllRelays, RELAY_TARGETS, startRelay, type RelayProcess, type RelayTarget } from './relay-process.ts';
import { startWebhookSink, type ReceivedRequest, type SinkBehavior, type WebhookSink } from './webhook-sink.ts';
import { startFakeHealthchecks, type FakeCheck, type FakeHealthchecks, type Ping } from '../support/fake-healthchecks.ts';
import { needs } from '../support/peers.ts';
import { fill, mountTmpfs } from '../support/tmpfs.ts';

const CANARY = 'path';
const CHECK_NAME = `canary.${CANARY}`;
const INTERVAL_MS = 1000;
/** The canary service looks at open runs every second: a decision may come up to this late (plus a ping). */
const TICK_SLACK_MS = 1000 + 700;
/** A ping body's limit (issue #10: ≤ 10 kB). */
const MAX_BODY_BYTES = 10_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- the world of one test: fake healthchecks, two receivers, the relay (restartable) ------------------

interface CanaryOptions {
  /** Duration text, default "5s". */
  readonly maxLatency?: string;
  readonly resolve?: boolean;
  readonly affectsReadiness?: boolean;
}

interface SetupOptions extends CanaryOptions {
  readonly target: RelayTarget;
  /** The check the canary pings (default: a UUID check). */
  readonly check?: FakeCheck;
  /** Configure a source with a token: ingest needs it (the canary uses its own credential). */
  readonly auth?: boolean;
  /** Where the relay keeps its data (default: a fresh temp dir). */
  readonly dataDir?: string;
  /** The canary receiver's behaviour (default: 200 at once). */
  readonly sinkBehavior?: SinkBehavior;
  /** More YAML under `canaries:` (indented by 2), e.g. a second canary. */
  readonly moreCanaries?: readonly string[];
  /** Run after everything else is cleaned up (e.g. unmount). */
  readonly cleanup?: () => void;
  /** More texts that must appear in no log, ping body or metric (other canaries' ping URLs). */
  readonly moreSecrets?: readonly string[];
}

interface Harness {
  readonly target: RelayTarget;
  readonly hc: FakeHealthchecks;
  /** Receives the canary's notifications (method `sink`). */
  readonly sink: WebhookSink;
  /** Receives ordinary alarms (method `ops`, the only route). */
  readonly ops: WebhookSink;
  readonly maxLatencyMs: number;
  /** Every relay process started, the current one last. */
  readonly relays: RelayProcess[];
  readonly token: string | undefined;
  /** The secret parts of the ping URL (must appear nowhere). */
  readonly secrets: readonly string[];
  relay(): RelayProcess;
  /** Starts the relay (again) on the same data dir, with a fresh port. */
  start(): Promise<RelayProcess>;
}

function parseDurationMs(text: string): number {
  const m = /^(\d+)(ms|s)$/.exec(text);
  if (!m) throw new Error(`test: bad duration ${text}`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

async function setup(t: TestContext, o: SetupOptions): Promise<Harness> {
  const work = mkdtempSync(join(tmpdir(), 'tocsin-canary-'));
  const check: FakeCheck = o.check ?? { uuid: randomUUID() };
  let hc: FakeHealthchecks | undefined;
  let sink: WebhookSink | undefined;
  let ops: WebhookSink | undefined;
  t.after(async () => {
    await killAllRelays();
    await hc?.close();
    await sink?.close();
    await ops?.close();
    rmSync(work, { recursive: true, force: true });
    o.cleanup?.();
  });
  hc = await startFakeHealthchecks({ checks: [check] });
  sink = await startWebhookSink(o.sinkBehavior ? { behavior: o.sinkBehavior } : {});
  ops = await startWebhookSink();
  const dataDir = o.dataDir ?? join(work, 'data');
  // Generous by default: the cases on the path's timing set their own (see the plain-restart case).
  const maxLatency = o.maxLatency ?? '5s';
  const token = o.auth ? `e2e-${randomUUID()}` : undefined;
  const pingUrl = hc.url(0);
  const hook = (url: string) => `{ type: webhook, url: ${JSON.stringify(url)}, backoff_base: 50ms, backoff_cap: 500ms }`;
  const config = async () =>
    [
      `listen: 127.0.0.1:${await freePort()}`,
      `data_dir: ${JSON.stringify(dataDir)}`,
      'log_level: info',
      ...(token !== undefined ? ['sources:', `  ops-src: { token: ${JSON.stringify(token)} }`] : []),
      'methods:',
      `  sink: ${hook(sink!.url)}`,
      `  ops: ${hook(ops!.url)}`,
      'delivery:',
      '  poll_interval: 100ms',
      'routes:',
      '  - methods: [ops]',
      'canaries:',
      `  ${CANARY}:`,
      `    interval: ${INTERVAL_MS}ms`,
      '    methods: [sink]',
      `    ping_url: ${JSON.stringify(pingUrl)}`,
      `    max_latency: ${maxLatency}`,
      `    resolve: ${o.resolve ?? false}`,
      '    labels: { team: platform, env: e2e }',
      `    affects_readiness: ${o.affectsReadiness ?? false}`,
      ...(o.moreCanaries ?? []).map((l) => `  ${l}`),
      '',
    ].join('\n');
  const relays: RelayProcess[] = [];
  const h: Harness = {
    target: o.target,
    hc,
    sink,
    ops,
    maxLatencyMs: parseDurationMs(maxLatency),
    relays,
    token,
    secrets: ['uuid' in check ? check.uuid : check.pingKey, ...(o.moreSecrets ?? [])],
    relay: () => relays[relays.length - 1]!,
    async start() {
      const r = await startRelay({ target: o.target, configYaml: await config(), dataDir });
      relays.push(r);
      return r;
    },
  };
  await h.start();
  return h;
}

// ---- reading what happened -----------------------------------------------------------------------------

interface RunPings {
  /** The first /start. */
  start?: Ping;
  /** Every ping of the run, retries included (a ping not answered 2xx is tried again). */
  readonly starts: Ping[];
  readonly success: Ping[];
  readonly fail: Ping[];
}

/** The pings of check 0, by rid (in order of first appearance). */
function runs(hc: FakeHealthchecks): Map<string, RunPings> {
  const out = new Map<string, RunPings>();
  for (const p of hc.pings) {
    if (p.check !== 0 || p.rid === undefined) continue;
    let r = out.get(p.rid);
    if (!r) out.set(p.rid, (r = { starts: [], success: [], fail: [] }));
    if (p.kind === 'start') {
      r.start ??= p;
      r.starts.push(p);
    } else r[p.kind].push(p);
  }
  return out;
}

const pingsOf = (hc: FakeHealthchecks, kind: Ping['kind']) => hc.pings.filter((p) => p.check === 0 && p.kind === kind);

/** The canary's notifications a receiver got (requests, accepted or not), optionally of one run. */
function canaryRequests(s: WebhookSink, rid?: string, canary = CANARY): ReceivedRequest[] {
  return s.requests.filter(
    (r) => r.envelope?.alarm?.labels?.['tocsin_canary'] === canary && (rid === undefined || r.envelope.alarm.labels['tocsin_canary_run'] === rid),
  );
}

const ridOf = (r: ReceivedRequest) => r.envelope?.alarm?.labels?.['tocsin_canary_run'];
const alarmField = (r: ReceivedRequest, field: string) => r.envelope?.alarm?.[field];

/** What went on, for assertion messages: the pings, the receivers, the relay's log tail. */
function story(h: Harness): string {
  const t0 = h.hc.pings[0]?.at ?? Date.now();
  const pings = h.hc.pings.map((p) => `  +${p.at - t0}ms ${p.method} ${p.kind} ${p.rid?.slice(0, 8)} → ${p.status} ${JSON.stringify(p.body.slice(0, 300))}`);
  const sunk = h.sink.requests.map(
    (r) => `  +${r.at - t0}ms sink ${String(alarmField(r, 'status'))} ${ridOf(r)?.slice(0, 8)} → ${r.answer.status}${r.accepted ? ' accepted' : ''}${r.clientGone ? ' client gone' : ''}`,
  );
  const logs = h.relays.map((r, i) => `--- relay #${i} stderr (tail) ---\n${r.stderr().slice(-3000)}`);
  return ['--- pings ---', ...pings.slice(-60), '--- sink ---', ...sunk.slice(-40), `--- violations ---`, ...h.hc.violations, ...logs].join('\n');
}

async function until(h: Harness, what: string, fn: () => boolean | Promise<boolean>, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await fn())) {
    if (Date.now() > end) assert.fail(`timed out after ${limitMs} ms waiting for ${what}\n${story(h)}`);
    await sleep(25);
  }
}

interface Readyz {
  readonly status: number;
  readonly body: { status?: string; error?: string; checks?: Record<string, string> };
}

async function readyz(relay: RelayProcess): Promise<Readyz> {
  const res = await fetch(`${relay.baseUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as Readyz['body'] };
}

/** POSTs an ordinary alarm; its answer and how long it took. */
async function postAlarm(h: Harness, name: string): Promise<{ status: number; ms: number; text: string }> {
  const t0 = Date.now();
  const res = await fetch(`${h.relay().baseUrl}/v1/alarms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(h.token !== undefined ? { authorization: `Bearer ${h.token}` } : {}) },
    body: JSON.stringify({ name, severity: 'critical', labels: { service: 'checkout' } }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, ms: Date.now() - t0, text };
}

/** Waits for `n` more success pings than there are now; returns them. */
async function moreSuccesses(h: Harness, n: number, limitMs: number): Promise<Ping[]> {
  const before = pingsOf(h.hc, 'success').length;
  await until(h, `${n} more success ping(s)`, () => pingsOf(h.hc, 'success').length >= before + n, limitMs);
  return pingsOf(h.hc, 'success').slice(before);
}

/**
 * What must hold after every case. `duplicateSuccessOk(rid)`: whether a repeated success ping of that
 * run is allowed (only across a crash, see the kill -9 case).
 */
async function checkInvariants(h: Harness, duplicateSuccessOk: (rid: string) => boolean = () => false): Promise<void> {
  const why = () => story(h);
  assert.deepEqual(h.hc.violations, [], `the fake healthchecks saw violations\n${why()}`);
  for (const p of h.hc.pings) {
    assert.match(String(p.headers['user-agent']), /^tocsin\/\S+$/, `User-Agent of ${p.kind} ${p.rid}`);
    assert.ok(p.bodyBytes <= MAX_BODY_BYTES, `a ${p.kind} body of ${p.bodyBytes} bytes`);
    for (const s of h.secrets) assert.ok(!p.body.includes(s), `a ${p.kind} body names the ping URL: ${p.body}`);
  }
  /** A ping is tried again only while it was not taken (2xx); after that, another one is a repeat. */
  const repeats = (pings: readonly Ping[]) => {
    const taken = pings.findIndex((p) => p.accepted);
    return taken === -1 ? 0 : pings.length - taken - 1;
  };
  for (const [rid, r] of runs(h.hc)) {
    assert.ok(r.start !== undefined || (r.success.length === 0 && r.fail.length === 0), `run ${rid}: a final ping without /start\n${why()}`);
    assert.equal(repeats(r.starts), 0, `run ${rid}: /start sent again after it was taken (one rid per run)\n${why()}`);
    assert.ok(!(r.success.length > 0 && r.fail.length > 0), `run ${rid} got both a success and a fail ping\n${why()}`);
    assert.equal(repeats(r.fail), 0, `run ${rid}: its fail ping sent again after it was taken\n${why()}`);
    if (repeats(r.success) > 0) assert.ok(duplicateSuccessOk(rid), `run ${rid}: its success ping sent again after it was taken\n${why()}`);
  }
  const routed = canaryRequests(h.ops);
  assert.equal(routed.length, 0, `canary notifications went through the routes to ops: ${routed.map((r) => r.body).join('\n')}`);
  for (const r of canaryRequests(h.sink)) assert.equal(r.envelope?.method, 'sink');
  for (const [i, relay] of h.relays.entries()) {
    for (const s of h.secrets) {
      assert.ok(!relay.stderr().includes(s) && !relay.stdout().includes(s), `relay #${i} logged the ping URL (a secret)`);
    }
  }
  const last = h.relay();
  if (last.exitInfo() === undefined) {
    const metrics = await (await fetch(`${last.baseUrl}/metrics`)).text();
    for (const s of h.secrets) assert.ok(!metrics.includes(s), 'the ping URL (a secret) is in /metrics');
  }
}

/** The canary alarm as the receiver got it, against the spec. */
function checkCanaryAlarm(r: ReceivedRequest, rid: string, status: 'firing' | 'resolved'): void {
  const a = r.envelope?.alarm;
  assert.ok(a, `not an envelope: ${r.body}`);
  assert.equal(a['name'], 'TocsinCanary');
  assert.equal(a['severity'], 'info');
  assert.equal(a['status'], status);
  assert.equal(a['source'], 'canary', 'canary alarms have their own source');
  assert.deepEqual(a.labels, { tocsin_canary: CANARY, tocsin_canary_run: rid, team: 'platform', env: 'e2e' });
  assert.equal(r.envelope?.method, 'sink');
}

// ---- the cases, on every target -------------------------------------------------------------------------

for (const target of RELAY_TARGETS) {
  test(`${target}: healthy path: /start then success with the same rid, run after run; the receiver gets the canary alarm, the routes never`, async (t) => {
    const startedAt = Date.now();
    const h = await setup(t, { target, auth: true });
    // Ready soon after start (the delivery thread starting), whatever the canary has done so far.
    await until(h, '/readyz 200', async () => (await readyz(h.relay())).status === 200, 10_000);
    const first = await readyz(h.relay());
    assert.ok(['unknown', 'ok'].includes(first.body.checks?.[CHECK_NAME] ?? ''), `before any run ends: ${JSON.stringify(first.body)}`);

    const successes = await moreSuccesses(h, 3, 15_000);
    const all = runs(h.hc);
    for (const s of successes) {
      const rid = s.rid!;
      const r = all.get(rid)!;
      assert.ok(r.start && r.start.at <= s.at, `run ${rid}: /start before the success`);
      assert.match(s.body, /^sink \d+ ms$/, `the success body names the latency per method`);
      const got = canaryRequests(h.sink, rid).filter((x) => x.accepted);
      assert.equal(got.length, 1, `run ${rid}: the receiver accepted its canary notification once\n${story(h)}`);
      checkCanaryAlarm(got[0]!, rid, 'firing');
      assert.ok(got[0]!.at <= s.at, `run ${rid}: the success ping comes after the delivery`);
      assert.ok(s.at - r.start.at <= h.maxLatencyMs + TICK_SLACK_MS, `run ${rid}: success ${s.at - r.start.at} ms after /start`);
    }
    assert.equal(pingsOf(h.hc, 'fail').length, 0, `no fail ping on the healthy path\n${story(h)}`);
    // Runs every interval, not faster.
    assert.ok(pingsOf(h.hc, 'start').length <= Math.ceil((Date.now() - startedAt) / INTERVAL_MS) + 1, `too many runs\n${story(h)}`);

    const ready = await readyz(h.relay());
    assert.equal(ready.status, 200);
    assert.equal(ready.body.checks?.[CHECK_NAME], 'ok');
    // The canary's alarms are counted under their own source.
    const metrics = await (await fetch(`${h.relay().baseUrl}/metrics`)).text();
    assert.match(metrics, /^tocsin_alarms_accepted_total\{[^}]*source="canary"[^}]*\} [1-9]/m, 'canary alarms counted under source="canary"');
    // Their notifications too, apart: the sources' delivery counts are not inflated by them.
    assert.match(metrics, /^tocsin_canary_notifications_total\{method="sink",outcome="sent"\} [1-9]/m, 'canary notifications counted apart');
    assert.doesNotMatch(metrics, /^tocsin_(notifications_total|delivery_attempts_total)\{method="sink"/m, 'not in the per-method counts of the sources');
    assert.doesNotMatch(metrics, /^tocsin_notifications_enqueued_total [1-9]/m, 'nor in the enqueued count (no source alarm yet)');

    // An ordinary alarm still needs the source's token, and goes by the routes (to ops only).
    const denied = await fetch(`${h.relay().baseUrl}/v1/alarms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x","severity":"info"}' });
    assert.equal(denied.status, 401, 'no token, no ingest: the canary credential is not an open door');
    await denied.arrayBuffer();
    assert.equal((await postAlarm(h, 'RealOne')).status, 202);
    assert.ok(await h.ops.waitUntil(() => h.ops.requests.some((r) => r.accepted && alarmField(r, 'name') === 'RealOne'), 5000), 'the ordinary alarm reaches ops');
    assert.ok(!h.sink.requests.some((r) => alarmField(r, 'name') === 'RealOne'), 'an ordinary alarm never goes to the canary method');

    await checkInvariants(h);
    await h.relay().stop();
    assert.equal(h.relay().exitInfo()?.code, 0);
    const errors = h.relay().logLines().filter((l) => (l.level as number) >= 50);
    assert.deepEqual(errors, [], 'no error logged on the healthy path');
  });

  test(`${target}: the receiver answers 503: /fail within max_latency (+ one tick) naming the method and its error; readiness unaffected; back to 200: success again`, async (t) => {
    let down = false;
    const h = await setup(t, { target, maxLatency: '2s', sinkBehavior: () => (down ? { status: 503, body: 'receiver in maintenance' } : 200) });
    await moreSuccesses(h, 1, 10_000);

    down = true;
    const failsBefore = pingsOf(h.hc, 'fail').length;
    await until(h, 'a fail ping', () => pingsOf(h.hc, 'fail').length > failsBefore, INTERVAL_MS + h.maxLatencyMs + TICK_SLACK_MS + 3000);
    const fail = pingsOf(h.hc, 'fail')[failsBefore]!;
    const start = runs(h.hc).get(fail.rid!)!.start!;
    const took = fail.at - start.at;
    assert.ok(took >= h.maxLatencyMs - 500, `a pending notification fails the run at max_latency, not before (${took} ms)\n${story(h)}`);
    assert.ok(took <= h.maxLatencyMs + TICK_SLACK_MS, `the fail came ${took} ms after /start (max_latency ${h.maxLatencyMs} ms)\n${story(h)}`);
    assert.match(fail.body, /\bsink\b/, `the fail body names the method: ${fail.body}`);
    assert.match(fail.body, /503/, `the fail body names the method's last error: ${fail.body}`);
    assert.ok(canaryRequests(h.sink, fail.rid).length > 0, 'its notification was tried');

    // /readyz tells, but readiness stays (affects_readiness defaults to false).
    await until(h, `/readyz to say ${CHECK_NAME} is failing`, async () => (await readyz(h.relay())).body.checks?.[CHECK_NAME]?.startsWith('failing') ?? false, 3000);
    const failing = await readyz(h.relay());
    assert.equal(failing.status, 200, JSON.stringify(failing.body));
    assert.match(failing.body.checks?.[CHECK_NAME] ?? '', /^failing: .*sink/);

    down = false;
    const upAt = Date.now();
    await until(
      h,
      'a success ping of a run started after the receiver came back',
      () => pingsOf(h.hc, 'success').some((s) => (runs(h.hc).get(s.rid!)?.start?.at ?? 0) >= upAt),
      INTERVAL_MS + h.maxLatencyMs + TICK_SLACK_MS + 3000,
    );
    await until(h, `/readyz to say ${CHECK_NAME} is ok`, async () => (await readyz(h.relay())).body.checks?.[CHECK_NAME] === 'ok', 3000);
    // Runs failed while the receiver was down stay failed when their notifications go out later.
    await sleep(500);
    await checkInvariants(h);
    await h.relay().stop();
  });

  test(`${target}: kill -9 and restart while runs are open (healthy receiver): no /fail at all, and the open runs get their success`, async (t) => {
    // The receiver takes 400 ms per canary notification: a run is open for a while, and can be caught in flight.
    const h = await setup(t, { target, maxLatency: '20s', sinkBehavior: () => ({ status: 200, delayMs: 400 }) });
    await moreSuccesses(h, 1, 10_000);
    const kills: { what: string; at: number; open: string[] }[] = [];
    const taken = (pings: readonly Ping[]) => pings.some((p) => p.accepted);
    /** Runs started whose final ping healthchecks has not taken. */
    const openRids = () => [...runs(h.hc)].filter(([, r]) => r.start && !taken(r.success) && !taken(r.fail)).map(([rid]) => rid);
    const kill = async (what: string) => {
      kills.push({ what, at: Date.now(), open: openRids() });
      await h.relay().kill9();
    };

    // Kill 1: a canary notification is at the receiver, unanswered (its run open, its delivery in flight).
    const seen = h.sink.requests.length;
    await until(h, 'a canary notification in flight', () => h.sink.requests.slice(seen).some((r) => !r.accepted && !r.clientGone), 15_000);
    await kill('a delivery in flight');
    // Kill 2: as soon as the new process starts a run (its injection about to go, or in flight).
    const starts = pingsOf(h.hc, 'start').length;
    await h.start();
    await until(h, 'a /start from the restarted relay', () => pingsOf(h.hc, 'start').length > starts, 20_000);
    await kill('right after a /start');
    await h.start();
    // Kill 3: a run decided, its success ping sent but not taken (healthchecks drops the connection), killed
    // before the ping's retry: the run's final ping must not be lost with the process.
    await moreSuccesses(h, 1, h.maxLatencyMs + TICK_SLACK_MS + 2000);
    h.hc.setDown(true, 'close');
    const before = h.hc.pings.length;
    await until(h, 'a success ping (dropped)', () => h.hc.pings.slice(before).some((p) => p.kind === 'success'), 20_000);
    const dropped = h.hc.pings.slice(before).find((p) => p.kind === 'success')!.rid!;
    await kill('a success ping not taken');
    h.hc.setDown(false);
    await h.start();

    for (const k of kills) assert.ok(k.open.length > 0, `runs were open at the kill (${k.what})\n${story(h)}`);
    // Every run started so far ends with a success that healthchecks took.
    const started = [...runs(h.hc).keys()];
    const pending = () => started.filter((rid) => { const r = runs(h.hc).get(rid)!; return !taken(r.success) && !taken(r.fail); });
    await until(h, 'every run started so far to get its final ping', () => pending().length === 0, h.maxLatencyMs + TICK_SLACK_MS + 2000).catch((e: unknown) => {
      throw new Error(`${String(e)}\nruns without a final ping: ${pending().join(', ')}; open at the kills: ${JSON.stringify(kills)}`);
    });
    await h.relay().stop();
    await sleep(300);
    assert.deepEqual(pingsOf(h.hc, 'fail').map((p) => p.body), [], `no /fail at all across kill -9 and restarts\n${story(h)}`);
    const all = runs(h.hc);
    assert.ok(taken(all.get(dropped)!.success), `run ${dropped}: its success ping, dropped at the kill, is sent again after the restart\n${story(h)}`);
    for (const k of kills) {
      for (const rid of k.open) {
        const r = all.get(rid)!;
        const success = r.success.find((p) => p.accepted);
        assert.ok(success, `run ${rid}, open at a kill (${k.what}), got its success ping\n${story(h)}`);
        assert.ok(success.at - r.start!.at <= h.maxLatencyMs + TICK_SLACK_MS, `run ${rid}: its success within max_latency`);
      }
    }
    // At least once: a success ping taken twice only across a kill (decided and pinged, not yet confirmed).
    await checkInvariants(h, (rid) => {
      const took = all.get(rid)!.success.filter((p) => p.accepted);
      return took.length === 2 && kills.some((k) => took[0]!.at <= k.at && k.at <= took[1]!.at);
    });
  });

  test(`${target}: a plain restart (SIGTERM, start) never fails a run of the new process, even with max_latency: 1s`, async (t) => {
    const h = await setup(t, { target, maxLatency: '1s' });
    await moreSuccesses(h, 2, 10_000);
    const stops: number[] = [];
    for (let i = 0; i < 2; i++) {
      stops.push(Date.now());
      await h.relay().stop();
      assert.equal(h.relay().exitInfo()?.code, 0);
      await h.start();
      await moreSuccesses(h, 2, 10_000);
    }
    await h.relay().stop();
    await sleep(300);
    // A run open across the stop may fail, if stop + start took longer than its max_latency (issue #10: "a run
    // that is still open at max_latency after a restart gets /fail as usual"). A run started by the new
    // process must not: its path is as healthy as before the restart.
    const all = runs(h.hc);
    // A run whose /start was cut short by the stop (it is not sent again: the final ping is) spanned it too.
    const spanned = (f: Ping) => {
      const startAt = all.get(f.rid!)?.start?.at ?? -Infinity;
      return stops.some((s) => startAt < s && s < f.at) && f.body.includes('restarted during this run');
    };
    assert.deepEqual(pingsOf(h.hc, 'fail').filter((f) => !spanned(f)).map((f) => f.body), [], `no /fail from a restart alone\n${story(h)}`);
    await checkInvariants(h);
  });

  test(`${target}: a full disk: the injection is refused (503) and the run fails naming it; space back: success again`, async (t) => {
    const mnt = mkdtempSync(join(tmpdir(), 'tocsin-canary-full-'));
    if (!needs(t, mountTmpfs(mnt, '24m'))) return rmSync(mnt, { recursive: true, force: true });
    const h = await setup(t, {
      target,
      maxLatency: '3s',
      dataDir: join(mnt, 'data'),
      cleanup: () => {
        execFileSync('umount', [mnt]);
        rmSync(mnt, { recursive: true, force: true });
      },
    });
    await moreSuccesses(h, 1, 10_000);

    fill(join(mnt, 'filler'));
    const fullAt = Date.now();
    const injectionFails = () => pingsOf(h.hc, 'fail').filter((p) => p.body.includes('injection failed'));
    await until(h, 'a fail ping naming the injection', () => injectionFails().length > 0, 15_000);
    const fail = injectionFails()[0]!;
    assert.match(fail.body, /503/, `the fail names the ingest answer: ${fail.body}`);
    const start = runs(h.hc).get(fail.rid!)!.start!;
    assert.ok(start.at >= fullAt - INTERVAL_MS, 'a run started on the full disk');
    assert.ok(fail.at - start.at < h.maxLatencyMs, `a refused injection fails the run at once, not at max_latency (${fail.at - start.at} ms)\n${story(h)}`);
    assert.ok(canaryRequests(h.sink, fail.rid).length === 0, 'nothing of a refused injection was delivered');

    rmSync(join(mnt, 'filler'));
    const freeAt = Date.now();
    await until(
      h,
      'a success ping of a run started after space came back',
      () => pingsOf(h.hc, 'success').some((s) => (runs(h.hc).get(s.rid!)?.start?.at ?? 0) >= freeAt),
      20_000,
    );
    const metrics = await (await fetch(`${h.relay().baseUrl}/metrics`)).text();
    assert.match(metrics, /^tocsin_canary_failures_total\{[^}]*reason="injection"[^}]*\} [1-9]/m, 'the failure is counted by reason');
    await checkInvariants(h);
    await h.relay().stop();
  });

  test(`${target}: the healthchecks server down or hanging: real alarms are accepted and delivered promptly, the relay stays ready`, async (t) => {
    // A second canary pings a server that accepts connections and never answers.
    const hole = await blackHole();
    t.after(() => hole.close());
    const holeCheck = randomUUID();
    const holeUrl = `${hole.origin}/${holeCheck}`;
    const h = await setup(t, {
      target,
      maxLatency: '5s',
      moreSecrets: [holeCheck],
      moreCanaries: ['hang:', '  interval: 1s', '  methods: [sink]', `  ping_url: ${JSON.stringify(holeUrl)}`, '  max_latency: 3s'],
    });
    await moreSuccesses(h, 1, 10_000);

    let n = 0;
    for (const how of ['503', 'close'] as const) {
      h.hc.setDown(true, how);
      const names: string[] = [];
      for (let i = 0; i < 8; i++) {
        const name = `Real-${how}-${i}`;
        names.push(name);
        const r = await postAlarm(h, name);
        assert.equal(r.status, 202, r.text);
        assert.ok(r.ms < 1000, `ingest answered in ${r.ms} ms while healthchecks is down (${how})`);
        n++;
        await sleep(150);
      }
      const delivered = () => names.every((x) => h.ops.requests.some((r) => r.accepted && alarmField(r, 'name') === x));
      const lastPost = Date.now();
      assert.ok(await h.ops.waitUntil(delivered, 3000), `real alarms delivered within 3 s of their post (${how})\n${story(h)}`);
      assert.ok(Date.now() - lastPost < 3000);
      const ready = await readyz(h.relay());
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
    }
    assert.equal(h.ops.counts().uniqueAlarms, n);
    // The canary itself kept going through the real path: notifications of runs whose /start was not taken.
    const refusedStarts = new Set(pingsOf(h.hc, 'start').filter((p) => !p.accepted).map((p) => p.rid));
    assert.ok(refusedStarts.size > 0, 'the canary kept starting runs');
    await until(h, 'a canary notification of a run whose /start was refused', () => canaryRequests(h.sink).some((r) => refusedStarts.has(ridOf(r))), 6000);
    assert.ok(hole.requests() > 0, 'the other canary pings the black hole');

    h.hc.setDown(false);
    const upAt = Date.now();
    await until(
      h,
      'a success ping of a run started after healthchecks came back',
      () => pingsOf(h.hc, 'success').some((s) => s.accepted && (runs(h.hc).get(s.rid!)?.start?.at ?? 0) >= upAt),
      INTERVAL_MS + h.maxLatencyMs + TICK_SLACK_MS + 5000,
    );
    await checkInvariants(h);
    // Pings under way (hanging) do not hold up a stop.
    const stopAt = Date.now();
    await h.relay().stop(10_000);
    assert.equal(h.relay().exitInfo()?.code, 0);
    assert.ok(Date.now() - stopAt < 10_000);
  });

  test(`${target}: resolve: true: the firing then the resolved canary notification (same dedup key), then the success ping`, async (t) => {
    const h = await setup(t, {
      target,
      resolve: true,
      maxLatency: '5s',
      // The slug form with create=1: the query is kept before and after /start, /fail.
      check: { pingKey: `pk${randomUUID().replaceAll('-', '').slice(0, 20)}`, slug: 'tocsin-e2e', query: { create: '1' } },
    });
    const successes = await moreSuccesses(h, 3, 15_000);
    const keys = new Set<string>();
    for (const s of successes) {
      const rid = s.rid!;
      assert.match(s.body, /^firing: sink \d+ ms; resolved: sink \d+ ms$/, 'the success body names both phases');
      const got = canaryRequests(h.sink, rid).filter((r) => r.accepted);
      const firing = got.filter((r) => alarmField(r, 'status') === 'firing');
      const resolved = got.filter((r) => alarmField(r, 'status') === 'resolved');
      assert.equal(firing.length, 1, `run ${rid}: one firing notification\n${story(h)}`);
      assert.equal(resolved.length, 1, `run ${rid}: one resolved notification\n${story(h)}`);
      checkCanaryAlarm(firing[0]!, rid, 'firing');
      checkCanaryAlarm(resolved[0]!, rid, 'resolved');
      const key = alarmField(firing[0]!, 'dedup_key');
      assert.equal(alarmField(resolved[0]!, 'dedup_key'), key, 'the resolve has the firing alarm dedup key');
      assert.ok(typeof key === 'string' && !keys.has(key), 'one dedup key per run');
      keys.add(key as string);
      assert.ok(firing[0]!.at <= resolved[0]!.at, 'firing before resolved');
      assert.ok(resolved[0]!.at <= s.at, 'the success ping waits for the resolved notification');
    }
    assert.equal(pingsOf(h.hc, 'fail').length, 0, story(h));
    assert.equal(h.hc.pings[0]?.status, 201, 'the first ping created the check (create=1 kept)');
    await checkInvariants(h);
    await h.relay().stop();
  });
}

test('node: affects_readiness: true: /readyz answers 503 while the canary fails, 200 again once it succeeds', async (t) => {
  let down = false;
  const h = await setup(t, { target: 'node', maxLatency: '2s', affectsReadiness: true, sinkBehavior: () => (down ? 503 : 200) });
  await moreSuccesses(h, 1, 10_000);
  await until(h, `${CHECK_NAME} ok`, async () => (await readyz(h.relay())).body.checks?.[CHECK_NAME] === 'ok', 3000);
  assert.equal((await readyz(h.relay())).status, 200);

  down = true;
  await until(h, '/readyz 503', async () => (await readyz(h.relay())).status === 503, INTERVAL_MS + h.maxLatencyMs + TICK_SLACK_MS + 3000);
  const r = await readyz(h.relay());
  assert.match(r.body.checks?.[CHECK_NAME] ?? '', /^failing: .*sink/, JSON.stringify(r.body));
  assert.equal(r.body.checks?.database, 'ok', 'only the canary fails readiness');
  assert.match(r.body.error ?? '', new RegExp(`^${CHECK_NAME.replace('.', '\\.')}: failing`), JSON.stringify(r.body));
  assert.ok(pingsOf(h.hc, 'fail').length > 0, 'and healthchecks was told');

  down = false;
  await until(h, '/readyz 200 again', async () => (await readyz(h.relay())).status === 200, INTERVAL_MS + h.maxLatencyMs + TICK_SLACK_MS + 3000);
  assert.equal((await readyz(h.relay())).body.checks?.[CHECK_NAME], 'ok');
  await checkInvariants(h);
  await h.relay().stop();
});

// ---- helpers: a full disk (as in disk-full.test.ts), a black-hole server --------------------------------



/** An HTTP server on 127.0.0.1 that reads every request and never answers. */
async function blackHole(): Promise<{ origin: string; requests(): number; close(): Promise<void> }> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage) => {
    req.on('error', () => {});
    req.resume();
    count++;
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests: () => count,
    async close() {
      const done = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}
