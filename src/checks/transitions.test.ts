import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDueAt, initialState, kindOfExitStatus, onPing, onRestart, onSpecChange, onTick, truncate } from './transitions.ts';
import type { AfterDowntime, CheckEvent, CheckSchedule, CheckSpec, CheckState, Ping, Step } from './types.ts';

const M = 60_000;
const T = (iso: string): number => Date.parse(iso);
/** A check expected every 10 minutes with 2 minutes' grace. */
const SPEC: CheckSpec = {
  name: 'nightly-backup',
  uuid: '9c4d1e2f-0000-4000-8000-000000000001',
  origin: 'file',
  schedule: { kind: 'period', periodMs: 10 * M },
  graceMs: 2 * M,
  labels: { team: 'storage' },
  paused: false,
};
const RID_A = '6f1d2a3b-0000-4000-8000-00000000000a';
const RID_B = '6f1d2a3b-0000-4000-8000-00000000000b';

/** One thing that happens to the check, at minute `m` (or at `at` ms). */
type Act = ({ m: number } | { at: number }) &
  (
    | { ping: Omit<Ping, 'at'> }
    | { tick: true }
    | { restart: AfterDowntime }
    /** The spec changes (pause, unpause, schedule), told through onSpecChange. */
    | { spec: Partial<CheckSpec> }
    /** The spec changes without onSpecChange: the next ping or tick sees it. */
    | { quietSpec: Partial<CheckSpec> }
  );
const ok: Omit<Ping, 'at'> = { kind: 'success' };
const start = (rid?: string): Omit<Ping, 'at'> => (rid === undefined ? { kind: 'start' } : { kind: 'start', rid });
const success = (rid?: string): Omit<Ping, 'at'> => (rid === undefined ? ok : { kind: 'success', rid });
const fail: Omit<Ping, 'at'> = { kind: 'fail', body: 'disk full' };

const fmt = (e: CheckEvent | undefined): string => (e === undefined ? '-' : e.kind === 'resolved' ? 'resolved' : `firing ${e.name}`);

/** Plays the acts in order: what each one emitted, and every state on the way. */
function play(acts: readonly Act[], spec0: CheckSpec = SPEC): { events: string[]; steps: Step[]; states: CheckState[]; state: CheckState } {
  let spec = spec0;
  let state = initialState(spec);
  const events: string[] = [];
  const steps: Step[] = [];
  const states: CheckState[] = [];
  for (const a of acts) {
    const at = 'm' in a ? a.m * M : a.at;
    let s: Step;
    if ('ping' in a) s = onPing(spec, state, { ...a.ping, at });
    else if ('tick' in a) s = onTick(spec, state, at);
    else if ('restart' in a) s = { state: onRestart(spec, state, at, a.restart) };
    else if ('spec' in a) {
      spec = { ...spec, ...a.spec };
      s = onSpecChange(spec, state, at);
    } else {
      spec = { ...spec, ...a.quietSpec };
      s = { state };
    }
    state = s.state;
    steps.push(s);
    states.push(state);
    events.push(fmt(s.event));
  }
  return { events, steps, states, state };
}

/** The listed fields of the final state (undefined: the key is absent). */
type Expect = Partial<Record<keyof CheckState, unknown>>;
function assertState(state: CheckState, want: Expect, name: string): void {
  for (const [k, v] of Object.entries(want)) {
    if (v === undefined) assert.ok(!(k in state), `${name}: ${k} should be absent, is ${JSON.stringify(state[k as keyof CheckState])}`);
    else assert.deepEqual(state[k as keyof CheckState], v, `${name}: ${k}`);
  }
}

interface Case {
  name: string;
  spec?: CheckSpec;
  acts: Act[];
  events: string[];
  state?: Expect;
}

function run(cases: readonly Case[]): void {
  for (const c of cases) {
    const r = play(c.acts, c.spec);
    assert.deepEqual(r.events, c.events, c.name);
    if (c.state) assertState(r.state, c.state, c.name);
    for (const s of r.states) assert.deepEqual(JSON.parse(JSON.stringify(s)), s, `${c.name}: every state round-trips through JSON`);
  }
}

