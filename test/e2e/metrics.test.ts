/**
 * GET /metrics end to end (in process): the token from the config (and its reload), and the metrics read
 * at scrape time from the outbox: depth by method, the age of the oldest undelivered notification, dead
 * letters, heartbeat checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness } from './app-harness.ts';
import { startWebhookSink } from './webhook-sink.ts';
import { parseConfig } from '../../src/config/parse.ts';

const sample = (text: string, line: RegExp) => text.split('\n').find((l) => line.test(l));

test('/metrics: open without metrics.token; with one, only its bearer; a reload changes it', async () => {
  const h = await createHarness({ yaml: 'metrics: { token: scrape-token-1 }\n' });
  try {
    const refused = await h.get('/metrics');
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.json, { error: 'missing Authorization: Bearer <metrics token>', code: 'unauthorized' });
    assert.equal((await h.get('/metrics', { authorization: 'Bearer nope' })).status, 401);
    const ok = await h.get('/metrics', { authorization: 'Bearer scrape-token-1' });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /^tocsin_notifications_undelivered 0$/m);
    // Reloaded without a token: open.
    h.app.reload(parseConfig(`data_dir: ${JSON.stringify(h.dataDir)}\n`, {}, () => ''));
    assert.equal((await h.get('/metrics')).status, 200);
  } finally {
    await h.cleanup();
  }
});

test('/metrics: outbox depth by method, oldest undelivered age, dead letters, check states, notifications by outcome', async () => {
  const sink = await startWebhookSink({ behavior: (r) => (r.envelope?.alarm?.name === 'Gone' ? 404 : 503) });
  const h = await createHarness({
    yaml: `
methods:
  hook: { type: webhook, url: "${sink.url}", max_attempts: 1 }
routes:
  - methods: [hook]
checks:
  nightly: { period: 1h }
`,
  });
  try {
    assert.equal((await h.post('/v1/alarms', { name: 'DiskFull' })).status, 202);
    assert.equal((await h.post('/v1/alarms', { name: 'Gone' })).status, 202);
    const before = await h.get('/metrics');
    assert.match(before.text, /^tocsin_notifications_undelivered_by_method\{method="hook"\} 2$/m);
    const age = Number(sample(before.text, /^tocsin_oldest_undelivered_age_seconds /)?.split(' ')[1]);
    assert.ok(Number.isFinite(age) && age >= 0, `age ${age}`);
    assert.match(before.text, /^tocsin_check_status\{check="nightly",status="new"\} 1$/m);
    // Deliver: a 404 is permanent (dead); the 503 on its only attempt is dead too (max_attempts 1).
    h.app.dispatcher.tick();
    await h.app.dispatcher.idle();
    const after = (await h.get('/metrics')).text;
    assert.match(after, /^tocsin_dead_letters\{method="hook"\} 2$/m);
    assert.match(after, /^tocsin_notifications_total\{method="hook",outcome="dead"\} 2$/m);
    assert.match(after, /^tocsin_oldest_undelivered_age_seconds 0$/m);
    assert.doesNotMatch(after, /^tocsin_notifications_undelivered_by_method\{/m);
    assert.match(after, /^tocsin_alarms_ingested_total\{source="generic",outcome="accepted"\} 2$/m);
  } finally {
    await h.cleanup();
    await sink.close();
  }
});
