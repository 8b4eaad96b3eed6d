import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommitGate } from './cluster.ts';

test('the gate commits, per partition and in order, the last batch whose notifications (and every earlier batch\'s) are settled', () => {
  const g = new CommitGate();
  g.add('t', 0, '10', ['a', 'b']);
  g.add('t', 0, '20', ['c']);
  g.add('t', 1, '5', []);
  assert.deepEqual(g.settle(new Set(['a']), 16), [{ topic: 't', partition: 1, offset: '5' }]);
  const later = g.settle(new Set(['a']), 16);
  g.committed(later);
  // c is settled, but the batch before it still waits for a: nothing on partition 0 yet.
  assert.deepEqual(g.settle(new Set(['a']), 16), []);
  assert.deepEqual(g.waitedFor(16).sort(), ['a', 'b', 'c']);
  const commits = g.settle(new Set(), 16);
  assert.deepEqual(commits, [{ topic: 't', partition: 0, offset: '20' }]);
  assert.equal(g.size, 1, 'ready until committed: a failed commit is tried again');
  g.committed(commits);
  assert.equal(g.size, 0);
});

test('handed off: the batches waiting for a notification when it was leased stop waiting; batches added later keep waiting', () => {
  const g = new CommitGate();
  g.add('src', 0, '1', ['x', 'y']);
  const gone = g.holding(['x']);
  // The record came back (from the retry topic) before the hand-off finished: a later batch waits for x.
  g.add('retry', 3, '8', ['x']);
  gone();
  assert.deepEqual(g.settle(new Set(['x']), 16), [{ topic: 'src', partition: 0, offset: '1' }]);
  assert.deepEqual(g.waitedFor(16), ['x']);
});

test('only the batches whose notifications were looked at can be committed (the look-ahead)', () => {
  const g = new CommitGate();
  for (let i = 1; i <= 20; i++) g.add('t', 0, String(i * 10), [`n${i}`]);
  const asked = g.waitedFor(16);
  assert.equal(asked.length, 16);
  // n17..n20 were not asked about: they are not settled just because they are absent from the answer.
  assert.deepEqual(g.settle(new Set(), 16), [{ topic: 't', partition: 0, offset: '160' }]);
  assert.deepEqual(g.waitedFor(16), ['n17', 'n18', 'n19', 'n20']);
});

test('a partition lost in a rebalance is dropped, ready offsets too', () => {
  const g = new CommitGate();
  g.add('t', 0, '3', ['a']);
  g.add('t', 1, '4', []);
  g.settle(new Set(['a']), 16);
  g.drop('t', 1);
  g.drop('t', 0);
  assert.equal(g.size, 0);
  assert.deepEqual(g.settle(new Set(), 16), []);
});

test('a retry record round-trips whole (its alarms with their details); a record that does not parse says where', async () => {
  const { encodeRetryRecord, decodeRetryRecord } = await import('./retry-record.ts');
  const rec = {
    id: 'n1', method: 'hook', attempts: 2, createdAt: 1, nextAttemptAt: 2, lastStatus: 503, lastError: 'HTTP 503',
    alarms: [{ id: 'a1', source: 's', name: 'N', severity: 'error' as const, status: 'firing' as const, labels: { h: '1' }, annotations: {}, occurredAt: 1, receivedAt: 1, dedupKey: 'k', details: { key: '9007199254740993' } }],
  };
  const { key, value } = encodeRetryRecord(rec);
  assert.equal(key, 'k');
  assert.deepEqual(decodeRetryRecord(value), rec);
  assert.deepEqual(decodeRetryRecord('{'), { error: `not JSON: ${(() => { try { JSON.parse('{'); } catch (e) { return (e as Error).message; } return ''; })()}` });
  assert.deepEqual(decodeRetryRecord(JSON.stringify({ ...JSON.parse(value), attempts: -1 })), { error: 'attempts: Too small: expected number to be >=0' });
  // A newer writer's record: its version and the fields this one does not know are passed over.
  assert.deepEqual(decodeRetryRecord(JSON.stringify({ ...JSON.parse(value), v: 2, priority: 'high' })), rec);
  assert.deepEqual(decodeRetryRecord(JSON.stringify({ ...JSON.parse(value), alarms: [] })), { error: 'alarms: Too small: expected array to have >=1 items' });
});