test('periods and grace: a new check waits for its first ping; a missed success fires once; the next success resolves', () => {
  run([
    { name: 'new: nothing is due, however long', acts: [{ m: 0, tick: true }, { m: 100_000, tick: true }], events: ['-', '-'], state: { status: 'new', dueAt: undefined } },
    { name: 'the first success starts the timer: period + grace', acts: [{ m: 5, ping: ok }], events: ['-'], state: { status: 'up', since: 5 * M, lastSuccessAt: 5 * M, lastPingKind: 'success', dueAt: 17 * M } },
    {
      name: 'on time every period: stays up, the deadline moves with each success',
      acts: [{ m: 0, ping: ok }, { m: 11, tick: true }, { m: 11, ping: ok }, { m: 22, tick: true }, { m: 22, ping: ok }],
      events: ['-', '-', '-', '-', '-'],
      state: { status: 'up', since: 0, dueAt: 34 * M },
    },
    {
      name: 'late but within grace: no alarm',
      acts: [{ m: 0, ping: ok }, { m: 10, tick: true }, { m: 11.9, tick: true }, { m: 11.9, ping: ok }],
      events: ['-', '-', '-', '-'],
      state: { status: 'up', dueAt: 23.9 * M },
    },
    {
      name: 'past period + grace: firing HeartbeatMissing; repeated ticks stay quiet; a success resolves',
      acts: [{ m: 0, ping: ok }, { m: 12, tick: true }, { m: 13, tick: true }, { m: 500, tick: true }, { m: 600, ping: ok }],
      events: ['-', 'firing HeartbeatMissing', '-', '-', 'resolved'],
      state: { status: 'up', why: undefined, since: 600 * M, lastSuccessAt: 600 * M, dueAt: 612 * M },
    },
    {
      name: 'a late tick goes down as of the deadline',
      acts: [{ m: 0, ping: ok }, { m: 30, tick: true }],
      events: ['-', 'firing HeartbeatMissing'],
      state: { status: 'down', why: 'missing', since: 12 * M, dueAt: undefined },
    },
    { name: 'a tick just before the deadline does nothing', acts: [{ m: 0, ping: ok }, { at: 12 * M - 1, tick: true }], events: ['-', '-'], state: { status: 'up', dueAt: 12 * M } },
    {
      name: 'down, then down again after resolving: fires again',
      acts: [{ m: 0, ping: ok }, { m: 12, tick: true }, { m: 13, ping: ok }, { m: 25, tick: true }],
      events: ['-', 'firing HeartbeatMissing', 'resolved', 'firing HeartbeatMissing'],
      state: { status: 'down', why: 'missing', since: 25 * M },
    },
  ]);
});

