import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  capBody,
  injected,
  injectionFailed,
  latencyText,
  maxOpenRuns,
  recovered,
  reported,
  startRun,
  tick,
  watchedNotificationIds,
  type Action,
  type CanarySpec,
  type NotificationView,
  type Run,
  type Step,
} from './run.ts';
import { deepFreeze } from '../lib/freeze.ts';

const T0 = 1_700_000_000_000;
const spec: CanarySpec = deepFreeze({ name: 'api', intervalMs: 10_000, maxLatencyMs: 30_000, resolve: false, methods: ['ops-hook', 'log'] });
const specR: CanarySpec = deepFreeze({ ...spec, resolve: true });
const bytes = (s: string) => new TextEncoder().encode(s).length;

// Every input is frozen: the module must never change what it is given.
function start(s: CanarySpec = spec, rid = 'r1', now = T0, runs: readonly Run[] = []): Step {
  const r = startRun(deepFreeze(s), rid, now, deepFreeze(runs));
  assert.equal(r.kind, 'started');
  return r as Step;
}
const inj = (run: Run, status: 'firing' | 'resolved', alarmId: string, ids: string[], now: number) =>
  injected(deepFreeze(run), status, deepFreeze({ alarmId, notificationIds: ids }), now);
const tk = (s: CanarySpec, run: Run, views: NotificationView[], now: number) => tick(s, deepFreeze(run), deepFreeze(views), now);

const pending = (id: string, method: string, lastError?: string): NotificationView =>
  lastError === undefined ? { id, method, state: 'pending' } : { id, method, state: 'pending', lastError };
const sent = (id: string, method: string, sentAt: number): NotificationView => ({ id, method, state: 'sent', sentAt });
const dead = (id: string, method: string, deadReason: string): NotificationView => ({ id, method, state: 'dead', deadReason });

/** A run of `s` whose firing alarm was injected at T0+50 with n1 (ops-hook) and n2 (log). */
function firing(s: CanarySpec = spec): Run {
  return inj(start(s).run, 'firing', 'a1', ['n1', 'n2'], T0 + 50).run;
}
/** A run of specR whose firing alarm was delivered and whose resolve (n3 ops-hook, n4 log) was injected at T0+1100. */
function resolving(): Run {
  const afterFiring = tk(specR, firing(specR), [sent('n1', 'ops-hook', T0 + 412), sent('n2', 'log', T0 + 3)], T0 + 1000).run;
  return inj(afterFiring, 'resolved', 'a2', ['n3', 'n4'], T0 + 1100).run;
}

function pings(actions: readonly Action[]) {
  return actions.filter((a) => a.type === 'ping');
}
/** The run a step decided, with the exact two actions a decision returns: save it, then its one final ping. */
function assertDecided(step: Step, outcome: 'succeeded' | 'failed', report: string, now: number): void {
  assert.equal(step.run.stage, 'reporting');
  assert.equal(step.run.outcome, outcome);
  assert.equal(step.run.report, report);
  assert.equal(step.run.decidedAt, now);
  assert.deepEqual(step.actions, [
    { type: 'save', run: step.run },
    { type: 'ping', canary: 'api', kind: outcome === 'succeeded' ? 'success' : 'fail', rid: 'r1', body: report },
  ]);
}
const failsWith = (step: Step, report: string, now: number) => assertDecided(step, 'failed', report, now);

test('maxOpenRuns is ceil(max_latency / interval) + 1', () => {
  const table: [intervalMs: number, maxLatencyMs: number, expected: number][] = [
    [10_000, 30_000, 4],
    [7_000, 30_000, 6],
    [30_000, 30_000, 2],
    [60_000, 30_000, 2],
    [60_000, 1_000, 2],
  ];
  for (const [intervalMs, maxLatencyMs, expected] of table) {
    assert.equal(maxOpenRuns({ intervalMs, maxLatencyMs }), expected, `interval ${intervalMs}, max_latency ${maxLatencyMs}`);
  }
});

