/**
 * StatsD end to end: the app (in process) with `statsd:` pointed at a UDP listener on 127.0.0.1, alarms
 * posted to it and delivered to a webhook sink (one attempt failing first), and the metrics received under
 * monasca-notification's names, with monasca's prefix, and with their exact types.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness } from './app-harness.ts';
import { startWebhookSink } from './webhook-sink.ts';
import { counterTotals, startStatsdListener } from '../support/statsd-listener.ts';

const P = 'monasca.notification.';

test('monasca-notification\'s StatsD names for ingest, notifications, deliveries and timings', async () => {
  const statsd = await startStatsdListener();
  let failedOnce = false;
  const sink = await startWebhookSink({
    // The first delivery of the alarm named Flaky fails once: a failed attempt, then sent.
    behavior: (r) => {
      if (r.envelope?.alarm?.name === 'Flaky' && !failedOnce) {
        failedOnce = true;
        return 503;
      }
      return 200;
    },
  });
  const h = await createHarness({
    yaml: `
statsd: { host: 127.0.0.1, port: ${statsd.port} }
methods:
  hook: { type: webhook, url: "${sink.url}", backoff_base: 10ms, backoff_cap: 20ms }
routes:
  - match: { labels: { team: ops } }
    methods: [hook]
`,
    start: true,
  });
  try {
    assert.equal((await h.post('/v1/alarms', { name: 'DiskFull', labels: { team: 'ops' } })).status, 202);
    assert.equal((await h.post('/v1/alarms', { name: 'Flaky', labels: { team: 'ops' } })).status, 202);
    // Matches no route: stored, no notification.
    assert.equal((await h.post('/v1/alarms', { name: 'Nobody', labels: { team: 'db' } })).status, 202);
    // Invalid: rejected, nothing stored.
    assert.equal((await h.post('/v1/alarms', { labels: { team: 'ops' } })).status, 400);
    assert.ok(await sink.waitUntil(() => sink.counts().uniqueNotifications === 2, 10_000), 'both notifications delivered');
    await h.app.dispatcher.idle();
  } finally {
    // Stopping the app sends what the client buffered.
    await h.cleanup();
    await sink.close();
  }
  try {
    const counters = () => counterTotals(statsd.lines);
    await statsd.until(() => counters().get(`${P}sent_webhook_count`) === 2 && counters().get(`${P}alarms_failed_parse_count`) === 1);
    assert.deepEqual(Object.fromEntries([...counters()].sort()), {
      [`${P}alarms_failed_parse_count`]: 1,
      [`${P}alarms_finished_count`]: 3,
      [`${P}alarms_no_notification_count`]: 1,
      [`${P}created_count`]: 2,
      [`${P}sent_failed_count`]: 1,
      [`${P}sent_webhook_count`]: 2,
    });
    // Each counter line is an exact monasca counter: `<prefix><name>:<n>|c`.
    assert.ok(statsd.lines.includes(`${P}alarms_finished_count:1|c`), statsd.lines.join('\n'));
    const timers = statsd.lines.filter((l) => l.endsWith('|ms'));
    for (const l of timers) assert.match(l, /^monasca\.notification\.(webhook_time|config_db_time):\d+\|ms$/);
    assert.equal(timers.filter((l) => l.startsWith(`${P}webhook_time:`)).length, 3, 'one per attempt (one failed, two sent)');
    assert.ok(timers.some((l) => l.startsWith(`${P}config_db_time:`)), 'the ingest commits are timed');
    assert.deepEqual(statsd.lines.filter((l) => !l.endsWith('|c') && !l.endsWith('|ms')), [], 'counters and timers only');
  } finally {
    await statsd.close();
  }
});

test('no statsd section: nothing is sent', async () => {
  const statsd = await startStatsdListener();
  const h = await createHarness({ yaml: '', start: true });
  try {
    assert.equal((await h.post('/v1/alarms', { name: 'DiskFull' })).status, 202);
    await h.app.dispatcher.idle();
    assert.equal(h.config.statsd, undefined);
  } finally {
    await h.cleanup();
    await statsd.close();
  }
  assert.deepEqual(statsd.lines, []);
});
