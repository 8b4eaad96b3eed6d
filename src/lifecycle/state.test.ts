import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expired, occur, reconcile, type AlarmState, type MethodPolicy, type Occurrence, type Send } from './state.ts';

const KEY = { source: 'generic', dedupKey: 'k1' };
const OPTS = { notifyUnknownResolved: false };
const fire = (extra: Partial<Occurrence> = {}): Occurrence => ({ alarmId: 'a', status: 'firing', ...extra });
const resolve = (extra: Partial<Occurrence> = {}): Occurrence => ({ alarmId: 'a', status: 'resolved', ...extra });
const hook: MethodPolicy = { method: 'hook' };

/** Plays events in order and returns what each one sent (as "method:status[:repeat]"). */
type Event = { at: number } & ({ occ: Occurrence } | { wake: true } | { silence: string | undefined });
function play(events: readonly Event[], policies: readonly MethodPolicy[], opts = OPTS): { sent: string[][]; state: AlarmState | undefined } {
  let state: AlarmState | undefined;
  const fmt = (s: readonly Send[]) => s.map((x) => `${x.method}:${x.status}${x.repeat ? `:${x.repeat}` : ''}`);
  const sent: string[][] = [];
  for (const e of events) {
    if ('occ' in e) {
      const d = occur(state, KEY, e.occ, policies, e.at, opts);
      state = d.state;
      sent.push(fmt(d.sends));
    } else if ('wake' in e) {
      const r = reconcile(state!, policies, e.at);
      state = r.state;
      sent.push(fmt(r.sends));
    } else {
      const { silencedBy: _, ...rest } = state!;
      const r = reconcile(e.silence === undefined ? rest : { ...rest, silencedBy: e.silence }, policies, e.at);
      state = r.state;
      sent.push(fmt(r.sends));
    }
  }
  return { sent, state };
}

test('state changes notify; repeats of the current state do not, and are counted', () => {
  const cases: { name: string; events: Event[]; sent: string[][]; count?: number }[] = [
    { name: 'firing once', events: [{ at: 0, occ: fire() }], sent: [['hook:firing']] },
    { name: 'firing twice', events: [{ at: 0, occ: fire() }, { at: 10, occ: fire() }], sent: [['hook:firing'], []], count: 2 },
    {
      name: 'firing, resolved, firing',
      events: [{ at: 0, occ: fire() }, { at: 1, occ: resolve() }, { at: 2, occ: fire() }],
      sent: [['hook:firing'], ['hook:resolved'], ['hook:firing']],
      count: 1,
    },
    { name: 'resolved of a key never seen: recorded, not notified', events: [{ at: 0, occ: resolve() }], sent: [[]] },
    { name: 'resolved twice after firing', events: [{ at: 0, occ: fire() }, { at: 1, occ: resolve() }, { at: 2, occ: resolve() }], sent: [['hook:firing'], ['hook:resolved'], []] },
    { name: 'quiet firing (actions disabled): recorded only', events: [{ at: 0, occ: fire({ quiet: true }) }, { at: 1, occ: resolve() }], sent: [[], []] },
    {
      name: 'quiet firing: the end of a silence or a later timer owes nothing; the next occurrence decides',
      events: [{ at: 0, occ: fire({ quiet: true, silencedBy: 's' }) }, { at: 5, silence: undefined }, { at: 6, wake: true }, { at: 7, occ: fire() }],
      sent: [[], [], [], ['hook:firing']],
    },
  ];
  for (const c of cases) {
    const r = play(c.events, [hook]);
    assert.deepEqual(r.sent, c.sent, c.name);
    if (c.count !== undefined) assert.equal(r.state!.count, c.count, c.name);
  }
});

test('notify_unknown_resolved: the first resolved of an unknown key is notified, a later one is not', () => {
  const r = play([{ at: 0, occ: resolve() }, { at: 1, occ: resolve() }], [hook], { notifyUnknownResolved: true });
  assert.deepEqual(r.sent, [['hook:resolved'], []]);
});