test('startRun saves the run, pings start, then injects the firing alarm', () => {
  const step = start();
  const run: Run = { rid: 'r1', canary: 'api', startedAt: T0, maxLatencyMs: 30_000, resolve: false, stage: 'injecting-firing', outcome: 'open', restarts: 0 };
  assert.deepEqual(step.run, run);
  assert.deepEqual(step.actions, [
    { type: 'save', run },
    { type: 'ping', canary: 'api', kind: 'start', rid: 'r1', body: '' },
    { type: 'inject', canary: 'api', rid: 'r1', status: 'firing', dedupKey: 'tocsin-canary:api:r1', idempotencyKey: 'tocsin-canary-r1-firing' },
  ]);
  assert.deepEqual(watchedNotificationIds(step.run), []);
});

test('success: every notification sent → one success ping with the latency per method, then done', () => {
  const run = firing();
  assert.deepEqual(run, {
    rid: 'r1',
    canary: 'api',
    startedAt: T0,
    maxLatencyMs: 30_000,
    resolve: false,
    stage: 'firing',
    outcome: 'open',
    restarts: 0,
    firingAlarmId: 'a1',
    firingNotificationIds: ['n1', 'n2'],
  });
  assert.deepEqual(watchedNotificationIds(run), ['n1', 'n2']);

  const waiting = tk(spec, run, [pending('n1', 'ops-hook', '503 Service Unavailable'), sent('n2', 'log', T0 + 3)], T0 + 1000);
  assert.deepEqual(waiting, { run, actions: [] });

  const done = tk(spec, run, [sent('n1', 'ops-hook', T0 + 412), sent('n2', 'log', T0 + 3)], T0 + 2000);
  assertDecided(done, 'succeeded', 'ops-hook 412 ms, log 3 ms', T0 + 2000);
  assert.equal(done.run.firingSentAt, T0 + 412);
  assert.deepEqual(done.run.firingLatencyMs, { 'ops-hook': 412, log: 3 });
  assert.deepEqual(watchedNotificationIds(done.run), []);

  assert.deepEqual(reported(run, T0 + 1500), { run, actions: [] }, 'reported before a decision changes nothing');
  const confirmed = reported(deepFreeze(done.run), T0 + 2100);
  assert.deepEqual(confirmed.run, { ...done.run, stage: 'done', reportedAt: T0 + 2100 });
  assert.deepEqual(confirmed.actions, [{ type: 'save', run: confirmed.run }]);
});

test('views of other notifications are ignored, and a sent view without sentAt counts as sent when seen', () => {
  const step = tk(spec, firing(), [sent('zz', 'log', T0 + 1), { id: 'n1', method: 'ops-hook', state: 'sent' }, sent('n2', 'log', T0 + 3)], T0 + 700);
  assertDecided(step, 'succeeded', 'ops-hook 700 ms, log 3 ms', T0 + 700);
});

test('latencyText: the spec order first, then other methods by name; whole milliseconds, never negative', () => {
  assert.equal(latencyText(spec, { log: 3, 'ops-hook': 412 }), 'ops-hook 412 ms, log 3 ms');
  assert.equal(latencyText({ methods: ['log', 'ops-hook'] }, { zeta: 1, 'ops-hook': 412.6, audit: 7, log: 3 }), 'log 3 ms, ops-hook 413 ms, audit 7 ms, zeta 1 ms');
  assert.equal(latencyText(spec, { 'ops-hook': -5 }), 'ops-hook 0 ms');
});

test('injection failure (no 2xx) → fail at once with the reason', () => {
  const reasons = ['503 disk full', '503 database locked', '503 overloaded (Retry-After: 30)', 'timeout after 10s', 'connection refused'];
  for (const reason of reasons) {
    failsWith(injectionFailed(deepFreeze(start().run), 'firing', reason, T0 + 10), `injection failed: ${reason}`, T0 + 10);
  }
});

test('an injection that produced no notifications → fail, naming the alarm', () => {
  failsWith(inj(start().run, 'firing', 'alm_1', [], T0 + 20), 'injection produced no notifications: alarm alm_1 matched no route', T0 + 20);
});