test('fail and exit statuses: fire HeartbeatFailed at once; a later success resolves', () => {
  run([
    {
      name: '/fail on an up check',
      acts: [{ m: 0, ping: ok }, { m: 5, ping: fail }, { m: 100, tick: true }, { m: 101, ping: ok }],
      events: ['-', 'firing HeartbeatFailed', '-', 'resolved'],
      state: { status: 'up', lastSuccessAt: 101 * M, dueAt: 113 * M },
    },
    { name: '/fail on a new check', acts: [{ m: 1, ping: fail }], events: ['firing HeartbeatFailed'], state: { status: 'down', why: 'failed', since: M, lastBody: 'disk full', dueAt: undefined } },
    { name: 'two fails: one alarm', acts: [{ m: 1, ping: fail }, { m: 2, ping: fail }], events: ['firing HeartbeatFailed', '-'], state: { status: 'down', since: M, lastPingAt: 2 * M } },
    {
      name: 'a fail while already down for a missing ping: no second alarm, why stays that of the firing alarm',
      acts: [{ m: 0, ping: ok }, { m: 12, tick: true }, { m: 20, ping: fail }],
      events: ['-', 'firing HeartbeatMissing', '-'],
      state: { status: 'down', why: 'missing', lastPingKind: 'fail', lastBody: 'disk full' },
    },
    { name: 'exit status 0 is a success', acts: [{ m: 1, ping: { kind: 'success', exitStatus: 0 } }], events: ['-'], state: { status: 'up', lastExitStatus: 0, lastPingKind: 'success' } },
    {
      name: 'exit status 1 is a fail',
      acts: [{ m: 0, ping: ok }, { m: 1, ping: { kind: 'success', exitStatus: 1 } }],
      events: ['-', 'firing HeartbeatFailed'],
      state: { status: 'down', why: 'failed', lastExitStatus: 1, lastPingKind: 'fail' },
    },
    { name: 'exit status 255 is a fail', acts: [{ m: 1, ping: { kind: 'fail', exitStatus: 255 } }], events: ['firing HeartbeatFailed'], state: { lastExitStatus: 255 } },
    {
      name: 'exit status 0 after a failing one resolves; a later ping without one clears it',
      acts: [{ m: 1, ping: { kind: 'success', exitStatus: 3 } }, { m: 2, ping: { kind: 'success', exitStatus: 0 } }, { m: 3, ping: ok }],
      events: ['firing HeartbeatFailed', 'resolved', '-'],
      state: { status: 'up', lastExitStatus: undefined },
    },
  ]);
});

test('HeartbeatFailed: the summary names the check and the exit status; the body is the description, cut to 1,000 characters', () => {
  const ev = (ping: Omit<Ping, 'at'>) => onPing(SPEC, initialState(SPEC), { ...ping, at: 0 }).event;
  assert.deepEqual(ev({ kind: 'fail', body: 'disk full' }), { kind: 'firing', name: 'HeartbeatFailed', summary: 'check "nightly-backup" failed', description: 'disk full' });
  assert.deepEqual(ev({ kind: 'success', exitStatus: 2, body: 'tar: error' }), { kind: 'firing', name: 'HeartbeatFailed', summary: 'check "nightly-backup" failed with exit status 2', description: 'tar: error' });
  assert.deepEqual(ev({ kind: 'fail' }), { kind: 'firing', name: 'HeartbeatFailed', summary: 'check "nightly-backup" failed' });
  assert.deepEqual(ev({ kind: 'fail', body: ' \n' }), { kind: 'firing', name: 'HeartbeatFailed', summary: 'check "nightly-backup" failed' });
  const long = ev({ kind: 'fail', body: 'x'.repeat(100_000) });
  assert.ok(long?.kind === 'firing');
  assert.equal(long.description, `${'x'.repeat(999)}…`);
  const exact = ev({ kind: 'fail', body: 'y'.repeat(1000) });
  assert.ok(exact?.kind === 'firing');
  assert.equal(exact.description, 'y'.repeat(1000));
  // The stored body is the caller's (already cut to pings.body_limit), not the description.
  assert.equal(onPing(SPEC, initialState(SPEC), { kind: 'fail', at: 0, body: 'x'.repeat(5000) }).state.lastBody?.length, 5000);
});

test('truncate never halves a surrogate pair', () => {
  assert.equal(truncate('abc', 3), 'abc');
  assert.equal(truncate('abcd', 3), 'ab…');
  assert.equal(truncate('a😀bc', 3), 'a…');
  assert.equal(truncate('ab😀c', 4), 'ab…');
});

