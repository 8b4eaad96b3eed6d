/**
 * Dead letters through the admin API, in process with a real webhook sink on 127.0.0.1: a sink that
 * refuses permanently makes dead letters; once it accepts, a replay by id and one by filter deliver them
 * (attempt 1 of a new series, who replayed them recorded); a discard deletes them; the undelivered count
 * stays right throughout; a removed method's dead letters are skipped by a replay, and a discard by that
 * method also clears its pending notifications.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, type Harness } from './app-harness.ts';
import { startWebhookSink, type WebhookSink } from './webhook-sink.ts';
import { parseConfig } from '../../src/config/parse.ts';

const ADMIN = 'admin-token-dead-letters-1';
const SRC = 'source-token-dead-letters-1';
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const WAIT_MS = 15_000;

function yaml(sink: WebhookSink): string {
  return [
    'sources:',
    `  app: { token: ${SRC} }`,
    'admin:',
    `  tokens: [${ADMIN}]`,
    'methods:',
    `  hook: { type: webhook, url: ${JSON.stringify(sink.url)} }`,
    'routes:',
    '  - methods: [hook]',
    'delivery:',
    '  poll_interval: 50ms',
    '',
  ].join('\n');
}

async function waitFor(pred: () => boolean | Promise<boolean>, ms = WAIT_MS): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return pred();
}

async function deadLetters(h: Harness, query = ''): Promise<{ id: string; method: string; dead_reason: string; alarm_name: string; created_at: string }[]> {
  const r = await h.get(`/api/v1/dead-letters${query}`, bearer(ADMIN));
  assert.equal(r.status, 200, r.text);
  return r.json.items;
}

/** Posts alarms named `names` and waits until each notification is dead. */
async function makeDead(h: Harness, names: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const name of names) {
    const r = await h.post('/v1/alarms', { name, labels: { host: name } }, bearer(SRC));
    assert.equal(r.status, 202, r.text);
    ids.push(...(r.json.notification_ids as string[]));
  }
  assert.ok(await waitFor(async () => (await deadLetters(h)).filter((d) => ids.includes(d.id)).length === ids.length), 'dead');
  return ids;
}

