/**
 * An alarm posted with the relay's own credential (the heartbeat canary's) goes to its canary's methods
 * only: the routes are not consulted, so a canary never pages anyone by accident. Any other alarm is
 * routed as usual. In process, through the app's acceptor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlarmInput } from '../../src/domain/alarm.ts';
import { createHarness } from './app-harness.ts';

const yaml = `
methods:
  pager: { type: webhook, url: "http://127.0.0.1:9/pager" }
  ops: { type: webhook, url: "http://127.0.0.1:9/ops" }
routes:
  - methods: [pager]
canaries:
  path:
    methods: [ops, log]
    ping_url: http://127.0.0.1:9/0b5f3e1a-8d2b-4c7e-9a10-2b3c4d5e6f70
`;

const input = (labels: Record<string, string>): AlarmInput => ({
  source: 'canary', name: 'TocsinCanary', severity: 'info', status: 'firing', labels, annotations: {}, dedupKey: `k-${JSON.stringify(labels)}`,
});
const methodsOf = (h: Awaited<ReturnType<typeof createHarness>>, alarmId: string) =>
  h.app.store.queries
    .notificationsOf(alarmId)
    .map((n) => n.method)
    .sort();

test('the canary\'s alarm goes to its methods, not the routes; an unknown canary label goes nowhere (unrouted); others follow the routes', async (t) => {
  const h = await createHarness({ yaml });
  t.after(() => h.cleanup());
  const canary = await h.app.accept({ source: 'canary', internal: true, items: [{ alarm: input({ tocsin_canary: 'path', tocsin_canary_run: 'r1' }) }] });
  assert.deepEqual(methodsOf(h, canary.alarmIds[0]!), ['log', 'ops'], 'the canary\'s methods; not pager, where the routes go');
  const unknown = await h.app.accept({ source: 'canary', internal: true, items: [{ alarm: input({ tocsin_canary: 'gone' }) }] });
  assert.deepEqual(unknown.notificationIds, []);
  assert.equal(unknown.unrouted.length, 1);
  const user = await h.app.accept({ source: 'app', items: [{ alarm: input({ tocsin_canary: 'path' }) }] });
  assert.deepEqual(methodsOf(h, user.alarmIds[0]!), ['pager'], 'a label alone (without the credential) does not make a canary alarm: routed as usual');
});