test('start and end: the run must end within grace; ends pair with the start by rid', () => {
  run([
    { name: 'a start on a new check sets a deadline: start + grace', acts: [{ m: 0, ping: start(RID_A) }], events: ['-'], state: { status: 'new', started: { at: 0, rid: RID_A }, dueAt: 2 * M } },
    {
      name: 'a start without an end within grace: firing HeartbeatMissing (unfinished); the success resolves',
      acts: [{ m: 0, ping: start(RID_A) }, { m: 2, tick: true }, { m: 3, tick: true }, { m: 4, ping: success(RID_A) }],
      events: ['-', 'firing HeartbeatMissing', '-', 'resolved'],
      state: { status: 'up', started: undefined, lastSuccessAt: 4 * M, dueAt: 16 * M },
    },
    {
      name: 'start then success with the same rid: up, the run ended',
      acts: [{ m: 0, ping: start(RID_A) }, { m: 1, ping: success(RID_A) }],
      events: ['-', '-'],
      state: { status: 'up', started: undefined, dueAt: 13 * M },
    },
    { name: 'rids compare case-insensitively', acts: [{ m: 0, ping: start(RID_A.toUpperCase()) }, { m: 1, ping: success(RID_A) }], events: ['-', '-'], state: { started: undefined } },
    {
      name: 'a success with another rid counts, but leaves the run open; its end comes later',
      acts: [{ m: 0, ping: ok }, { m: 5, ping: start(RID_A) }, { m: 6, ping: success(RID_B) }, { m: 6.5, ping: success(RID_A) }],
      events: ['-', '-', '-', '-'],
      state: { status: 'up', started: undefined, lastSuccessAt: 6.5 * M, dueAt: 18.5 * M },
    },
    {
      name: 'a success with another rid: the open run still times out (unfinished)',
      acts: [{ m: 0, ping: start(RID_A) }, { m: 1, ping: success(RID_B) }, { m: 2, tick: true }],
      events: ['-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', why: 'unfinished', since: 2 * M, lastSuccessAt: M, started: undefined },
    },
    { name: 'a start without a rid ends with a success that has one', acts: [{ m: 0, ping: start() }, { m: 1, ping: success(RID_B) }], events: ['-', '-'], state: { status: 'up', started: undefined } },
    { name: 'a start with a rid ends with a success that has none', acts: [{ m: 0, ping: start(RID_A) }, { m: 1, ping: success() }], events: ['-', '-'], state: { status: 'up', started: undefined } },
    {
      name: 'a fail ends the run whatever its rid',
      acts: [{ m: 0, ping: start(RID_A) }, { m: 1, ping: { kind: 'fail', rid: RID_B } }, { m: 10, tick: true }],
      events: ['-', 'firing HeartbeatFailed', '-'],
      state: { status: 'down', why: 'failed', started: undefined },
    },
    {
      name: 'a later start replaces the open run',
      acts: [{ m: 0, ping: start(RID_A) }, { m: 1, ping: start(RID_B) }, { m: 2, tick: true }, { m: 3, tick: true }],
      events: ['-', '-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', why: 'unfinished', since: 3 * M },
    },
    {
      name: 'up: a start brings the deadline forward to start + grace',
      acts: [{ m: 0, ping: ok }, { m: 5, ping: start(RID_A) }, { m: 7, tick: true }],
      events: ['-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', why: 'unfinished', since: 7 * M },
    },
    {
      name: 'up: a start late in the period does not postpone the period deadline (missing, not unfinished)',
      acts: [{ m: 0, ping: ok }, { m: 11, ping: start(RID_A) }, { m: 12, tick: true }],
      events: ['-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', why: 'missing', since: 12 * M, started: undefined },
    },
    {
      name: 'a late tick after both deadlines: the reason is the one that came first (the period)',
      acts: [{ m: 0, ping: ok }, { m: 11, ping: start(RID_A) }, { m: 20, tick: true }],
      events: ['-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', why: 'missing', since: 12 * M },
    },
    {
      name: 'a late tick after both deadlines: the reason is the one that came first (the run)',
      acts: [{ m: 0, ping: ok }, { m: 5, ping: start(RID_A) }, { m: 20, tick: true }],
      events: ['-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', why: 'unfinished', since: 7 * M },
    },
    {
      name: 'a fail while down ends an open run too',
      acts: [{ m: 0, ping: fail }, { m: 1, ping: start(RID_A) }, { m: 2, ping: { kind: 'fail', rid: RID_B } }],
      events: ['firing HeartbeatFailed', '-', '-'],
      state: { status: 'down', why: 'failed', started: undefined },
    },
    {
      name: 'a start while down is kept for its end; no deadline while down',
      acts: [{ m: 0, ping: fail }, { m: 1, ping: start(RID_A) }, { m: 50, tick: true }, { m: 51, ping: success(RID_A) }],
      events: ['firing HeartbeatFailed', '-', '-', 'resolved'],
      state: { status: 'up', started: undefined, dueAt: 63 * M },
    },
    {
      name: 'a success with a rid and no open run is a success',
      acts: [{ m: 0, ping: fail }, { m: 1, ping: success(RID_A) }],
      events: ['firing HeartbeatFailed', 'resolved'],
      state: { status: 'up', started: undefined },
    },
  ]);
});

