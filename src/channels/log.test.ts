import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Delivery } from '../domain/notification.ts';
import { toEnvelope } from '../domain/envelope.ts';
import { Secret } from '../lib/secret.ts';
import { fakeReceiver } from '../../test/support/channel-kit.ts';
import { createLogChannel } from './log.ts';
import { CHANNELS, createChannel, guardChannel } from './registry.ts';
import type { ChannelDeps, HttpClient } from './types.ts';

const delivery: Delivery = {
  notificationId: 'ntf_1',
  attempt: 1,
  method: 'stdout',
  createdAt: 0,
  alarms: [{
    id: 'alm_1', source: 'api', name: 'Disk', severity: 'warning', status: 'firing',
    description: 'line one\nline two', labels: { host: 'a' }, annotations: {},
    occurredAt: 1000, receivedAt: 2000, dedupKey: 'k',
  }],
  remoteRefs: {},
};

/** `http` defaults to a strict fake receiver with an empty script: the log channel makes no HTTP requests. */
function deps(writeLine: (line: string) => void, http: HttpClient = fakeReceiver([]).client): ChannelDeps {
  return { http, clock: { now: () => 0 }, writeLine };
}

test('log channel writes the envelope as exactly one JSON line and reports sent, without any HTTP request', async () => {
  const lines: string[] = [];
  const receiver = fakeReceiver([]);
  const ch = createLogChannel('stdout', deps((l) => lines.push(l), receiver.client));
  assert.equal(ch.method, 'stdout');
  assert.deepEqual(await ch.send(delivery, new AbortController().signal), { outcome: 'sent' });
  assert.equal(lines.length, 1);
  assert.ok(!lines[0]!.includes('\n'));
  assert.deepEqual(JSON.parse(lines[0]!), toEnvelope(delivery));
  receiver.assertDone();
});

test('log channel: a failing writeLine is a retry with its message', async () => {
  const ch = createLogChannel('stdout', deps(() => { throw new Error('EPIPE: broken pipe'); }));
  assert.deepEqual(await ch.send(delivery, new AbortController().signal), { outcome: 'retry', error: 'EPIPE: broken pipe' });
});

test('registry: one descriptor per channel type; creates a method\'s channel; an unknown type is an error', () => {
  assert.deepEqual(CHANNELS.map((c) => c.type), ['log', 'webhook', 'slack', 'pagerduty', 'email']);
  assert.equal(createChannel({ name: 'stdout', type: 'log', settings: {} }, deps(() => {})).method, 'stdout');
  assert.equal(createChannel({ name: 'ops', type: 'webhook', settings: { url: new Secret('http://h/'), headers: {} } }, deps(() => {})).method, 'ops');
  assert.throws(() => createChannel({ name: 'x', type: 'sms', settings: {} }, deps(() => {})), /method x: unknown channel type "sms"; expected one of: log, webhook/);
});

test('a grouped notification is printed with its alarms in order', async () => {
  const lines: string[] = [];
  const second = { ...delivery.alarms[0]!, id: 'alm_2', dedupKey: 'k2' };
  await createLogChannel('stdout', deps((l) => lines.push(l))).send({ ...delivery, alarms: [delivery.alarms[0]!, second] }, new AbortController().signal);
  const env = JSON.parse(lines[0]!) as { alarm?: unknown; alarms: { id: string }[] };
  assert.equal(env.alarm, undefined);
  assert.deepEqual(env.alarms.map((a) => a.id), ['alm_1', 'alm_2']);
});

test('a channel made by the registry never hands back one of its method\'s secrets, and a throw becomes a retry', async () => {
  const url = 'http://h.example/hook/very-secret-path-token';
  const settings = { url: new Secret(url), headers: { 'X-Key': 'hdr-secret-value' }, bearerToken: new Secret('tok-secret-99') };
  const answers: HttpClient[] = [
    async () => { throw new Error(`connect failed for tok-secret-99 at ${url}`); },
  ];
  const ch = createChannel({ name: 'ops', type: 'webhook', settings }, { ...deps(() => {}), http: (req, signal) => answers.shift()!(req, signal) });
  const r = await ch.send(delivery, new AbortController().signal);
  const error = r.outcome === 'retry' ? r.error : '';
  assert.equal(r.outcome, 'retry');
  assert.ok(error.includes('<secret>') && !error.includes('tok-secret-99') && !error.includes('very-secret-path-token'), error);
  const thrower = guardChannel({ method: 'x', send: async () => { throw new Error('lost tok-secret-99'); } }, [new Secret('tok-secret-99')]);
  assert.deepEqual(await thrower.send(delivery, new AbortController().signal), { outcome: 'retry', error: 'channel failed: lost <secret>' });
  const leaky = guardChannel({ method: 'y', send: async () => ({ outcome: 'permanent', error: 'bad key tok-secret-99' }) }, [new Secret('tok-secret-99')]);
  assert.deepEqual(await leaky.send(delivery, new AbortController().signal), { outcome: 'permanent', error: 'bad key <secret>' });
});
