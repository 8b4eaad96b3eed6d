import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileMatcher } from '../config/matcher.ts';
import type { AlarmInput } from '../domain/alarm.ts';
import { isActive, nextBoundary, silencing, type Silence } from './silence.ts';

const silence = (id: string, startsAt: number, endsAt: number, labels: Record<string, string>, name?: string): Silence => ({
  id, startsAt, endsAt, comment: '', createdBy: '', createdAt: 0, updatedAt: 0, matchText: '{}',
  match: { labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, compileMatcher(v)])), ...(name && { name: compileMatcher(name) }) },
});
const alarm = (labels: Record<string, string>, name = 'DiskFull'): AlarmInput => ({
  source: 's', name, severity: 'warning', status: 'firing', labels, annotations: {}, dedupKey: 'k',
});

test('silencing: the first active silence that matches, by the syntax of routes[].match', () => {
  const list = [silence('s1', 100, 200, { host: 'db-1' }), silence('s2', 0, 1000, { host: '~db-.*' }), silence('s3', 0, 1000, {}, 'Other')];
  const cases: { name: string; a: AlarmInput; at: number; want: string | undefined }[] = [
    { name: 'both match: the first', a: alarm({ host: 'db-1' }), at: 150, want: 's1' },
    { name: 's1 not started yet', a: alarm({ host: 'db-1' }), at: 50, want: 's2' },
    { name: 's1 ended (ends_at is exclusive)', a: alarm({ host: 'db-1' }), at: 200, want: 's2' },
    { name: 'regex', a: alarm({ host: 'db-7' }), at: 150, want: 's2' },
    { name: 'no label: no match', a: alarm({}), at: 150, want: undefined },
    { name: 'by name', a: alarm({}, 'Other'), at: 150, want: 's3' },
    { name: 'all ended', a: alarm({ host: 'db-1' }), at: 5000, want: undefined },
  ];
  for (const c of cases) assert.equal(silencing(list, c.a, c.at), c.want, c.name);
  assert.equal(isActive(list[0]!, 100), true);
  assert.equal(isActive(list[0]!, 99), false);
});

test('nextBoundary: the next start or end after now', () => {
  const list = [silence('s1', 100, 200, {}), silence('s2', 150, 1000, {})];
  assert.equal(nextBoundary(list, 0), 100);
  assert.equal(nextBoundary(list, 100), 150);
  assert.equal(nextBoundary(list, 150), 200);
  assert.equal(nextBoundary(list, 200), 1000);
  assert.equal(nextBoundary(list, 1000), Infinity);
  assert.equal(nextBoundary([], 0), Infinity);
});
