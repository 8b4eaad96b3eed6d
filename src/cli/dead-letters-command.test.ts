import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deadLettersCommand, splitIds, type DeadLetterItem, type DeadLettersCommandOptions } from './dead-letters-command.ts';

const TOKEN = 'adm-9f8e7d6c5b4a';

interface Dead extends DeadLetterItem {
  gone?: boolean;
}

/**
 * A relay's dead letters behind the admin API contract: list (filter, newest first, cursor), replay and
 * discard by ids or filter (at most `limit` per call, `remaining` after it); a method "gone" is skipped.
 */
function deadLetterApi(count: number, methods: (i: number) => string = (i) => (i % 2 === 0 ? 'ops-hook' : 'slack')) {
  const dead: Dead[] = Array.from({ length: count }, (_, i) => ({
    id: `n_${String(i).padStart(5, '0')}`, alarm_id: `alm_${i}`, alarm_name: 'DiskFull', method: methods(i),
    dead_at: new Date(Date.parse('2026-12-01T00:00:00Z') + i * 60_000).toISOString(), dead_reason: 'attempts exhausted', attempts: 5, last_status: 503,
    last_error: 'HTTP 503', created_at: '2026-12-01T00:00:00.000Z',
  }));
  const requests: { method: string; path: string; body: unknown }[] = [];
  const bys = new Set<string>();
  const matches = (d: Dead, f: Record<string, string | undefined>) =>
    (f.method === undefined || d.method === f.method) && (f.reason === undefined || d.dead_reason!.toLowerCase().includes(f.reason.toLowerCase())) &&
    (f.since === undefined || d.dead_at! >= f.since) && (f.until === undefined || d.dead_at! <= f.until);
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const body = init?.body === undefined ? undefined : JSON.parse(String(init.body));
    requests.push({ method: init?.method ?? 'GET', path: url.pathname + url.search, body });
    if (new Headers(init?.headers).get('authorization') !== `Bearer ${TOKEN}`) return Response.json({ error: 'unknown admin token', code: 'unauthorized' }, { status: 401 });
    if (url.pathname === '/api/v1/dead-letters' && init?.method === 'GET') {
      const f = Object.fromEntries(url.searchParams);
      const all = dead.filter((d) => matches(d, f)).reverse();
      const start = Number(f.cursor ?? 0);
      const limit = Number(f.limit ?? 100);
      return Response.json({ items: all.slice(start, start + limit), next_cursor: start + limit < all.length ? String(start + limit) : null });
    }
    const verb = /^\/api\/v1\/dead-letters\/(replay|discard)$/.exec(url.pathname)?.[1];
    if (verb && init?.method === 'POST') {
      const b = body as { ids?: string[]; filter?: Record<string, string>; limit?: number; by?: string };
      if (b.by) bys.add(b.by);
      const done: string[] = [];
      const notFound: string[] = [];
      const skipped: { id: string; reason: string }[] = [];
      const act = (d: Dead) => {
        if (verb === 'replay' && d.method === 'gone') skipped.push({ id: d.id, reason: 'the method "gone" is no longer configured' });
        else {
          dead.splice(dead.indexOf(d), 1);
          done.push(d.id);
        }
      };
      let remaining = 0;
      if (b.ids) {
        for (const id of b.ids) {
          const d = dead.find((x) => x.id === id);
          if (d) act(d);
          else notFound.push(id);
        }
      } else {
        const picked = dead.filter((d) => matches(d, b.filter!)).reverse().slice(0, b.limit ?? 1000);
        picked.forEach(act);
        remaining = dead.filter((d) => matches(d, b.filter!)).length;
      }
      return Response.json({ [verb === 'replay' ? 'replayed' : 'discarded']: done.length, ids: done, not_found: notFound, ...(verb === 'replay' && { skipped }), remaining });
    }
    return Response.json({ error: 'not found', code: 'not_found' }, { status: 404 });
  }) as typeof globalThis.fetch;
  return { fetch, requests, dead, bys };
}

