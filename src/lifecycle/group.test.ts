import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupFlushAt } from './group.ts';

test('group windows: group_wait after the first alarm, never sooner than group_interval after the last notification', () => {
  const cases: { name: string; now: number; last?: number; want: number }[] = [
    { name: 'a new group waits group_wait', now: 1000, want: 1030 },
    { name: 'long after the last one: group_wait', now: 10_000, last: 1000, want: 10_030 },
    { name: 'soon after the last one: group_interval from it', now: 1100, last: 1000, want: 1500 },
    { name: 'exactly at the interval: group_wait decides', now: 1500, last: 1000, want: 1530 },
  ];
  for (const c of cases) assert.equal(groupFlushAt(c.now, 30, 500, c.last), c.want, c.name);
});
