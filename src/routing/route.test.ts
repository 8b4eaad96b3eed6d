import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routeAlarm, routeMatches } from './route.ts';
import { compileMatcher } from '../config/matcher.ts';
import { parseConfig } from '../config/parse.ts';
import type { RouteConfig } from '../config/types.ts';
import type { AlarmInput } from '../domain/alarm.ts';

interface Match {
  source?: string;
  name?: string;
  severity?: string;
  status?: string;
  labels?: Record<string, string>;
}

/** A RouteConfig the way parse.ts builds one: compiled matchers, absent fields left out. */
function route(match: Match, methods: string[], cont = false): RouteConfig {
  const { labels = {}, ...fields } = match;
  const m: { -readonly [K in keyof RouteConfig['match']]: RouteConfig['match'][K] } = {
    labels: Object.fromEntries(Object.entries(labels).map(([k, p]) => [k, compileMatcher(p)])),
  };
  for (const [k, p] of Object.entries(fields) as [Exclude<keyof Match, 'labels'>, string][]) m[k] = compileMatcher(p);
  return { match: m, methods, continue: cont };
}

function alarm(over: Partial<AlarmInput> = {}): AlarmInput {
  return {
    source: 'zeebe',
    name: 'DiskFull',
    severity: 'critical',
    status: 'firing',
    labels: { team: 'db-main', env: 'prod' },
    annotations: {},
    dedupKey: 'k',
    ...over,
  };
}

const noFiles = (path: string): string => {
  throw new Error(`unexpected read of ${path}`);
};

test('first match wins', () => {
  const routes = [
    route({ severity: 'critical' }, ['pager']),
    route({ labels: { team: '~db-.*' } }, ['dba']),
    route({}, ['log']),
  ];
  assert.deepEqual(routeAlarm(alarm(), routes), ['pager']);
  assert.deepEqual(routeAlarm(alarm({ severity: 'warning' }), routes), ['dba']);
  assert.deepEqual(routeAlarm(alarm({ severity: 'warning', labels: { team: 'web' } }), routes), ['log']);
});

test('continue: true falls through and accumulates methods; the first match without it stops', () => {
  const routes = [
    route({ severity: 'critical' }, ['pager'], true),
    route({ labels: { team: '~db-.*' } }, ['dba'], true),
    route({ status: 'resolved' }, ['audit']),
    route({}, ['log']),
    route({}, ['never']),
  ];
  assert.deepEqual(routeAlarm(alarm(), routes), ['pager', 'dba', 'log']);
  assert.deepEqual(routeAlarm(alarm({ labels: { team: 'web' } }), routes), ['pager', 'log']);
  assert.deepEqual(routeAlarm(alarm({ severity: 'info', status: 'resolved' }), routes), ['dba', 'audit']);
  assert.deepEqual(routeAlarm(alarm({ severity: 'info', labels: {} }), routes), ['log']);
  // A continue on the last matching route simply ends the list.
  assert.deepEqual(routeAlarm(alarm(), [route({}, ['a'], true), route({ severity: 'info' }, ['b'], true)]), ['a']);
});

test('a route without match matches every alarm', () => {
  const all = route({}, ['log']);
  for (const a of [alarm(), alarm({ severity: 'info', status: 'resolved', labels: {}, source: 'x', name: 'y' })]) {
    assert.equal(routeMatches(all, a), true);
    assert.deepEqual(routeAlarm(a, [all]), ['log']);
  }
});

test('no matching route (or no routes) → [] (unrouted)', () => {
  assert.deepEqual(routeAlarm(alarm({ severity: 'warning' }), [route({ severity: 'critical' }, ['pager'])]), []);
  assert.deepEqual(routeAlarm(alarm(), []), []);
  // Routes that match but are all skipped cannot happen; continue routes that do not match add nothing.
  assert.deepEqual(routeAlarm(alarm({ source: 'kafka' }), [route({ source: 'zeebe' }, ['a'], true), route({ source: 'scripts' }, ['b'])]), []);
});

test('duplicate methods appear once, in first-seen order', () => {
  const routes = [
    route({}, ['a', 'b'], true),
    route({ severity: 'critical' }, ['b', 'c'], true),
    route({}, ['a', 'd', 'c']),
  ];
  assert.deepEqual(routeAlarm(alarm(), routes), ['a', 'b', 'c', 'd']);
  assert.deepEqual(routeAlarm(alarm({ severity: 'info' }), routes), ['a', 'b', 'd', 'c']);
});

test('label matchers: ~regex anchored to the whole value, !value, !~regex, absent labels', () => {
  const table: [pattern: string, value: string | undefined, expected: boolean][] = [
    ['db-main', 'db-main', true],
    ['db-main', 'db-main-2', false],
    ['db-main', undefined, false],
    ['~db-.*', 'db-main', true],
    ['~db-.*', 'db-', true],
    ['~db-.*', 'mydb-main', false], // anchored at the start
    ['~db-.*', 'db', false],
    ['~db', 'db-main', false], // anchored at the end
    ['~db-.*', undefined, false],
    ['~prod|staging', 'prod', true],
    ['~prod|staging', 'preprod', false],
    ['!prod', 'staging', true],
    ['!prod', 'prod', false],
    ['!prod', undefined, true], // absent is "not prod"
    ['!~db-.*', 'web', true],
    ['!~db-.*', 'db-main', false],
    ['!~db-.*', 'mydb-main', true],
    ['!~db-.*', undefined, true],
  ];
  for (const [pattern, value, expected] of table) {
    const a = alarm({ labels: value === undefined ? { other: 'x' } : { l: value, other: 'x' } });
    assert.equal(routeMatches(route({ labels: { l: pattern } }, ['m']), a), expected, `labels.l ${pattern} vs ${String(value)}`);
    assert.deepEqual(routeAlarm(a, [route({ labels: { l: pattern } }, ['m'])]), expected ? ['m'] : []);
  }
});

