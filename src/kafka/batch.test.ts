import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AcceptRequest, AcceptResult } from '../ingest/accept.ts';
import type { KafkaTopicConfig } from '../config/types.ts';
import { silentLogger } from '../lib/logger.ts';
import { handleBatch, type UnparseableMessage } from './batch.ts';
import { CANARY_HEADER, CANARY_KEY_HEADER, parseKafkaMessage, type KafkaMessage, type MessageContext } from './messages.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const alarmTopic: KafkaTopicConfig = { name: 'alarms', format: 'generic', source: 'generic' };
const monascaTopic: KafkaTopicConfig = { name: 'mon', format: 'monasca', source: 'monasca' };
const ctx = (topic: KafkaTopicConfig, canaries: string[] = []): MessageContext => ({
  topic,
  formatOptions: { monasca: { undetermined: 'firing', alarm_ttl: 4 * 3_600_000 } },
  now: NOW,
  hash: (s) => `h(${s.length})`,
  isKafkaCanary: (n) => canaries.includes(n),
});
const msg = (topic: string, offset: number | string, value: unknown, headers: Record<string, string> = {}, partition = 2): KafkaMessage => ({
  topic,
  partition,
  offset: String(offset),
  key: null,
  value: value === null ? null : new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value)),
  headers,
});
const transition = (over: Record<string, unknown> = {}) => ({ 'alarm-transitioned': { alarmId: 'a1', alarmName: 'cpu', newState: 'ALARM', timestamp: NOW - 1000, ...over } });

test('a message → alarms whose natural key is its topic, partition and offset (one per item)', () => {
  const r = parseKafkaMessage(msg('alarms', 41, [{ name: 'A' }, { name: 'B', severity: 'critical' }]), ctx(alarmTopic));
  assert.equal(r.kind, 'alarms');
  assert.deepEqual(r.kind === 'alarms' && r.items.map((i) => [i.alarm.name, i.alarm.source, i.naturalKey, i.internal]), [
    ['A', 'generic', 'kafka:alarms:2:41:0', undefined],
    ['B', 'generic', 'kafka:alarms:2:41:1', undefined],
  ]);
});

test('unparseable: empty, not UTF-8, bad JSON, a bad field, each with the field it is about', () => {
  const bad = (value: unknown, raw?: Uint8Array) => parseKafkaMessage({ ...msg('alarms', 1, value), ...(raw && { value: raw }) }, ctx(alarmTopic));
  assert.deepEqual(bad(null), { kind: 'unparseable', field: 'value', error: 'empty message (no value)' });
  assert.deepEqual(bad('x', new Uint8Array([0xff, 0xfe])), { kind: 'unparseable', field: 'value', error: 'not UTF-8 text' });
  assert.equal(bad('{"name"').kind, 'unparseable');
  assert.deepEqual(bad({ name: 'A', severity: 'loud' }), { kind: 'unparseable', field: 'severity', error: 'must be one of critical, error, warning, info' });
});

test('monasca: an old transition is dropped (skipped_ttl), actions disabled is an alarm recorded quietly', () => {
  assert.deepEqual(parseKafkaMessage(msg('mon', 1, transition({ timestamp: NOW - 5 * 3_600_000 })), ctx(monascaTopic)), {
    kind: 'dropped',
    reason: 'alarm older than alarm_ttl 4h: skipped, as monasca-notification does',
    skipped: { ttl: 1 },
  });
  const off = parseKafkaMessage(msg('mon', 2, transition({ actionsEnabled: false })), ctx(monascaTopic));
  assert.equal(off.kind === 'alarms' && off.items[0]!.quiet, 'actions_disabled');
});

test('a canary message is the relay\'s own only with a configured kafka canary\'s name: keyed by its run, internal, source canary', () => {
  const headers = { [CANARY_HEADER]: 'path', [CANARY_KEY_HEADER]: 'run-1:firing' };
  const body = { name: 'TocsinCanary', labels: { tocsin_canary: 'path' } };
  const r = parseKafkaMessage(msg('alarms', 7, body, headers), ctx(alarmTopic, ['path']));
  assert.equal(r.kind, 'alarms');
  if (r.kind !== 'alarms') return;
  assert.deepEqual(r.canary, { canary: 'path', idempotencyKey: 'run-1:firing' });
  assert.deepEqual(r.items.map((i) => [i.alarm.source, i.naturalKey, i.internal]), [['canary', 'canary:path:run-1:firing:0', true]]);
  // Not a configured canary: an ordinary alarm, routed like any other.
  const other = parseKafkaMessage(msg('alarms', 8, body, headers), ctx(alarmTopic, ['elsewhere']));
  assert.equal(other.kind === 'alarms' && (other.canary ?? other.items[0]!.internal), undefined);
});