test('dead letters: list, replay by id and by filter to a sink that now accepts, discard, counters', async () => {
  const sink = await startWebhookSink({ behavior: () => ({ status: 400, body: 'no such channel' }) });
  const h = await createHarness({ yaml: yaml(sink), start: true });
  try {
    const ids = await makeDead(h, ['A', 'B', 'C', 'D']);
    assert.equal(h.app.store.pendingCount, 0, 'dead letters are not undelivered');
    const listed = await deadLetters(h);
    assert.deepEqual(listed.map((d) => d.id).sort(), [...ids].sort());
    assert.ok(listed.every((d) => d.method === 'hook' && /400/.test(d.dead_reason)), JSON.stringify(listed));
    assert.deepEqual(new Set(listed.map((d) => d.alarm_name)), new Set(['A', 'B', 'C', 'D']));
    // Filters: the reason (case-insensitive substring), the method, the time they died.
    assert.equal((await deadLetters(h, '?reason=NO%20SUCH')).length, 4);
    assert.equal((await deadLetters(h, '?reason=timeout')).length, 0);
    assert.equal((await deadLetters(h, '?method=other')).length, 0);
    assert.equal((await deadLetters(h, `?until=${encodeURIComponent('2000-01-01T00:00:00Z')}`)).length, 0);

    sink.setBehavior(() => 200);
    const diedAt = Date.parse(listed.find((d) => d.id === ids[0])!.created_at);
    const replayedAt = Date.now();
    // Replay one by id, recording who did it.
    const one = await h.post('/api/v1/dead-letters/replay', { ids: [ids[0], 'n_unknown'], by: 'ana@ops' }, bearer(ADMIN));
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.json, { replayed: 1, ids: [ids[0]], not_found: ['n_unknown'], skipped: [], remaining: 0 });
    assert.ok(await sink.waitUntil(() => (sink.acceptedByNotification.get(ids[0]!) ?? 0) === 1, WAIT_MS), 'the replayed one is delivered');
    const accepted = sink.requests.find((q) => q.accepted && q.notificationId === ids[0])!;
    assert.equal(accepted.attempt, 1, 'a new series counts from 1');
    assert.ok(await waitFor(async () => (await h.get(`/api/v1/notifications/${ids[0]}`, bearer(ADMIN))).json.notification.state === 'sent'));
    const detail = (await h.get(`/api/v1/notifications/${ids[0]}`, bearer(ADMIN))).json;
    assert.equal(detail.notification.replays, 1);
    assert.equal(detail.replays.length, 1);
    assert.equal(detail.replays[0].by, 'ana@ops');
    // The new series starts at the replay: its max_age counts from there, not from the first creation.
    const seriesStart = Date.parse(detail.notification.created_at);
    assert.ok(seriesStart >= replayedAt && seriesStart > diedAt, `created_at ${detail.notification.created_at} is the replay's time`);
    assert.deepEqual(
      detail.attempts.map((a: { series: number; attempt: number; outcome: string; status: number }) => [a.series, a.attempt, a.outcome, a.status]),
      [[0, 1, 'permanent', 400], [1, 1, 'sent', 200]],
    );

    // Replay by filter, one per call: callers loop while remaining > 0.
    const first = await h.post('/api/v1/dead-letters/replay', { filter: { reason: 'no such' }, limit: 1, by: 'bo' }, bearer(ADMIN));
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.replayed, 1);
    assert.equal(first.json.remaining, 2);
    const second = await h.post('/api/v1/dead-letters/replay', { filter: { reason: 'no such' }, limit: 1 }, bearer(ADMIN));
    assert.equal(second.json.remaining, 1);
    const replayedByFilter = [...first.json.ids, ...second.json.ids] as string[];
    assert.ok(await sink.waitUntil(() => replayedByFilter.every((id) => sink.acceptedByNotification.get(id) === 1), WAIT_MS));
    const noBy = (await h.get(`/api/v1/notifications/${second.json.ids[0]}`, bearer(ADMIN))).json;
    assert.equal(noBy.replays[0].by, null, 'nobody named');
    assert.ok(h.logger.records.some((l) => l.msg === 'dead letters replayed' && l.fields.by === 'ana@ops'), 'a replay is logged with who did it');

    // Discard the last one.
    const rest = (await deadLetters(h)).map((d) => d.id);
    assert.equal(rest.length, 1);
    const gone = await h.post('/api/v1/dead-letters/discard', { ids: rest }, bearer(ADMIN));
    assert.equal(gone.status, 200, gone.text);
    assert.deepEqual(gone.json, { discarded: 1, ids: rest, not_found: [], pending_cleared: 0, remaining: 0 });
    assert.equal((await h.get(`/api/v1/notifications/${rest[0]}`, bearer(ADMIN))).status, 404);
    assert.deepEqual(await deadLetters(h), []);
    assert.ok(await waitFor(() => h.app.store.pendingCount === 0), `pending ${h.app.store.pendingCount}`);
    assert.equal(h.app.store.pendingCount, h.app.store.queries.countUndelivered(), 'the in-memory count agrees with the table');
    assert.equal(h.count('notifications'), 0);
  } finally {
    await h.cleanup();
    await sink.close();
  }
});

test('dead letters of a removed method: replay skips them; discard by method clears its pending too', async () => {
  const sink = await startWebhookSink({ behavior: () => 400 });
  const h = await createHarness({ yaml: yaml(sink), start: true });
  try {
    const dead = await makeDead(h, ['X']);
    // The method goes away (a reload); a pending notification of it stays behind.
    const next = parseConfig(`${yaml(sink).replace(/methods:\n.*\nroutes:\n.*\n/, 'methods:\n  other: { type: log }\nroutes:\n  - methods: [other]\n')}data_dir: ${JSON.stringify(h.dataDir)}\n`, {}, () => {
      throw new Error('no files');
    });
    h.app.reload(next);
    const db = (await import('better-sqlite3')).default;
    const w = new db(h.dbFile);
    w.prepare(
      "INSERT INTO notifications (id, alarm_id, method, state, attempts, created_at, next_attempt_at) SELECT 'n_left', alarm_id, 'hook', 'pending', 0, 1, 1 FROM notifications LIMIT 1",
    ).run();
    w.close();
    h.app.store.noteArrived(1);
    const undeliveredBefore = h.app.store.pendingCount;

    const r = await h.post('/api/v1/dead-letters/replay', { ids: dead }, bearer(ADMIN));
    assert.equal(r.json.replayed, 0);
    assert.deepEqual(r.json.skipped.map((s: { id: string }) => s.id), dead);
    assert.match(r.json.skipped[0].reason, /no longer configured/);
    const all = await h.post('/api/v1/dead-letters/replay', { filter: {} }, bearer(ADMIN));
    assert.equal(all.json.replayed, 0);
    assert.equal(all.json.remaining, 0, 'nothing replayable remains: a loop ends');
    assert.equal(all.json.skipped.length, 1);

    const d = await h.post('/api/v1/dead-letters/discard', { filter: { method: 'hook' } }, bearer(ADMIN));
    assert.equal(d.status, 200, d.text);
    assert.equal(d.json.discarded, 2);
    assert.deepEqual([...d.json.ids].sort(), [...dead, 'n_left'].sort());
    assert.equal(d.json.pending_cleared, 1, 'the pending one is reported apart from the dead letters');
    assert.equal(d.json.remaining, 0);
    assert.equal(h.app.store.pendingCount, undeliveredBefore - 1, 'the cleared pending one is no longer counted');
    assert.equal(h.app.store.pendingCount, h.app.store.queries.countUndelivered());
  } finally {
    await h.cleanup();
    await sink.close();
  }
});