test('since, last seen and count follow the occurrences', () => {
  let d = occur(undefined, KEY, fire({ alarmId: 'x1' }), [hook], 100, OPTS);
  d = occur(d.state, KEY, fire({ alarmId: 'x2' }), [hook], 200, OPTS);
  assert.deepEqual([d.state.since, d.state.lastSeen, d.state.count, d.state.alarmId, d.changed], [100, 200, 2, 'x2', false]);
  d = occur(d.state, KEY, resolve({ alarmId: 'x3' }), [hook], 300, OPTS);
  assert.deepEqual([d.state.status, d.state.since, d.state.count, d.changed], ['resolved', 300, 1, true]);
  assert.deepEqual(d.state.methods.hook, { st: 'resolved', at: 300, rat: 300, n: 0 });
});

test('silences: a silenced firing is not notified, nor its resolve; the end of the silence releases a still-firing alarm', () => {
  const cases: { name: string; events: Event[]; sent: string[][] }[] = [
    { name: 'silenced firing, then resolved', events: [{ at: 0, occ: fire({ silencedBy: 's' }) }, { at: 1, occ: resolve() }], sent: [[], []] },
    {
      name: 'silenced firing, silence ends while firing',
      events: [{ at: 0, occ: fire({ silencedBy: 's' }) }, { at: 5, silence: undefined }, { at: 6, occ: resolve() }],
      sent: [[], ['hook:firing'], ['hook:resolved']],
    },
    {
      name: 'repeat occurrences while silenced stay quiet',
      events: [{ at: 0, occ: fire({ silencedBy: 's' }) }, { at: 1, occ: fire({ silencedBy: 's' }) }],
      sent: [[], []],
    },
    {
      name: 'an occurrence after the silence ended releases it too',
      events: [{ at: 0, occ: fire({ silencedBy: 's' }) }, { at: 1, occ: fire() }],
      sent: [[], ['hook:firing']],
    },
    {
      name: 'a silence that starts after the firing was notified: its resolve is still sent (an incident must close)',
      events: [{ at: 0, occ: fire() }, { at: 1, silence: 's' }, { at: 2, occ: resolve() }],
      sent: [['hook:firing'], [], ['hook:resolved']],
    },
  ];
  for (const c of cases) assert.deepEqual(play(c.events, [hook]).sent, c.sent, c.name);
});

test('repeat: every interval while firing and not silenced; stops on resolve and while silenced', () => {
  const p: MethodPolicy = { method: 'hook', repeatMs: 100 };
  const r = play(
    [
      { at: 0, occ: fire() },
      { at: 50, wake: true },
      { at: 100, wake: true },
      { at: 150, occ: fire() },
      { at: 200, wake: true },
      { at: 250, silence: 's' },
      { at: 400, wake: true },
      { at: 450, silence: undefined },
      { at: 460, occ: resolve() },
      { at: 600, wake: true },
    ],
    [p],
  );
  assert.deepEqual(r.sent, [['hook:firing'], [], ['hook:firing:1'], [], ['hook:firing:2'], [], [], ['hook:firing:3'], ['hook:resolved'], []]);
  assert.equal(r.state!.wakeAt, undefined, 'a resolved alarm has no timer');
});

test('repeat: the timer is the next reminder; a late wake sends one reminder, not one per missed interval', () => {
  const p: MethodPolicy = { method: 'hook', repeatMs: 100 };
  let d = occur(undefined, KEY, fire(), [p], 0, OPTS);
  assert.equal(d.state.wakeAt, 100);
  const r = reconcile(d.state, [p], 1000);
  assert.deepEqual(r.sends, [{ method: 'hook', status: 'firing', repeat: 1 }]);
  assert.equal(r.state.wakeAt, 1100);
  d = occur(r.state, KEY, fire(), [p], 1050, OPTS);
  assert.equal(d.sends.length, 0);
});