test('a dead-lettered notification → fail at once, before max_latency, with every dead reason', () => {
  const run = firing();
  failsWith(tk(spec, run, [dead('n1', 'ops-hook', '400 Bad Request'), pending('n2', 'log')], T0 + 1000), 'ops-hook: dead-lettered: 400 Bad Request', T0 + 1000);
  failsWith(
    tk(spec, run, [dead('n1', 'ops-hook', '400 Bad Request'), dead('n2', 'log', 'gave up after 20 attempts (max_attempts): stdout closed')], T0 + 1000),
    'ops-hook: dead-lettered: 400 Bad Request; log: dead-lettered: gave up after 20 attempts (max_attempts): stdout closed',
    T0 + 1000,
  );
  // Without a dead reason, the last error; without either, a plain statement.
  failsWith(
    tk(spec, run, [{ id: 'n1', method: 'ops-hook', state: 'dead', lastError: 'HTTP 410' }, { id: 'n2', method: 'log', state: 'dead' }], T0 + 1000),
    'ops-hook: dead-lettered: HTTP 410; log: dead-lettered: no reason recorded',
    T0 + 1000,
  );
  // Dead and past max_latency in the same tick: the dead reason.
  failsWith(tk(spec, run, [dead('n1', 'ops-hook', '400 Bad Request'), pending('n2', 'log')], T0 + 40_000), 'ops-hook: dead-lettered: 400 Bad Request', T0 + 40_000);
});

test('a method of the spec without a notification → fail (judged once every notification of the run is seen)', () => {
  const run = inj(start().run, 'firing', 'a1', ['n1'], T0 + 50).run;
  failsWith(tk(spec, run, [pending('n1', 'ops-hook')], T0 + 1000), 'no notification for log: the canary alarm is not routed to it', T0 + 1000);
  // Extra methods are fine; they must be delivered too.
  const extra = firing();
  assert.deepEqual(tk({ ...spec, methods: ['ops-hook'] }, extra, [sent('n1', 'ops-hook', T0 + 9), pending('n2', 'log')], T0 + 1000).actions, []);
  // A notification not (yet) visible: no judgement on routing before max_latency.
  assert.deepEqual(tk(spec, extra, [sent('n1', 'ops-hook', T0 + 9)], T0 + 1000).actions, []);
});

test('max_latency passed with notifications pending → fail, naming them and their last error', () => {
  const run = firing();
  const views = [pending('n1', 'ops-hook', '503 Service Unavailable'), sent('n2', 'log', T0 + 3)];
  assert.deepEqual(tk(spec, run, views, T0 + 30_000).actions, [], 'at the deadline itself: still waiting');
  failsWith(tk(spec, run, views, T0 + 30_001), 'max_latency 30s passed: ops-hook still pending (last error: 503 Service Unavailable)', T0 + 30_001);
  failsWith(
    tk(spec, run, [pending('n1', 'ops-hook', '503 Service Unavailable'), pending('n2', 'log')], T0 + 31_000),
    'max_latency 30s passed: ops-hook still pending (last error: 503 Service Unavailable); log still pending',
    T0 + 31_000,
  );
  failsWith(
    tk(spec, run, [pending('n1', 'ops-hook', 'connection refused')], T0 + 31_000),
    'max_latency 30s passed: ops-hook still pending (last error: connection refused); n2 not found in the database',
    T0 + 31_000,
  );
  // max_latency in its natural unit, and the run's own: a reload that changes the spec does not move its deadline.
  const short: CanarySpec = { ...spec, maxLatencyMs: 1500 };
  const shortRun = inj(start(short).run, 'firing', 'a1', ['n1', 'n2'], T0 + 50).run;
  failsWith(tk(spec, shortRun, views, T0 + 2000), 'max_latency 1500ms passed: ops-hook still pending (last error: 503 Service Unavailable)', T0 + 2000);
});

test('max_latency passed with the injection unanswered → fail', () => {
  const run = start().run;
  assert.deepEqual(tk(spec, run, [], T0 + 30_000).actions, []);
  failsWith(tk(spec, run, [], T0 + 30_001), 'max_latency 30s passed: the injection got no answer', T0 + 30_001);
});