test('the summaries of HeartbeatMissing say what was missed', () => {
  const r = play([{ m: 0, ping: ok }, { m: 12, tick: true }]);
  assert.deepEqual(r.steps[1]!.event, {
    kind: 'firing',
    name: 'HeartbeatMissing',
    summary: 'check "nightly-backup" did not ping in time (expected every 10m, grace 2m; last success 1970-01-01T00:00:00.000Z)',
  });
  const u = play([{ m: 0, ping: start(RID_A) }, { m: 2, tick: true }]);
  assert.deepEqual(u.steps[1]!.event, {
    kind: 'firing',
    name: 'HeartbeatMissing',
    summary: 'check "nightly-backup" started at 1970-01-01T00:00:00.000Z but did not finish within its grace time (2m)',
  });
  const cronSpec: CheckSpec = { ...SPEC, schedule: { kind: 'cron', expr: '0 3 * * *', tz: 'Europe/Berlin' }, graceMs: 3_600_000 };
  const c = play([{ at: T('2025-01-10T02:00:00Z'), ping: ok }, { at: T('2025-01-11T03:00:00Z'), tick: true }], cronSpec);
  assert.deepEqual(c.steps[1]!.event, {
    kind: 'firing',
    name: 'HeartbeatMissing',
    summary: 'check "nightly-backup" did not ping in time (expected at "0 3 * * *" (Europe/Berlin), grace 1h; last success 2025-01-10T02:00:00.000Z)',
  });
});

test('log pings change nothing but the last ping', () => {
  run([
    {
      name: 'up: the deadline stays',
      acts: [{ m: 0, ping: ok }, { m: 5, ping: { kind: 'log', body: 'step 2 of 3' } }, { m: 12, tick: true }],
      events: ['-', '-', 'firing HeartbeatMissing'],
      state: { lastSuccessAt: 0 },
    },
    {
      name: 'the last ping is the log',
      acts: [{ m: 0, ping: { kind: 'success', body: 'done' } }, { m: 5, ping: { kind: 'log', body: 'step 2 of 3' } }],
      events: ['-', '-'],
      state: { status: 'up', since: 0, lastPingAt: 5 * M, lastPingKind: 'log', lastBody: 'step 2 of 3', lastSuccessAt: 0, dueAt: 12 * M },
    },
    { name: 'a ping without a body clears the last body', acts: [{ m: 0, ping: { kind: 'success', body: 'done' } }, { m: 5, ping: { kind: 'log' } }], events: ['-', '-'], state: { lastBody: undefined, lastPingKind: 'log' } },
    { name: 'new: stays new with nothing due', acts: [{ m: 5, ping: { kind: 'log' } }], events: ['-'], state: { status: 'new', dueAt: undefined, lastPingAt: 5 * M, lastBody: undefined } },
    { name: 'down: does not resolve', acts: [{ m: 0, ping: fail }, { m: 5, ping: { kind: 'log' } }], events: ['firing HeartbeatFailed', '-'], state: { status: 'down', why: 'failed' } },
    { name: 'an open run stays open', acts: [{ m: 0, ping: start(RID_A) }, { m: 1, ping: { kind: 'log', rid: RID_A } }], events: ['-', '-'], state: { started: { at: 0, rid: RID_A }, dueAt: 2 * M } },
  ]);
});

