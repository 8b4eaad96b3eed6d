import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MethodConfig } from '../config/types.ts';
import type { Delivery } from '../domain/notification.ts';
import { toEnvelope } from '../domain/envelope.ts';
import { Secret } from '../lib/secret.ts';
import { createLogChannel } from './log.ts';
import { CHANNEL_TYPES, createChannel } from './registry.ts';
import type { ChannelDeps } from './types.ts';

const delivery: Delivery = {
  notificationId: 'ntf_1',
  attempt: 1,
  method: 'stdout',
  createdAt: 0,
  alarm: {
    id: 'alm_1', source: 'api', name: 'Disk', severity: 'warning', status: 'firing',
    description: 'line one\nline two', labels: { host: 'a' }, annotations: {},
    occurredAt: 1000, receivedAt: 2000, dedupKey: 'k',
  },
};

function deps(writeLine: (line: string) => void): ChannelDeps {
  return { http: async () => { throw new Error('no http'); }, clock: { now: () => 0 }, random: () => 0, writeLine };
}

test('log channel writes the envelope as exactly one JSON line and reports sent', async () => {
  const lines: string[] = [];
  const ch = createLogChannel('stdout', deps((l) => lines.push(l)));
  assert.equal(ch.method, 'stdout');
  assert.deepEqual(await ch.send(delivery, new AbortController().signal), { outcome: 'sent' });
  assert.equal(lines.length, 1);
  assert.ok(!lines[0]!.includes('\n'));
  assert.deepEqual(JSON.parse(lines[0]!), toEnvelope(delivery));
});

test('log channel: a failing writeLine is a retry with its message', async () => {
  const ch = createLogChannel('stdout', deps(() => { throw new Error('EPIPE: broken pipe'); }));
  assert.deepEqual(await ch.send(delivery, new AbortController().signal), { outcome: 'retry', error: 'EPIPE: broken pipe' });
});

test('registry builds one channel per type', () => {
  assert.deepEqual(CHANNEL_TYPES, ['log', 'webhook']);
  const delivery = { concurrency: 1, timeoutMs: 1000, maxAttempts: 3, maxAgeMs: 1000, backoffBaseMs: 1, backoffCapMs: 2, retryAfterCapMs: 3 };
  const log: MethodConfig = { name: 'stdout', settings: { type: 'log' }, delivery };
  const hook: MethodConfig = { name: 'ops', settings: { type: 'webhook', url: new Secret('http://h/'), headers: {} }, delivery };
  assert.equal(createChannel(log, deps(() => {})).method, 'stdout');
  assert.equal(createChannel(hook, deps(() => {})).method, 'ops');
  assert.throws(() => createChannel({ ...log, settings: { type: 'sms' } } as unknown as MethodConfig, deps(() => {})), /unknown method type: sms/);
});