test('sent on time but seen late → success; sent after the deadline → fail', () => {
  const run = firing();
  assertDecided(tk(spec, run, [sent('n1', 'ops-hook', T0 + 30_000), sent('n2', 'log', T0 + 3)], T0 + 31_000), 'succeeded', 'ops-hook 30000 ms, log 3 ms', T0 + 31_000);
  failsWith(
    tk(spec, run, [sent('n1', 'ops-hook', T0 + 30_500), sent('n2', 'log', T0 + 3)], T0 + 31_000),
    'max_latency 30s passed: ops-hook sent only 30500 ms after the run started',
    T0 + 31_000,
  );
});

test('resolve: the firing alarm delivered → the resolved alarm (same dedup key) is injected, no ping yet', () => {
  const run = firing(specR);
  const step = tk(specR, run, [sent('n1', 'ops-hook', T0 + 412), sent('n2', 'log', T0 + 3)], T0 + 1000);
  const next: Run = { ...run, stage: 'injecting-resolved', firingSentAt: T0 + 412, firingLatencyMs: { 'ops-hook': 412, log: 3 }, resolveRequestedAt: T0 + 1000 };
  assert.deepEqual(step.run, next);
  assert.deepEqual(step.actions, [
    { type: 'save', run: next },
    { type: 'inject', canary: 'api', rid: 'r1', status: 'resolved', dedupKey: 'tocsin-canary:api:r1', idempotencyKey: 'tocsin-canary-r1-resolved' },
  ]);
  // The firing's answer arriving twice, or a firing failure reported late, changes nothing now.
  assert.deepEqual(inj(step.run, 'firing', 'a1', ['n1', 'n2'], T0 + 1050), { run: step.run, actions: [] });
  assert.deepEqual(injectionFailed(step.run, 'firing', 'timeout', T0 + 1050), { run: step.run, actions: [] });
});

test('resolve: success only after the resolved notifications are sent too, with both latencies', () => {
  const run = resolving();
  assert.equal(run.stage, 'resolving');
  assert.equal(run.resolvedAlarmId, 'a2');
  assert.deepEqual(watchedNotificationIds(run), ['n3', 'n4']);
  const firingViews = [sent('n1', 'ops-hook', T0 + 412), sent('n2', 'log', T0 + 3)];
  assert.deepEqual(tk(specR, run, firingViews, T0 + 2000).actions, [], 'the firing views alone do not finish the run');
  assert.deepEqual(tk(specR, run, [...firingViews, pending('n3', 'ops-hook'), sent('n4', 'log', T0 + 1002)], T0 + 2000).actions, []);
  assertDecided(
    tk(specR, run, [sent('n3', 'ops-hook', T0 + 1380), sent('n4', 'log', T0 + 1002)], T0 + 3000),
    'succeeded',
    'firing: ops-hook 412 ms, log 3 ms; resolved: ops-hook 380 ms, log 2 ms',
    T0 + 3000,
  );
});

test('resolve: every way the resolved alarm can fail the run', () => {
  const run = resolving();
  failsWith(tk(specR, run, [dead('n3', 'ops-hook', '400 Bad Request'), pending('n4', 'log')], T0 + 2000), 'ops-hook: dead-lettered (resolved alarm): 400 Bad Request', T0 + 2000);
  failsWith(
    tk(specR, run, [pending('n3', 'ops-hook', '503 Service Unavailable'), sent('n4', 'log', T0 + 1002)], T0 + 30_001),
    'max_latency 30s passed (resolved alarm): ops-hook still pending (last error: 503 Service Unavailable)',
    T0 + 30_001,
  );
  const injecting = tk(specR, firing(specR), [sent('n1', 'ops-hook', T0 + 412), sent('n2', 'log', T0 + 3)], T0 + 1000).run;
  failsWith(injectionFailed(deepFreeze(injecting), 'resolved', '503 disk full', T0 + 1100), 'injection failed (resolved alarm): 503 disk full', T0 + 1100);
  failsWith(inj(injecting, 'resolved', 'a2', [], T0 + 1100), 'injection produced no notifications (resolved alarm): alarm a2 matched no route', T0 + 1100);
  failsWith(tk(specR, injecting, [], T0 + 30_001), 'max_latency 30s passed (resolved alarm): the injection got no answer', T0 + 30_001);
  failsWith(
    tk(specR, inj(injecting, 'resolved', 'a2', ['n3'], T0 + 1100).run, [sent('n3', 'log', T0 + 1200)], T0 + 2000),
    'no notification for ops-hook (resolved alarm): the canary alarm is not routed to it',
    T0 + 2000,
  );
});