test('pause: no alarms and nothing due; unpausing starts over as new', () => {
  const paused = { ...SPEC, paused: true };
  run([
    { name: 'a check created paused', spec: paused, acts: [{ m: 1000, tick: true }], events: ['-'], state: { status: 'paused', dueAt: undefined } },
    {
      name: 'pausing an up check clears its deadline and its run',
      acts: [{ m: 0, ping: ok }, { m: 5, ping: start(RID_A) }, { m: 6, spec: { paused: true } }, { m: 1000, tick: true }],
      events: ['-', '-', '-', '-'],
      state: { status: 'paused', since: 6 * M, dueAt: undefined, started: undefined, lastSuccessAt: 0 },
    },
    {
      name: 'pings to a paused check are logged and change nothing',
      spec: paused,
      acts: [{ m: 1, ping: fail }, { m: 2, ping: start(RID_A) }, { m: 3, ping: { kind: 'success', exitStatus: 4 } }, { m: 4, ping: ok }],
      events: ['-', '-', '-', '-'],
      state: { status: 'paused', lastPingAt: 4 * M, lastPingKind: 'success', lastSuccessAt: undefined, started: undefined, lastExitStatus: undefined, dueAt: undefined },
    },
    {
      name: 'unpausing: new, nothing due until the first ping',
      acts: [{ m: 0, ping: ok }, { m: 1, spec: { paused: true } }, { m: 50, spec: { paused: false } }, { m: 1000, tick: true }, { m: 1001, ping: ok }],
      events: ['-', '-', '-', '-', '-'],
      state: { status: 'up', since: 1001 * M, dueAt: 1013 * M },
    },
    {
      name: 'pausing a down check resolves its alarm; unpausing does not fire',
      acts: [{ m: 0, ping: fail }, { m: 1, spec: { paused: true } }, { m: 2, spec: { paused: false } }, { m: 3, tick: true }],
      events: ['firing HeartbeatFailed', 'resolved', '-', '-'],
      state: { status: 'new', why: undefined, since: 2 * M },
    },
    {
      name: 'a pause the transitions were not told of applies at the next tick',
      acts: [{ m: 0, ping: ok }, { m: 12, tick: true }, { m: 13, quietSpec: { paused: true } }, { m: 14, tick: true }, { m: 15, tick: true }],
      events: ['-', 'firing HeartbeatMissing', '-', 'resolved', '-'],
      state: { status: 'paused', since: 14 * M },
    },
    {
      name: 'a pause the transitions were not told of applies at the next ping',
      acts: [{ m: 0, ping: fail }, { m: 13, quietSpec: { paused: true } }, { m: 14, ping: ok }],
      events: ['firing HeartbeatFailed', '-', 'resolved'],
      state: { status: 'paused', lastSuccessAt: undefined, lastPingKind: 'success' },
    },
    {
      name: 'an unpause the transitions were not told of applies at the next ping',
      spec: paused,
      acts: [{ m: 1, quietSpec: { paused: false } }, { m: 2, ping: fail }],
      events: ['-', 'firing HeartbeatFailed'],
      state: { status: 'down', why: 'failed' },
    },
  ]);
});