test('dead letters API: auth, validation naming the field, pagination', async () => {
  const sink = await startWebhookSink({ behavior: () => 400 });
  const h = await createHarness({ yaml: yaml(sink), start: true });
  try {
    const ids = await makeDead(h, ['P1', 'P2', 'P3', 'P4', 'P5']);
    assert.equal((await h.get('/api/v1/dead-letters')).status, 401);
    assert.equal((await h.get('/api/v1/dead-letters', bearer('wrong'))).status, 401);
    assert.equal((await h.get('/api/v1/dead-letters', bearer(SRC))).status, 403);
    assert.equal((await h.post('/api/v1/dead-letters/replay', { ids }, bearer(SRC))).status, 403);
    assert.equal((await h.post('/api/v1/dead-letters/discard', { ids })).status, 401);

    for (const [q, field] of [['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=x', 'limit'], ['since=yesterday', 'since'], ['cursor=zz', 'cursor'], ['colour=red', 'colour']] as const) {
      const r = await h.get(`/api/v1/dead-letters?${q}`, bearer(ADMIN));
      assert.equal(r.status, 400, q);
      assert.equal(r.json.code, 'invalid_request');
      assert.equal(r.json.field, field, `${q}: ${r.text}`);
    }
    for (const [body, field] of [
      [{}, 'ids'],
      [{ ids: [] }, 'ids'],
      [{ ids, filter: {} }, 'filter'],
      [{ ids: 'n_1' }, 'ids'],
      [{ filter: { method: 'hook', colour: 'red' } }, 'colour'],
      [{ filter: { since: 'soon' } }, 'filter.since'],
      [{ filter: {}, limit: 0 }, 'limit'],
      [{ filter: {}, by: 'x'.repeat(201) }, 'by'],
      [{ ids, extra: true }, 'extra'],
    ] as const) {
      const r = await h.post('/api/v1/dead-letters/replay', body, bearer(ADMIN));
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.field, field, `${JSON.stringify(body)}: ${r.text}`);
    }
    assert.equal((await h.post('/api/v1/dead-letters/discard', 'not json', bearer(ADMIN))).status, 400);
    assert.equal((await h.post('/api/v1/dead-letters/discard', 'x', { ...bearer(ADMIN), 'content-type': 'text/plain' })).status, 415);
    const huge = await h.post('/api/v1/dead-letters/replay', { ids: ['n_'.padEnd(70_000, 'x')] }, bearer(ADMIN));
    assert.equal(huge.status, 413);
    assert.equal(huge.json.code, 'payload_too_large');

    // Pages of 2, newest first, every dead letter once.
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await h.get(`/api/v1/dead-letters?limit=2${cursor ? `&cursor=${cursor}` : ''}`, bearer(ADMIN));
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json.items.length <= 2);
      seen.push(...r.json.items.map((d: { id: string }) => d.id));
      cursor = r.json.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual([...seen].sort(), [...ids].sort());
    assert.equal(new Set(seen).size, seen.length);
  } finally {
    await h.cleanup();
    await sink.close();
  }
});