test('overlap: a run is skipped once maxOpenRuns runs of the canary are open; others do not count', () => {
  const open = (rid: string): Run => ({ ...start(spec, rid).run });
  const three = [open('a'), open('b'), open('c')];
  assert.equal(startRun(spec, 'd', T0, deepFreeze(three)).kind, 'started');
  assert.deepEqual(startRun(spec, 'e', T0, deepFreeze([...three, open('d')])), {
    kind: 'skipped',
    reason: 'run skipped: 4 runs of canary api still open, the limit (ceil(max_latency 30s / interval 10s) + 1 = 4)',
  });
  const decided = failsOf(open('x'));
  const others = [{ ...open('o'), canary: 'other' }, decided, reported(decided, T0).run];
  assert.equal(startRun(spec, 'e', T0, deepFreeze([...three, ...others])).kind, 'started');
});
function failsOf(run: Run): Run {
  return injectionFailed(run, 'firing', 'x', T0).run;
}

test('overlap: delivery that never completes fills the limit but never exceeds it while ticks run; a stalled tick loop hits it', () => {
  // Every 10 s a run starts (before the tick of that second); every second each open run is ticked with nothing delivered.
  function simulate(tickUntil: number): { skipped: string[]; maxOpen: number; fails: number } {
    let runs: Run[] = [];
    const skipped: string[] = [];
    let maxOpen = 0;
    let fails = 0;
    for (let s = 0; s <= 80; s++) {
      const now = T0 + s * 1000;
      if (s % 10 === 0) {
        const r = startRun(spec, `r${s}`, now, runs);
        if (r.kind === 'skipped') skipped.push(`r${s}`);
        else runs.push(inj(r.run, 'firing', `a${s}`, [`n${s}`, `m${s}`], now).run);
      }
      if (s <= tickUntil || s > 60) {
        runs = runs.map((run) => {
          const [n, m] = run.firingNotificationIds!;
          const step = tick(spec, run, [pending(n!, 'ops-hook'), pending(m!, 'log')], now);
          fails += pings(step.actions).length;
          return step.run;
        });
      }
      maxOpen = Math.max(maxOpen, runs.filter((r) => r.outcome === 'open').length);
    }
    return { skipped, maxOpen, fails };
  }
  assert.deepEqual(simulate(80), { skipped: [], maxOpen: 4, fails: 5 }, 'r0..r40 failed at max_latency (start + 31 s); r50..r80 still open at 80 s');
  // Ticks stall from 0 s to 60 s: r0..r30 stay open, so r40, r50 and r60 are skipped.
  assert.deepEqual(simulate(0), { skipped: ['r40', 'r50', 'r60'], maxOpen: 4, fails: 4 });
});

test('restart: an open run is saved again and keeps its deadline; a restart alone never pings', () => {
  const run = JSON.parse(JSON.stringify(firing())) as Run;
  assert.deepEqual(run, firing(), 'the run is plain JSON');
  const step = recovered(deepFreeze(run), T0 + 5000);
  assert.deepEqual(step.run, { ...run, restarts: 1 });
  assert.deepEqual(step.actions, [{ type: 'save', run: step.run }]);
  // Ticked every second up to the deadline with nothing delivered: no ping at all.
  for (let now = T0 + 5000; now <= T0 + 30_000; now += 1000) {
    assert.deepEqual(tk(spec, step.run, [pending('n1', 'ops-hook', 'connection refused'), pending('n2', 'log')], now).actions, [], `at +${now - T0}`);
  }
  // Delivered within max_latency after the restart → the success ping.
  assertDecided(tk(spec, step.run, [sent('n1', 'ops-hook', T0 + 6200), sent('n2', 'log', T0 + 6100)], T0 + 7000), 'succeeded', 'ops-hook 6200 ms, log 6100 ms', T0 + 7000);
  // Still open at max_latency → fail as usual, saying that tocsin restarted.
  failsWith(
    tk(spec, step.run, [pending('n1', 'ops-hook', 'connection refused'), sent('n2', 'log', T0 + 6100)], T0 + 30_001),
    'max_latency 30s passed: ops-hook still pending (last error: connection refused) (tocsin restarted during this run)',
    T0 + 30_001,
  );
});