async function run(values: DeadLettersCommandOptions['values'], api: { fetch: typeof fetch }, isTTY = false) {
  let stdout = '';
  let stderr = '';
  const progress: string[] = [];
  const code = await deadLettersCommand({
    command: '', values: { url: 'http://relay.test', token: TOKEN, ...values }, env: { USER: 'alice' }, usage: 'USAGE\n', style: {},
    hostname: () => 'ops-box', now: () => Date.parse('2026-12-02T00:00:00Z'), progress: { write: (t) => progress.push(t), isTTY },
    fetch: api.fetch, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr, progress };
}

test('splitIds: comma-separated and repeated, each once', () => {
  assert.deepEqual(splitIds(['a,b', ' c ', 'a', ',']), ['a', 'b', 'c']);
});

test('the list: filters in the query, newest first, a table; --all every page', async () => {
  const api = deadLetterApi(5);
  const r = await run({ method: 'ops-hook', reason: 'EXHAUSTED', since: '2026-12-01T00:01:00Z' }, api);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(api.requests[0]!.path, '/api/v1/dead-letters?method=ops-hook&reason=EXHAUSTED&since=2026-12-01T00%3A01%3A00.000Z');
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^ID\s+METHOD\s+DEAD AT\s+ATTEMPTS\s+LAST STATUS\s+ALARM\s+REASON$/);
  assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[0]), ['n_00004', 'n_00002']);
  assert.match(lines[1]!, /^n_00004\s+ops-hook\s+2026-12-01T00:04:00Z\s+5\s+503\s+DiskFull\s+attempts exhausted: HTTP 503$/);

  const all = await run({ all: true, limit: '2', json: true }, api);
  assert.deepEqual((JSON.parse(all.stdout) as { items: DeadLetterItem[] }).items.map((d) => d.id), ['n_00004', 'n_00003', 'n_00002', 'n_00001', 'n_00000']);
  const empty = await run({ method: 'nothing' }, api);
  assert.equal(empty.stdout, 'no dead letters\n');
});

test('--replay IDs: one request, each done printed, an unknown ID reported (exit 1), who replayed sent as $USER@hostname', async () => {
  const api = deadLetterApi(3);
  const r = await run({ replay: ['n_00000,n_00001', 'n_99999'] }, api);
  assert.equal(r.code, 1);
  assert.deepEqual(api.requests.at(-1)!.body, { ids: ['n_00000', 'n_00001', 'n_99999'], by: 'alice@ops-box' });
  assert.equal(r.stdout, 'replayed n_00000\nreplayed n_00001\n');
  assert.equal(r.stderr, 'tocsin dead-letters: n_99999: no such dead letter\n');
  const ok = await run({ replay: ['n_00002'], by: 'bob (oncall)' }, api);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(api.requests.at(-1)!.body, { ids: ['n_00002'], by: 'bob (oncall)' });
});

test('--replay-all loops while some remain, with one progress line per request off a terminal', async () => {
  const api = deadLetterApi(2500, () => 'ops-hook');
  const until = api.dead.at(-1)!.dead_at;
  const r = await run({ 'replay-all': true, method: 'ops-hook' }, api);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(api.dead.length, 0);
  const posts = api.requests.filter((q) => q.method === 'POST');
  assert.equal(posts.length, 3);
  // Pinned to the newest match when it started: letters dying again meanwhile are not replayed over and over.
  for (const p of posts) assert.deepEqual(p.body, { filter: { method: 'ops-hook', until }, by: 'alice@ops-box' });
  assert.deepEqual(r.progress, ['replayed 1000/2500\n', 'replayed 2000/2500\n', 'replayed 2500/2500\n']);
  assert.equal(r.stdout, 'replayed 2500 dead letters\n');
});

test('--replay-all on a terminal: one bar redrawn; --limit sets the per-request count; --json the totals', async () => {
  const api = deadLetterApi(30, () => 'ops-hook');
  const until = api.dead.at(-1)!.dead_at;
  const r = await run({ 'replay-all': true, method: 'ops-hook', limit: '10', json: true }, api, true);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.progress.length, 4);
  assert.ok(r.progress[2]!.startsWith('\r') && r.progress[2]!.endsWith('] replayed 30/30'));
  assert.equal(r.progress[3], '\n');
  const totals = JSON.parse(r.stdout) as { replayed: number; ids: string[]; remaining: number; skipped: unknown[] };
  assert.equal(totals.replayed, 30);
  assert.equal(totals.ids.length, 30);
  assert.equal(totals.remaining, 0);
  assert.deepEqual(totals.skipped, []);
  assert.deepEqual(api.requests.at(-1)!.body, { filter: { method: 'ops-hook', until }, limit: 10, by: 'alice@ops-box' });
});

test('--replay-all stops when a request replays none although some remain (skipped: method gone), exit 1', async () => {
  const api = deadLetterApi(4, (i) => (i < 2 ? 'gone' : 'ops-hook'));
  const r = await run({ 'replay-all': true, yes: true, limit: '2' }, api);
  assert.equal(r.code, 1);
  assert.deepEqual(api.dead.map((d) => d.id), ['n_00000', 'n_00001']);
  assert.match(r.stderr, /n_00001: skipped: the method "gone" is no longer configured/);
  assert.match(r.stderr, /2 still match the filter and were not replayed/);
  assert.equal(api.requests.filter((q) => q.method === 'POST').length, 2);
});