test('flap damping: a change within min_state_interval is held; the latest state wins when it ends', () => {
  const p: MethodPolicy = { method: 'hook', minStateMs: 100 };
  const cases: { name: string; events: Event[]; sent: string[][] }[] = [
    {
      name: 'flap back to the notified state: nothing more',
      events: [{ at: 0, occ: fire() }, { at: 10, occ: resolve() }, { at: 20, occ: fire() }, { at: 100, wake: true }],
      sent: [['hook:firing'], [], [], []],
    },
    {
      name: 'settles in the other state: sent when the interval ends',
      events: [{ at: 0, occ: fire() }, { at: 10, occ: resolve() }, { at: 20, occ: fire() }, { at: 30, occ: resolve() }, { at: 99, wake: true }, { at: 100, wake: true }],
      sent: [['hook:firing'], [], [], [], [], ['hook:resolved']],
    },
    {
      name: 'changes far enough apart are sent at once',
      events: [{ at: 0, occ: fire() }, { at: 100, occ: resolve() }, { at: 250, occ: fire() }],
      sent: [['hook:firing'], ['hook:resolved'], ['hook:firing']],
    },
  ];
  for (const c of cases) assert.deepEqual(play(c.events, [p]).sent, c.sent, c.name);
  const held = play([{ at: 0, occ: fire() }, { at: 10, occ: resolve() }], [p]).state!;
  assert.equal(held.wakeAt, 100, 'the hold ends at the last change + min_state_interval');
  assert.equal(held.methods.hook!.hold, true);
});

test('per method: each method has its own marks and settings', () => {
  const r = play(
    [{ at: 0, occ: fire() }, { at: 10, occ: resolve() }, { at: 100, wake: true }],
    [{ method: 'pager', minStateMs: 100 }, { method: 'chat' }],
  );
  assert.deepEqual(r.sent, [['pager:firing', 'chat:firing'], ['chat:resolved'], ['pager:resolved']]);
});

test('expiry: ends_at sets the timer; a firing past it has expired; a refresh moves it', () => {
  let d = occur(undefined, KEY, fire({ endsAt: 500 }), [hook], 0, OPTS);
  assert.equal(d.state.wakeAt, 500);
  assert.equal(expired(d.state, 499), false);
  assert.equal(expired(d.state, 500), true);
  d = occur(d.state, KEY, fire({ endsAt: 900 }), [hook], 400, OPTS);
  assert.equal(d.state.wakeAt, 900);
  d = occur(d.state, KEY, fire(), [hook], 450, OPTS);
  assert.equal(d.state.endsAt, undefined, 'an occurrence without ends_at clears it');
  d = occur(d.state, KEY, resolve({ endsAt: 10 }), [hook], 460, OPTS);
  assert.equal(expired(d.state, 1e9), false, 'a resolved alarm does not expire');
});

test('a method the resolve does not reach (routes on status, a quiet resolve) hears the next firing', () => {
  // Routes on status: firing goes to the pager, the resolve to nobody.
  const onlyFiring = (status: string): MethodPolicy[] => (status === 'firing' ? [{ method: 'pager' }] : []);
  let d = occur(undefined, KEY, fire(), onlyFiring('firing'), 0, OPTS);
  d = occur(d.state, KEY, resolve(), onlyFiring('resolved'), 10, OPTS);
  assert.deepEqual(d.sends, []);
  d = occur(d.state, KEY, fire(), onlyFiring('firing'), 20, OPTS);
  assert.deepEqual(d.sends, [{ method: 'pager', status: 'firing', repeat: 0 }]);
  // A quiet resolve.
  let q = occur(undefined, KEY, fire(), [hook], 0, OPTS);
  q = occur(q.state, KEY, resolve({ quiet: true }), [hook], 10, OPTS);
  assert.deepEqual(q.sends, []);
  q = occur(q.state, KEY, fire(), [hook], 20, OPTS);
  assert.deepEqual(q.sends, [{ method: 'hook', status: 'firing', repeat: 0 }]);
  // A method holding a change back keeps it (the hold sends the latest state when it ends).
  const damped: MethodPolicy = { method: 'hook', minStateMs: 100 };
  let h = occur(undefined, KEY, fire(), [damped], 0, OPTS);
  h = occur(h.state, KEY, resolve(), [damped], 10, OPTS);
  assert.equal(h.state.methods.hook!.st, 'firing');
  assert.equal(h.state.methods.hook!.hold, true);
});

test('a method added to the routes while an alarm fires gets the firing at its next event', () => {
  const d = occur(undefined, KEY, fire(), [hook], 0, OPTS);
  const r = reconcile(d.state, [hook, { method: 'pager' }], 10);
  assert.deepEqual(r.sends, [{ method: 'pager', status: 'firing', repeat: 0 }]);
});