test('restart: an injection that was in flight is sent again with the same keys, unless max_latency has passed', () => {
  const injecting = start().run;
  const again = recovered(deepFreeze(injecting), T0 + 3000);
  assert.deepEqual(again.actions, [
    { type: 'save', run: { ...injecting, restarts: 1 } },
    { type: 'inject', canary: 'api', rid: 'r1', status: 'firing', dedupKey: 'tocsin-canary:api:r1', idempotencyKey: 'tocsin-canary-r1-firing' },
  ]);
  // The repeat answers with the original ids; the run goes on.
  const repeat = inj(again.run, 'firing', 'a1', ['n1', 'n2'], T0 + 3100);
  assert.equal(repeat.run.stage, 'firing');
  assertDecided(tk(spec, repeat.run, [sent('n1', 'ops-hook', T0 + 3300), sent('n2', 'log', T0 + 3200)], T0 + 4000), 'succeeded', 'ops-hook 3300 ms, log 3200 ms', T0 + 4000);

  const late = recovered(deepFreeze(injecting), T0 + 40_000);
  assert.deepEqual(late.actions, [{ type: 'save', run: { ...injecting, restarts: 1 } }], 'no injection past max_latency');
  failsWith(tk(spec, late.run, [], T0 + 40_000), 'max_latency 30s passed: the injection got no answer (tocsin restarted during this run)', T0 + 40_000);

  const injectingResolved = tk(specR, firing(specR), [sent('n1', 'ops-hook', T0 + 412), sent('n2', 'log', T0 + 3)], T0 + 1000).run;
  assert.deepEqual(recovered(deepFreeze(injectingResolved), T0 + 2000).actions, [
    { type: 'save', run: { ...injectingResolved, restarts: 1 } },
    { type: 'inject', canary: 'api', rid: 'r1', status: 'resolved', dedupKey: 'tocsin-canary:api:r1', idempotencyKey: 'tocsin-canary-r1-resolved' },
  ]);
});

test('restart: a decided run whose final ping was not confirmed pings again (same body); a done run does nothing', () => {
  const succeeded = tk(spec, firing(), [sent('n1', 'ops-hook', T0 + 412), sent('n2', 'log', T0 + 3)], T0 + 1000).run;
  const roundTripped = JSON.parse(JSON.stringify(succeeded)) as Run;
  assert.deepEqual(recovered(deepFreeze(roundTripped), T0 + 90_000), {
    run: roundTripped,
    actions: [{ type: 'ping', canary: 'api', kind: 'success', rid: 'r1', body: 'ops-hook 412 ms, log 3 ms' }],
  });
  const failed = failsOf(start().run);
  assert.deepEqual(recovered(deepFreeze(failed), T0 + 90_000).actions, [{ type: 'ping', canary: 'api', kind: 'fail', rid: 'r1', body: 'injection failed: x' }]);
  const done = reported(failed, T0 + 100).run;
  assert.deepEqual(recovered(deepFreeze(done), T0 + 90_000), { run: done, actions: [] });
});

