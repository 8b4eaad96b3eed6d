/**
 * The lifecycle through the HTTP API, in process: GET /v1/alarms (states, filters, pages, source
 * scope), the silences endpoints (auth, validation, effect), grouping, ends_at and repeat as the `log`
 * method prints them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, type Harness } from './app-harness.ts';

const ADMIN = 'adm-0123456789abcdef';
const SRC_A = 'src-a-0123456789abcdef';
const SRC_B = 'src-b-0123456789abcdef';
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function waitFor(pred: () => boolean, ms = 8000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return pred();
}

const envelopes = (h: Harness) => h.lines.map((l) => JSON.parse(l) as { alarm?: { labels: Record<string, string>; status: string }; alarms?: unknown[]; repeat?: number });

test('GET /v1/alarms lists current states, filtered and paged, each source its own', async () => {
  const h = await createHarness({ yaml: `sources:\n  a: { token: ${SRC_A} }\n  b: { token: ${SRC_B} }\n`, start: true });
  try {
    for (let i = 0; i < 5; i++) {
      const r = await h.post('/v1/alarms', { name: 'DiskFull', labels: { host: `h${i}`, team: i % 2 ? 'odd' : 'even' } }, bearer(SRC_A));
      assert.equal(r.status, 202);
    }
    await h.post('/v1/alarms', { name: 'DiskFull', labels: { host: 'h0', team: 'even' }, status: 'resolved' }, bearer(SRC_A));
    await h.post('/v1/alarms', { name: 'DiskFull', labels: { host: 'hb' } }, bearer(SRC_B));
    // A repeat of the current state is counted, not notified.
    const again = await h.post('/v1/alarms', { name: 'DiskFull', labels: { host: 'h1', team: 'odd' } }, bearer(SRC_A));
    assert.deepEqual(again.json.notification_ids, []);

    const all = await h.get('/v1/alarms', bearer(SRC_A));
    assert.equal(all.status, 200);
    assert.equal(all.json.alarms.length, 5, 'source a sees its 5 alarms, not b\'s');
    const h1 = all.json.alarms.find((a: { alarm: { labels: { host: string } } }) => a.alarm.labels.host === 'h1');
    assert.equal(h1.count, 2);
    assert.equal(h1.state, 'firing');
    assert.equal(h1.notified.log.status, 'firing');
    assert.equal((await h.get('/v1/alarms?state=firing', bearer(SRC_A))).json.alarms.length, 4);
    assert.equal((await h.get('/v1/alarms?state=resolved', bearer(SRC_A))).json.alarms.length, 1);
    assert.equal((await h.get('/v1/alarms?label.team=odd', bearer(SRC_A))).json.alarms.length, 2);
    assert.equal((await h.get('/v1/alarms?label.team=odd&state=resolved', bearer(SRC_A))).json.alarms.length, 0);
    assert.equal((await h.get('/v1/alarms?source=b', bearer(SRC_A))).status, 403);
    assert.equal((await h.get('/v1/alarms', bearer(SRC_B))).json.alarms.length, 1);
    assert.equal((await h.get('/v1/alarms')).status, 401);
    // Pages.
    const p1 = await h.get('/v1/alarms?limit=2', bearer(SRC_A));
    assert.equal(p1.json.alarms.length, 2);
    assert.ok(p1.json.next_cursor);
    const p2 = await h.get(`/v1/alarms?limit=10&cursor=${p1.json.next_cursor}`, bearer(SRC_A));
    assert.equal(p2.json.alarms.length, 3);
    assert.equal(p2.json.next_cursor, undefined);
    // Bad parameters name themselves.
    for (const [q, field] of [['state=on', 'state'], ['limit=0', 'limit'], ['cursor=zz', 'cursor'], ['host=h1', 'host']] as const) {
      const r = await h.get(`/v1/alarms?${q}`, bearer(SRC_A));
      assert.equal(r.status, 400, q);
      assert.equal(r.json.field, field, q);
    }
  } finally {
    await h.cleanup();
  }
});

test('silences API: admin tokens only, validated requests, and a silence mutes and releases', async () => {
  const h = await createHarness({ yaml: `sources:\n  a: { token: ${SRC_A} }\nadmin:\n  tokens: [${ADMIN}]\n`, start: true });
  try {
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const body = { match: { labels: { host: 'db-1' } }, ends_at: until, comment: 'disk swap', created_by: 'ana' };
    assert.equal((await h.post('/api/v1/silences', body)).status, 401);
    assert.equal((await h.post('/api/v1/silences', body, bearer('nope'))).status, 401);
    const src = await h.post('/api/v1/silences', body, bearer(SRC_A));
    assert.equal(src.status, 403, 'a source token authenticates, but not for the admin API');
    for (const [bad, field] of [
      [{ ...body, ends_at: 'tomorrow' }, 'ends_at'],
      [{ ...body, ends_at: undefined }, 'ends_at'],
      [{ ...body, comment: '' }, 'comment'],
      [{ ...body, extra: 1 }, 'extra'],
      [{ ...body, match: {} }, 'match'],
      [{ ...body, match: { labels: { host: '~(' } } }, 'match.labels.host'],
      [{ ...body, ends_at: new Date(Date.now() - 1000).toISOString() }, 'ends_at'],
    ] as const) {
      const r = await h.post('/api/v1/silences', bad, bearer(ADMIN));
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.json.field, field, `${JSON.stringify(bad)}: ${r.text}`);
    }
    assert.equal((await h.post('/api/v1/silences', 'not json', bearer(ADMIN))).status, 400);

    // A firing alarm, notified; then the silence; its resolve is still notified (the firing was).
    await h.post('/v1/alarms', { name: 'Up', labels: { host: 'db-1', svc: 'x' } }, bearer(SRC_A));
    const created = await h.post('/api/v1/silences', body, bearer(ADMIN));
    assert.equal(created.status, 201, created.text);
    const id = created.json.id as string;
    assert.equal(created.json.state, 'active');
    const r1 = await h.post('/v1/alarms', { name: 'DiskFull', labels: { host: 'db-1' } }, bearer(SRC_A));
    assert.deepEqual(r1.json.notification_ids, [], 'silenced: recorded, not notified');
    const r2 = await h.post('/v1/alarms', { name: 'DiskFull', labels: { host: 'db-2' } }, bearer(SRC_A));
    assert.equal(r2.json.notification_ids.length, 1);
    const listed = await h.get('/v1/alarms?label.host=db-1&state=firing', bearer(SRC_A));
    assert.ok(listed.json.alarms.every((a: { silenced_by: string }) => a.silenced_by === id));
    assert.equal((await h.get('/api/v1/silences?state=active', bearer(ADMIN))).json.silences.length, 1);
    assert.equal((await h.get(`/api/v1/silences/${id}`, bearer(ADMIN))).json.comment, 'disk swap');

    const before = h.lines.length;
    const del = await h.request(`/api/v1/silences/${id}`, { method: 'DELETE', headers: bearer(ADMIN) });
    assert.equal(del.status, 200);
    assert.equal(del.json.state, 'expired');
    const released = () => envelopes(h).slice(before).filter((e) => e.alarm?.labels.host === 'db-1' && e.alarm.status === 'firing');
    assert.ok(await waitFor(() => released().length >= 1), 'its end releases the still-firing alarm it held');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(released().map((e) => (e.alarm as { name?: string }).name), ['DiskFull'], 'Up was notified before the silence: not told again');
    // Up's resolve is notified: its firing was.
    await h.post('/v1/alarms', { name: 'Up', labels: { host: 'db-1', svc: 'x' }, status: 'resolved' }, bearer(SRC_A));
    assert.ok(await waitFor(() => envelopes(h).some((e) => (e.alarm as { name?: string } | undefined)?.name === 'Up' && e.alarm!.status === 'resolved')));
    assert.equal((await h.request('/api/v1/silences/sil_nope', { method: 'DELETE', headers: bearer(ADMIN) })).status, 404);
  } finally {
    await h.cleanup();
  }
});

test('no admin.tokens: the admin API answers 403 saying how to turn it on', async () => {
  const h = await createHarness({ start: true });
  try {
    const r = await h.get('/api/v1/silences', bearer('anything'));
    assert.equal(r.status, 403);
    assert.match(r.json.error, /admin\.tokens/);
  } finally {
    await h.cleanup();
  }
});

test('grouping, ends_at and repeat as the log method prints them', async () => {
  const yaml = [
    'routes:',
    '  - match: { labels: { kind: grouped } }',
    '    methods: [log]',
    '    group_by: [cluster]',
    '    group_wait: 300ms',
    '    group_interval: 1s',
    '  - match: { labels: { kind: reminded } }',
    '    methods: [log]',
    '    repeat_interval: 1s',
    '  - methods: [log]',
    '',
  ].join('\n');
  const h = await createHarness({ yaml, start: true });
  try {
    for (const host of ['a', 'b', 'c']) await h.post('/v1/alarms', { name: 'Down', labels: { kind: 'grouped', cluster: 'c1', host } });
    await h.post('/v1/alarms', { name: 'Down', labels: { kind: 'grouped', cluster: 'c2', host: 'd' } });
    assert.ok(await waitFor(() => envelopes(h).filter((e) => e.alarms || e.alarm?.labels.kind === 'grouped').length >= 2));
    const grouped = envelopes(h).filter((e) => e.alarms || e.alarm?.labels.kind === 'grouped');
    assert.deepEqual(grouped.map((e) => (e.alarms ? e.alarms.length : 1)).sort(), [1, 3], 'c1 as one notification of 3 alarms, c2 alone');
    // Each alarm of a group finds the notification that carried it.
    const third = (grouped.find((e) => e.alarms)!.alarms as { id: string }[])[2]!;
    const lookup = await h.get(`/v1/alarms/${third.id}`);
    assert.equal(lookup.json.notifications.length, 1, lookup.text);

    // An ends_at already past: the alarm has ended (recorded as resolved; nothing was firing).
    const past = await h.post('/v1/alarms', { name: 'Old', labels: { kind: 'past' }, ends_at: new Date(Date.now() - 60_000).toISOString() });
    assert.equal(past.status, 202);
    assert.equal((await h.get(`/v1/alarms/${past.json.alarm_ids[0]}`)).json.alarm.status, 'resolved');
    assert.deepEqual(past.json.notification_ids, []);

    const endsAt = new Date(Date.now() + 800).toISOString();
    await h.post('/v1/alarms', { name: 'Lag', labels: { kind: 'expiring' }, ends_at: endsAt });
    assert.ok(await waitFor(() => envelopes(h).some((e) => e.alarm?.labels.kind === 'expiring' && e.alarm.status === 'resolved'), 5000),
      'resolved by itself after ends_at');

    await h.post('/v1/alarms', { name: 'Hot', labels: { kind: 'reminded' } });
    assert.ok(await waitFor(() => envelopes(h).some((e) => e.alarm?.labels.kind === 'reminded' && e.repeat === 2), 6000), 'reminders 1 and 2');
    await h.post('/v1/alarms', { name: 'Hot', labels: { kind: 'reminded' }, status: 'resolved' });
    const seen = envelopes(h).filter((e) => e.alarm?.labels.kind === 'reminded').length;
    await new Promise((r) => setTimeout(r, 2500));
    const after = envelopes(h).filter((e) => e.alarm?.labels.kind === 'reminded');
    assert.equal(after.length, seen + 1, 'the resolved, and no reminder after it');
    assert.equal(after.at(-1)!.alarm!.status, 'resolved');
  } finally {
    await h.cleanup();
  }
});