test('every label matcher must hold', () => {
  const r = route({ labels: { team: '~db-.*', env: 'prod', region: '!us-east-1' } }, ['m']);
  assert.equal(routeMatches(r, alarm({ labels: { team: 'db-main', env: 'prod' } })), true);
  assert.equal(routeMatches(r, alarm({ labels: { team: 'db-main', env: 'prod', region: 'eu-west-1' } })), true);
  assert.equal(routeMatches(r, alarm({ labels: { team: 'db-main', env: 'prod', region: 'us-east-1' } })), false);
  assert.equal(routeMatches(r, alarm({ labels: { team: 'db-main', env: 'dev' } })), false);
  assert.equal(routeMatches(r, alarm({ labels: { env: 'prod' } })), false);
});

test('a label named like an Object.prototype member is absent unless the alarm sets it', () => {
  const a = alarm({ labels: { team: 'ops' } });
  assert.equal(routeMatches(route({ labels: { constructor: '~.*' } }, ['m']), a), false, '~.* needs the label to exist');
  assert.equal(routeMatches(route({ labels: { toString: '!~.*' } }, ['m']), a), true, '!~.* holds for an absent label');
  assert.equal(routeMatches(route({ labels: { constructor: 'x' } }, ['m']), alarm({ labels: { constructor: 'x' } })), true);
});

test('severity, status, name and source matchers, all of which must hold', () => {
  const cases: [match: Match, over: Partial<AlarmInput>, expected: boolean][] = [
    [{ severity: 'critical' }, {}, true],
    [{ severity: 'critical' }, { severity: 'error' }, false],
    [{ severity: '~critical|error' }, { severity: 'error' }, true],
    [{ severity: '!info' }, { severity: 'warning' }, true],
    [{ severity: '!info' }, { severity: 'info' }, false],
    [{ status: 'resolved' }, {}, false],
    [{ status: 'resolved' }, { status: 'resolved' }, true],
    [{ status: '!resolved' }, {}, true],
    [{ name: 'DiskFull' }, {}, true],
    [{ name: 'Disk' }, {}, false],
    [{ name: '~Disk.*' }, {}, true],
    [{ name: '~Full' }, {}, false],
    [{ name: '!~Disk.*' }, { name: 'CpuHigh' }, true],
    [{ source: 'zeebe' }, {}, true],
    [{ source: 'zeebe' }, { source: 'zeebe-2' }, false],
    [{ source: '!zeebe' }, { source: 'scripts' }, true],
    [{ source: '~z.*' }, {}, true],
    [{ source: 'zeebe', severity: 'critical', status: 'firing', name: 'DiskFull', labels: { env: 'prod' } }, {}, true],
    [{ source: 'zeebe', severity: 'critical', status: 'firing', name: 'DiskFull', labels: { env: 'prod' } }, { status: 'resolved' }, false],
    [{ source: 'zeebe', severity: 'critical' }, { source: 'scripts' }, false],
    [{ name: 'DiskFull', labels: { env: 'dev' } }, {}, false],
  ];
  for (const [match, over, expected] of cases) {
    assert.equal(routeMatches(route(match, ['m']), alarm(over)), expected, `${JSON.stringify(match)} vs ${JSON.stringify(over)}`);
  }
});

test('routes parsed from YAML by parseConfig route the same way', () => {
  const config = parseConfig(
    `
methods:
  pager: { type: log }
  dba: { type: log }
  audit: { type: log }
routes:
  - match: { source: zeebe }
    methods: [pager]
  - match:
      severity: critical
      labels: { team: "~db-.*", env: "!dev" }
    methods: [pager, dba]
    continue: true
  - match: { status: resolved, labels: { team: "!~web|api" } }
    methods: [audit, dba]
    continue: true
  - methods: [log]
`,
    {},
    noFiles,
  );
  const routes = config.routes;
  assert.equal(routes.length, 4);
  assert.deepEqual(routeAlarm(alarm(), routes), ['pager']); // source zeebe: first match wins
  const s = (over: Partial<AlarmInput>) => routeAlarm(alarm({ source: 'scripts', ...over }), routes);
  assert.deepEqual(s({}), ['pager', 'dba', 'log']);
  assert.deepEqual(s({ labels: { team: 'db-main', env: 'dev' } }), ['log']);
  assert.deepEqual(s({ labels: { team: 'mydb-main' } }), ['log']);
  assert.deepEqual(s({ status: 'resolved' }), ['pager', 'dba', 'audit', 'log']);
  assert.deepEqual(s({ status: 'resolved', severity: 'info', labels: {} }), ['audit', 'dba', 'log']);
  assert.deepEqual(s({ status: 'resolved', severity: 'info', labels: { team: 'api' } }), ['log']);
  assert.deepEqual(s({ severity: 'warning', labels: { team: 'web' } }), ['log']);
});

test('the default routes send everything to log', () => {
  const config = parseConfig('', {}, noFiles);
  assert.deepEqual(routeAlarm(alarm(), config.routes), ['log']);
  assert.deepEqual(routeAlarm(alarm({ severity: 'info', labels: {} }), config.routes), ['log']);
});