test('exactly one final ping: once decided, nothing pings again', () => {
  const views: NotificationView[][] = [
    [],
    [sent('n1', 'ops-hook', T0 + 412), sent('n2', 'log', T0 + 3)],
    [dead('n1', 'ops-hook', '400 Bad Request'), pending('n2', 'log')],
    [pending('n1', 'ops-hook', '503'), pending('n2', 'log')],
  ];
  const decidedRuns: [string, Step][] = [
    ['succeeded', tk(spec, firing(), views[1]!, T0 + 1000)],
    ['dead-lettered', tk(spec, firing(), views[2]!, T0 + 1000)],
    ['max_latency', tk(spec, firing(), views[3]!, T0 + 30_001)],
    ['injection failed', injectionFailed(start().run, 'firing', '503 disk full', T0 + 10)],
    ['resolved succeeded', tk(specR, resolving(), [sent('n3', 'ops-hook', T0 + 1380), sent('n4', 'log', T0 + 1002)], T0 + 3000)],
  ];
  for (const [name, decision] of decidedRuns) {
    assert.equal(pings(decision.actions).length, 1, name);
    for (const run of [decision.run, reported(decision.run, T0 + 60_000).run]) {
      const later: Step[] = [
        ...views.flatMap((v) => [tk(spec, run, v, T0 + 2000), tk(specR, run, v, T0 + 100_000)]),
        inj(run, 'firing', 'a1', ['n1', 'n2'], T0 + 2000),
        inj(run, 'resolved', 'a2', ['n3', 'n4'], T0 + 2000),
        inj(run, 'firing', 'a1', [], T0 + 2000),
        injectionFailed(deepFreeze(run), 'firing', 'timeout', T0 + 2000),
        injectionFailed(deepFreeze(run), 'resolved', 'timeout', T0 + 2000),
      ];
      for (const step of later) assert.deepEqual(step, { run, actions: [] }, `${name}, stage ${run.stage}`);
    }
    assert.deepEqual(reported(reported(decision.run, T0 + 1).run, T0 + 2).actions, [], `${name}: reported twice`);
  }
});

test('capBody: at most 10 kB of UTF-8, cut between characters, marked', () => {
  assert.equal(capBody('abc'), 'abc');
  const exact = 'a'.repeat(10_000);
  assert.equal(capBody(exact), exact);
  assert.equal(capBody('a'.repeat(10_001)), `${'a'.repeat(9985)}… (truncated)`);
  assert.equal(bytes(capBody('a'.repeat(10_001))), 10_000);
  const twoByte = capBody('é'.repeat(6000));
  assert.equal(twoByte, `${'é'.repeat(4992)}… (truncated)`);
  assert.equal(bytes(twoByte), 9999);
  const fourByte = capBody('😀'.repeat(3000));
  assert.equal(fourByte, `${'😀'.repeat(2496)}… (truncated)`);
  assert.equal(bytes(fourByte), 9999);
  assert.equal(capBody('abcdefghijklmnopqrstuvwxyz', 20), 'abcde… (truncated)');
});

test('fail bodies: an outside text is quoted up to 2000 bytes; the whole body is capped at 10 kB, restart note kept', () => {
  const huge = 'x'.repeat(20_000);
  const step = injectionFailed(deepFreeze(start().run), 'firing', huge, T0 + 10);
  failsWith(step, `injection failed: ${'x'.repeat(1985)}… (truncated)`, T0 + 10);
  assert.equal(bytes(step.run.report!), 2018);

  const methods = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8'];
  const many: CanarySpec = { ...spec, methods };
  const ids = methods.map((m) => `n-${m}`);
  const run = inj(start(many).run, 'firing', 'a1', ids, T0 + 50).run;
  const views = methods.map((m) => pending(`n-${m}`, m, huge));
  const capped = tk(many, run, views, T0 + 30_001);
  const body = capped.run.report!;
  assert.equal(bytes(body), 10_000);
  assert.ok(body.startsWith(`max_latency 30s passed: m1 still pending (last error: ${'x'.repeat(1985)}… (truncated)); m2 still pending`), body.slice(0, 80));
  assert.ok(body.endsWith('x… (truncated)'));
  failsWith(capped, body, T0 + 30_001);

  const afterRestart = tk(many, recovered(run, T0 + 1000).run, views, T0 + 30_001).run.report!;
  assert.equal(bytes(afterRestart), 10_000);
  assert.ok(afterRestart.endsWith('x… (truncated) (tocsin restarted during this run)'));
});
