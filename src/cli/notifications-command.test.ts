import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notificationsCommand, renderNotification, type NotificationAnswer } from './notifications-command.ts';

const ANSWER: NotificationAnswer = {
  notification: {
    id: 'n_1', alarm_id: 'alm_1', alarm_ids: ['alm_1'], method: 'ops-hook', state: 'sent', attempts: 1, created_at: '2026-12-01T10:00:00.000Z',
    next_attempt_at: null, sent_at: '2026-12-01T12:00:05.000Z', dead_at: null, dead_reason: null, last_status: 200, last_error: null, replays: 1,
  },
  attempts: [
    { series: 0, attempt: 1, at: '2026-12-01T10:00:00.500Z', outcome: 'retry', status: 503, latency_ms: 120, error: 'HTTP 503: busy' },
    { series: 0, attempt: 2, at: '2026-12-01T10:01:00.000Z', outcome: 'permanent', status: 410, latency_ms: 80, error: 'HTTP 410: gone' },
    { series: 1, attempt: 1, at: '2026-12-01T12:00:05.000Z', outcome: 'sent', status: 200, latency_ms: 40, error: null },
  ],
  replays: [{ at: '2026-12-01T12:00:00.000Z', by: 'alice@ops-box' }],
};

test('the notification, then its attempts by series, each replay headed by when and by whom', () => {
  const text = renderNotification(ANSWER);
  assert.match(text, /^id:\s+n_1$/m);
  assert.match(text, /^sent at:\s+2026-12-01T12:00:05Z$/m);
  assert.match(text, /^replays:\s+1$/m);
  const series0 = text.indexOf('Series 0 (first delivery):');
  const series1 = text.indexOf('Series 1 (replayed 2026-12-01T12:00:00Z by alice@ops-box):');
  assert.ok(series0 > 0 && series1 > series0, text);
  const first = text.slice(series0, series1);
  assert.match(first, /^\s+1\s+2026-12-01T10:00:00Z\s+retry\s+503\s+120 ms\s+HTTP 503: busy$/m);
  assert.match(first, /^\s+2\s+2026-12-01T10:01:00Z\s+permanent\s+410\s+80 ms\s+HTTP 410: gone$/m);
  assert.match(text.slice(series1), /^\s+1\s+2026-12-01T12:00:05Z\s+sent\s+200\s+40 ms\s+-$/m);
});

test('a replay with no attempt yet is shown as such', () => {
  const text = renderNotification({ ...ANSWER, attempts: ANSWER.attempts!.slice(0, 2), replays: [...ANSWER.replays!, { at: '2026-12-01T13:00:00.000Z', by: 'bob@x' }] });
  assert.match(text, /Series 1 \(replayed 2026-12-01T12:00:00Z by alice@ops-box\):\nno attempts\n/);
  assert.match(text, /Series 2 \(replayed 2026-12-01T13:00:00Z by bob@x\):\nno attempts\n/);
});

test('notifications ID asks for it; --json prints the answer; unknown → 1; no ID → 2', async () => {
  const paths: string[] = [];
  const fetch = (async (input: string | URL | Request) => {
    const url = new URL(String(input));
    paths.push(url.pathname);
    return url.pathname === '/api/v1/notifications/n_1' ? Response.json(ANSWER) : Response.json({ error: 'no such notification', code: 'not_found' }, { status: 404 });
  }) as typeof globalThis.fetch;
  const run = async (args: string[], json = false) => {
    let stdout = '';
    let stderr = '';
    const code = await notificationsCommand({ command: '', args, values: { url: 'http://relay.test', token: 't', json }, env: {}, usage: 'U\n', style: {}, fetch, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { code, stdout, stderr };
  };
  const asJson = await run(['n_1'], true);
  assert.equal(asJson.code, 0);
  assert.deepEqual(JSON.parse(asJson.stdout), ANSWER);
  const unknown = await run(['n_2']);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, 'tocsin notifications: 404 no such notification\n');
  const none = await run([]);
  assert.equal(none.code, 2);
  assert.deepEqual(paths, ['/api/v1/notifications/n_1', '/api/v1/notifications/n_2']);
});
