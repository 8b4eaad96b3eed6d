import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alarm } from '../domain/alarm.ts';
import { AlarmCache } from './alarm-cache.ts';

const alarm = (id: string, note = ''): Alarm => ({
  id, source: 's', name: 'N', severity: 'info', status: 'firing', labels: { note }, annotations: {}, occurredAt: 1, receivedAt: 1, dedupKey: id,
});

test('when full, new alarms are not cached and those cached (claimed first) stay', () => {
  const cache = new AlarmCache({ maxEntries: 3 });
  for (const id of ['a', 'b', 'c', 'd', 'e']) cache.add(alarm(id), 1);
  assert.equal(cache.size, 3);
  assert.equal(cache.take('a')?.id, 'a');
  assert.equal(cache.take('d'), undefined, 'not cached: read back from the database when claimed');
  // Room again: the next one is cached.
  cache.add(alarm('f'), 1);
  assert.equal(cache.take('f')?.id, 'f');
});

test('an alarm stays until each of its notifications has taken it; size is bounded too', () => {
  const cache = new AlarmCache({ maxBytes: 16_000 });
  cache.add(alarm('x'), 2);
  assert.equal(cache.take('x')?.id, 'x');
  assert.equal(cache.take('x')?.id, 'x');
  assert.equal(cache.take('x'), undefined);
  cache.add(alarm('huge', 'y'.repeat(2000)), 1);
  assert.equal(cache.size, 0, 'larger than a sixteenth of the budget: not cached');
});