/** An acceptor that records its requests. */
function recordingAcceptor(fail?: Error) {
  const calls: AcceptRequest[] = [];
  const accept = async (req: AcceptRequest): Promise<AcceptResult> => {
    if (fail) throw fail;
    calls.push(req);
    return { status: 202, alarmIds: req.items.map((_, i) => `al${calls.length}-${i}`), notificationIds: req.items.map((_, i) => `n${calls.length}-${i}`), duplicates: 0, unrouted: [] };
  };
  return { calls, accept };
}

test('a batch: all alarms in one accept, unparseable ones dead-lettered first, outcomes counted, commit offset = last + 1', async () => {
  const { calls, accept } = recordingAcceptor();
  const dead: UnparseableMessage[][] = [];
  const order: string[] = [];
  const r = await handleBatch(
    [msg('alarms', 10, { name: 'A' }), msg('alarms', 11, '{'), msg('alarms', 12, [{ name: 'B' }, { name: 'C' }])],
    ctx(alarmTopic),
    {
      accept: async (req) => (order.push('accept'), accept(req)),
      deadLetter: async (m) => void (order.push('dead'), dead.push([...m])),
      logger: silentLogger,
    },
  );
  assert.deepEqual(order, ['dead', 'accept']);
  assert.equal(calls.length, 1, 'one transaction for the batch');
  assert.deepEqual(calls[0]!.items.map((i) => i.naturalKey), ['kafka:alarms:2:10:0', 'kafka:alarms:2:12:0', 'kafka:alarms:2:12:1']);
  assert.deepEqual(dead.flat().map((d) => [d.message.offset, d.field]), [['11', 'body']]);
  assert.equal(r?.commitOffset, '13');
  assert.deepEqual(Object.fromEntries(r!.outcomes), { accepted: 2, unparseable: 1 });
  assert.equal(r?.alarms, 3);
});

test('a batch whose accept fails (backpressure, storage) throws: nothing may be committed', async () => {
  const { accept } = recordingAcceptor(new Error('disk full'));
  await assert.rejects(handleBatch([msg('alarms', 1, { name: 'A' })], ctx(alarmTopic), { accept, logger: silentLogger }), /disk full/);
  const dlFails = recordingAcceptor();
  await assert.rejects(
    handleBatch([msg('alarms', 1, '{')], ctx(alarmTopic), { accept: dlFails.accept, deadLetter: async () => Promise.reject(new Error('broker gone')), logger: silentLogger }),
    /broker gone/,
  );
});

test('a batch of 64-bit offsets commits the exact next offset; only dropped messages still commit', async () => {
  const { calls, accept } = recordingAcceptor();
  const r = await handleBatch([msg('mon', '9007199254740993', transition({ timestamp: 1 }))], ctx(monascaTopic), { accept, logger: silentLogger });
  assert.equal(r?.commitOffset, '9007199254740994');
  assert.equal(calls.length, 0, 'nothing to accept');
  assert.deepEqual(Object.fromEntries(r!.outcomes), { skipped_ttl: 1 });
  assert.equal(await handleBatch([], ctx(alarmTopic), { accept, logger: silentLogger }), undefined);
});

test('a canary message is accepted on its own and its ids handed to the waiting run', async () => {
  const { calls, accept } = recordingAcceptor();
  const seen: unknown[] = [];
  await handleBatch(
    [msg('alarms', 1, { name: 'A' }), msg('alarms', 2, { name: 'TocsinCanary', labels: { tocsin_canary: 'path' } }, { [CANARY_HEADER]: 'path', [CANARY_KEY_HEADER]: 'k' })],
    ctx(alarmTopic, ['path']),
    { accept, canaryAccepted: (mark, ids) => seen.push([mark, ids]), logger: silentLogger },
  );
  assert.equal(calls.length, 2);
  assert.deepEqual(seen, [[{ canary: 'path', idempotencyKey: 'k' }, { alarmId: 'al2-0', notificationIds: ['n2-0'] }]]);
});
