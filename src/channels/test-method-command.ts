/**
 * @module channels/test-method-command
 * `tocsin test-method <name>`: sends one clearly labelled test notification through a configured method
 * (its channel, settings, secrets and templates, as the relay would) and prints the provider's answer.
 * It writes nothing to the database and needs no running relay. Exit 0 when sent, 1 when not.
 */
import type { Config } from '../config/types.ts';
import type { Alarm } from '../domain/alarm.ts';
import type { SendResult } from '../domain/notification.ts';
import { systemClock } from '../lib/clock.ts';
import { channelDescriptor, createChannel } from './registry.ts';
import type { ChannelDeps, HttpClient } from './types.ts';
import { excerpt, urlSecrets } from './http.ts';
import { redact, secretsIn } from '../lib/secret.ts';

/** The test alarm: its name, summary and labels say what it is. */
export function testAlarm(method: string, now: number, id: string): Alarm {
  return {
    id: `alm_test_${id}`,
    source: 'tocsin',
    name: 'TocsinTestNotification',
    severity: 'info',
    status: 'firing',
    summary: `Test notification from tocsin for method ${method}: no action needed`,
    description: 'Sent by `tocsin test-method` to check that this method reaches its destination.',
    labels: { tocsin_test: 'true', method },
    annotations: {},
    occurredAt: now,
    receivedAt: now,
    dedupKey: `tocsin-test:${method}:${id}`,
  };
}

/** One line for the result: `sent (HTTP 202)` or `failed, permanent: HTTP 400: …`. */
export function describeResult(r: SendResult): string {
  if (r.outcome === 'sent') return r.status === undefined ? 'sent' : `sent (HTTP ${r.status})`;
  const after = r.outcome === 'retry' && r.retryAfterMs !== undefined ? ` (the receiver asks to retry after ${Math.ceil(r.retryAfterMs / 1000)} s)` : '';
  return `failed, ${r.outcome === 'retry' ? 'would be retried' : 'permanent'}: ${r.error}${after}`;
}

export interface TestMethodOptions {
  readonly config: Config;
  readonly method: string;
  readonly deps: ChannelDeps;
  readonly timeoutMs?: number;
  readonly randomId: () => string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export async function testMethod(opts: TestMethodOptions): Promise<number> {
  const m = opts.config.methods[opts.method];
  if (!m) {
    opts.stderr(`tocsin test-method: no method ${JSON.stringify(opts.method)}; configured: ${Object.keys(opts.config.methods).sort().join(', ')}\n`);
    return 2;
  }
  const now = (opts.deps.clock ?? systemClock).now();
  const id = opts.randomId();
  // The provider's answer to print: the last HTTP response's body, redacted like any error text.
  let answer = '';
  const http: HttpClient = async (req, signal) => {
    const res = await opts.deps.http(req, signal);
    answer = excerpt(redact(String(res.bodyExcerpt ?? ''), [...secretsIn(m.settings), ...urlSecrets(req.url)], { truncated: true }));
    return res;
  };
  const channel = createChannel(m, { ...opts.deps, http });
  const alarm = testAlarm(m.name, now, id);
  const send = async (a: Alarm, n: number): Promise<SendResult> => {
    const controller = new AbortController();
    const timeout = opts.timeoutMs ?? m.delivery.timeoutMs;
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${timeout / 1000} s`)), timeout);
    try {
      answer = '';
      return await channel.send({ notificationId: `ntf_test_${id}_${n}`, attempt: 1, method: m.name, alarms: [a], createdAt: now, remoteRefs: {} }, controller.signal);
    } finally {
      clearTimeout(timer);
    }
  };
  const report = (r: SendResult, what: string): boolean => {
    const line = `${m.name} (${m.type})${what}: ${describeResult(r)}${r.outcome === 'sent' && answer ? `: ${answer}` : ''}\n`;
    if (r.outcome === 'sent') opts.stdout(line);
    else opts.stderr(line);
    return r.outcome === 'sent';
  };
  if (!report(await send(alarm, 1), '')) return 1;
  // What the test opened (a PagerDuty incident) is closed again at once.
  if (channelDescriptor(m.type)?.opensIncidents && !report(await send({ ...alarm, status: 'resolved' }, 2), ', resolving the test')) return 1;
  return 0;
}