test('--discard IDs, and --discard-all with a filter (what --discard --method M becomes)', async () => {
  const api = deadLetterApi(6);
  const ids = await run({ discard: ['n_00000'] }, api);
  assert.equal(ids.code, 0, ids.stderr);
  assert.equal(ids.stdout, 'discarded n_00000\n');
  const until = api.dead.filter((d) => d.method === 'slack').at(-1)!.dead_at;
  const byMethod = await run({ 'discard-all': true, method: 'slack' }, api);
  assert.equal(byMethod.code, 0, byMethod.stderr);
  assert.deepEqual(api.requests.at(-1)!.body, { filter: { method: 'slack', until }, by: 'alice@ops-box' });
  assert.equal(byMethod.stdout, 'discarded 3 dead letters\n');
  assert.deepEqual(api.dead.map((d) => d.id), ['n_00002', 'n_00004']);
});

test('usage errors exit 2 and send nothing: everything without --yes, mixed actions, IDs with a filter', async () => {
  const api = deadLetterApi(3);
  const cases: [DeadLettersCommandOptions['values'], string][] = [
    [{ 'replay-all': true }, '--replay-all without a filter (--method, --reason, --since, --until) acts on EVERY dead letter; add --yes to do that'],
    [{ 'discard-all': true }, '--discard-all (or --discard without IDs) without a filter'],
    [{ replay: ['a'], 'replay-all': true }, 'give one of --replay, --replay-all, not several'],
    [{ replay: ['a'], discard: ['b'] }, 'give one of --replay, --discard ID, not several'],
    [{ replay: [','] }, '--replay needs dead letter IDs'],
    [{ replay: ['a'], method: 'm' }, 'the filter flags (--method, --reason, --since, --until) go with a list'],
    [{ yes: true }, '--yes goes only with --replay-all or --discard-all'],
    [{ replay: ['a'], yes: true }, '--yes goes only with'],
    [{ by: 'me' }, '--by goes only with --replay or --discard'],
    [{ 'replay-all': true, method: 'm', all: true }, '--all and --cursor go only with a list'],
    [{ until: 'soon' }, '--until must be an RFC 3339 time'],
    [{ method: ' ' }, '--method must not be empty'],
    [{ replay: ['a'], by: 'x'.repeat(201) }, '--by must be at most 200 characters'],
  ];
  for (const [values, problem] of cases) {
    const r = await run(values, api);
    assert.equal(r.code, 2, `${JSON.stringify(values)}: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(`tocsin dead-letters: ${problem}`), r.stderr);
  }
  assert.equal(api.requests.length, 0);
  const until = api.dead.at(-1)!.dead_at;
  const yes = await run({ 'discard-all': true, yes: true }, api);
  assert.equal(yes.code, 0, yes.stderr);
  assert.deepEqual(api.requests.at(-1)!.body, { filter: { until }, by: 'alice@ops-box' });
  assert.equal(api.dead.length, 0);
});

test('a refused token exits 4 before anything is done, and prints no summary', async () => {
  const api = deadLetterApi(3);
  const r = await run({ 'replay-all': true, method: 'slack', token: 'wrong' }, api);
  assert.equal(r.code, 4);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'tocsin dead-letters: 401 unknown admin token\n');
});

test('--replay-all ends while the receiver still fails: letters that die again after it started are not replayed again', async () => {
  const api = deadLetterApi(5, () => 'ops-hook');
  const base = api.fetch;
  // Each replayed letter dies again at once (a receiver still refusing), with a newer dead_at.
  let reborn = 0;
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const res = await base(input, init);
    if (init?.method === 'POST') {
      const body = (await res.clone().json()) as { ids: string[] };
      for (const id of body.ids) {
        api.dead.push({ ...api.dead[0]!, id: `${id}-again`, dead_at: new Date(Date.parse('2026-12-03T00:00:00Z') + reborn++ * 1000).toISOString() });
      }
    }
    return res;
  }) as typeof globalThis.fetch;
  const r = await run({ 'replay-all': true, method: 'ops-hook', limit: '2' }, { fetch });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'replayed 5 dead letters\n');
  assert.equal(api.requests.filter((q) => q.method === 'POST').length, 3, 'three calls of at most 2, then done');
});

test('--discard --method M of a removed method says how many pending notifications were cleared, apart from the dead letters', async () => {
  const api = deadLetterApi(2, () => 'old-pager');
  const base = api.fetch;
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const res = await base(input, init);
    if (init?.method !== 'POST') return res;
    // The relay also cleared two pending notifications of the removed method (counted in discarded and ids).
    const body = (await res.json()) as { discarded: number; ids: string[] };
    return Response.json({ ...body, discarded: body.discarded + 2, ids: [...body.ids, 'n_p1', 'n_p2'], pending_cleared: 2 });
  }) as typeof globalThis.fetch;
  const r = await run({ 'discard-all': true, method: 'old-pager' }, { fetch });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'discarded 2 dead letters\ndiscarded 2 pending notifications of old-pager, a method no longer configured\n');
});