test("restart after tocsin's downtime: restart_grace gives the grace again, fire fires at the next tick", () => {
  run([
    {
      name: 'restart_grace: a deadline passed while down moves to restart + grace',
      acts: [{ m: 0, ping: ok }, { m: 30, restart: 'restart_grace' }, { m: 31, tick: true }, { m: 32, tick: true }],
      events: ['-', '-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', why: 'missing', since: 32 * M, restartedAt: undefined },
    },
    {
      name: 'restart_grace: the state keeps the restart',
      acts: [{ m: 0, ping: ok }, { m: 30, restart: 'restart_grace' }],
      events: ['-', '-'],
      state: { status: 'up', restartedAt: 30 * M, dueAt: 32 * M },
    },
    {
      name: 'fire: the deadline stays, the next tick fires',
      acts: [{ m: 0, ping: ok }, { m: 30, restart: 'fire' }, { m: 30, tick: true }],
      events: ['-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', why: 'missing', since: 12 * M },
    },
    {
      name: 'restart_grace: a deadline not yet passed stays',
      acts: [{ m: 0, ping: ok }, { m: 5, restart: 'restart_grace' }],
      events: ['-', '-'],
      state: { dueAt: 12 * M, restartedAt: undefined },
    },
    {
      name: 'restart_grace: a success in the new grace resolves nothing and clears the restart',
      acts: [{ m: 0, ping: ok }, { m: 30, restart: 'restart_grace' }, { m: 31, ping: ok }],
      events: ['-', '-', '-'],
      state: { status: 'up', restartedAt: undefined, dueAt: 43 * M },
    },
    {
      name: 'restart_grace: a start in the new grace does not bring the old deadline back',
      acts: [{ m: 0, ping: ok }, { m: 30, restart: 'restart_grace' }, { m: 31, ping: start(RID_A) }, { m: 31.5, tick: true }, { m: 32, tick: true }],
      events: ['-', '-', '-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', why: 'missing' },
    },
    {
      name: 'restart_grace: an unfinished run gets the grace again',
      acts: [{ m: 0, ping: start(RID_A) }, { m: 10, restart: 'restart_grace' }, { m: 11, tick: true }, { m: 12, tick: true }],
      events: ['-', '-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', why: 'unfinished', since: 12 * M },
    },
    {
      name: 'fire: an unfinished run fires at the next tick',
      acts: [{ m: 0, ping: start(RID_A) }, { m: 10, restart: 'fire' }, { m: 10, tick: true }],
      events: ['-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', why: 'unfinished', since: 2 * M },
    },
    {
      name: 'restart_grace: a down check stays down, quietly',
      acts: [{ m: 0, ping: fail }, { m: 30, restart: 'restart_grace' }, { m: 40, tick: true }, { m: 41, ping: ok }],
      events: ['firing HeartbeatFailed', '-', '-', 'resolved'],
      state: { status: 'up', restartedAt: undefined },
    },
    { name: 'a new check has nothing due', acts: [{ m: 30, restart: 'restart_grace' }, { m: 1000, tick: true }], events: ['-', '-'], state: { status: 'new', dueAt: undefined, restartedAt: undefined } },
    {
      name: 'the deadline follows a schedule changed while tocsin was down',
      acts: [{ m: 0, ping: ok }, { m: 29, quietSpec: { schedule: { kind: 'period', periodMs: 60 * M } } }, { m: 30, restart: 'restart_grace' }, { m: 61, tick: true }, { m: 62, tick: true }],
      events: ['-', '-', '-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', since: 62 * M },
    },
    {
      name: 'restart_grace: a restart floor survives a schedule change',
      acts: [{ m: 0, ping: ok }, { m: 30, restart: 'restart_grace' }, { m: 31, spec: { graceMs: 3 * M } }, { m: 32, tick: true }, { m: 33, tick: true }],
      events: ['-', '-', '-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', since: 33 * M },
    },
  ]);
});

test('a schedule change recomputes the deadline from the last success', () => {
  run([
    {
      name: 'a longer period postpones it',
      acts: [{ m: 0, ping: ok }, { m: 5, spec: { schedule: { kind: 'period', periodMs: 60 * M } } }, { m: 12, tick: true }],
      events: ['-', '-', '-'],
      state: { status: 'up', dueAt: 62 * M },
    },
    {
      name: 'a shorter one can make it overdue: the next tick fires',
      acts: [{ m: 0, ping: ok }, { m: 5, spec: { schedule: { kind: 'period', periodMs: M } } }, { m: 5, tick: true }],
      events: ['-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', since: 3 * M },
    },
  ]);
});

test('cron checks: due at the next cron time after the last success plus grace, across DST', () => {
  const berlin = (graceMs: number): CheckSpec => ({ ...SPEC, schedule: { kind: 'cron', expr: '30 2 * * *', tz: 'Europe/Berlin' } as CheckSchedule, graceMs });
  const at = (iso: string) => ({ at: T(iso) });
  run([
    {
      name: 'spring forward: the 02:30 job pinged on Saturday is due when the clock jumps on Sunday, plus grace',
      spec: berlin(30 * M),
      acts: [
        { ...at('2025-03-29T01:31:00Z'), ping: ok },
        { ...at('2025-03-30T01:29:59Z'), tick: true },
        { ...at('2025-03-30T01:30:00Z'), tick: true },
        { ...at('2025-03-30T01:40:00Z'), ping: ok },
      ],
      events: ['-', '-', 'firing HeartbeatMissing', 'resolved'],
      state: { status: 'up', dueAt: T('2025-03-31T01:00:00Z') },
    },
    {
      name: 'spring forward: a run at 03:00 CEST is on time; the next is due at 02:30 CEST + grace',
      spec: berlin(30 * M),
      acts: [
        { ...at('2025-03-29T01:31:00Z'), ping: ok },
        { ...at('2025-03-30T01:00:05Z'), ping: ok },
      ],
      events: ['-', '-'],
      state: { status: 'up', dueAt: T('2025-03-31T01:00:00Z') },
    },
    {
      name: 'fall back: due once, after the first 02:30 (CEST) plus grace',
      spec: berlin(30 * M),
      acts: [
        { ...at('2025-10-25T00:31:00Z'), ping: ok },
        { ...at('2025-10-26T00:59:59Z'), tick: true },
        { ...at('2025-10-26T01:00:00Z'), tick: true },
      ],
      events: ['-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', why: 'missing', since: T('2025-10-26T01:00:00Z') },
    },
    {
      name: 'fall back: a run at the first 02:30 is not due again at the second one',
      spec: berlin(30 * M),
      acts: [
        { ...at('2025-10-26T00:30:10Z'), ping: ok },
        { ...at('2025-10-26T02:00:00Z'), tick: true },
      ],
      events: ['-', '-'],
      state: { status: 'up', dueAt: T('2025-10-27T02:00:00Z') },
    },
    {
      name: 'restart_grace with a cron check',
      spec: berlin(30 * M),
      acts: [
        { ...at('2025-01-10T01:30:00Z'), ping: ok },
        { ...at('2025-01-11T06:00:00Z'), restart: 'restart_grace' },
        { ...at('2025-01-11T06:30:00Z'), tick: true },
      ],
      events: ['-', '-', 'firing HeartbeatMissing'],
      state: { status: 'down', since: T('2025-01-11T06:30:00Z') },
    },
  ]);
});

test('computeDueAt agrees with the stored deadline; exit statuses are checked', () => {
  const r = play([{ m: 0, ping: ok }, { m: 3, ping: start(RID_A) }, { m: 4, ping: { kind: 'log' } }, { m: 20, restart: 'restart_grace' }]);
  for (const s of r.states) assert.equal(computeDueAt(SPEC, s), s.dueAt);
  assert.equal(kindOfExitStatus(0), 'success');
  assert.equal(kindOfExitStatus(1), 'fail');
  assert.equal(kindOfExitStatus(255), 'fail');
  for (const bad of [-1, 256, 1.5, Number.NaN]) assert.throws(() => kindOfExitStatus(bad), RangeError, String(bad));
  assert.throws(() => onPing(SPEC, initialState(SPEC), { kind: 'start', at: 0, exitStatus: 0 }), RangeError);
  assert.throws(() => onPing(SPEC, initialState(SPEC), { kind: 'log', at: 0, exitStatus: 1 }), RangeError);
  assert.throws(() => onPing(SPEC, initialState(SPEC), { kind: 'success', at: 0, exitStatus: 300 }), RangeError);
});

test('transitions do not change the state given to them', () => {
  const s0 = Object.freeze(onPing(SPEC, initialState(SPEC), { kind: 'start', at: 0, rid: RID_A }).state);
  const frozen = JSON.stringify(s0);
  onPing(SPEC, s0, { kind: 'success', at: M, rid: RID_A });
  onTick(SPEC, s0, 10 * M);
  onRestart(SPEC, s0, 10 * M, 'restart_grace');
  onSpecChange({ ...SPEC, paused: true }, s0, M);
  assert.equal(JSON.stringify(s0), frozen);
});
