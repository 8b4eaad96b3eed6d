import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alarmsCommand, type AlarmItem, type AlarmsCommandOptions } from './alarms-command.ts';

const TOKEN = 'adm-0a1b2c3d4e5f';

/** A fetch answering like the admin API: the handler sees method, path with query, and the token. */
function fakeApi(handler: (req: { method: string; url: URL; auth: string | null }) => { status: number; body?: unknown }) {
  const calls: URL[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    calls.push(url);
    const auth = new Headers(init?.headers).get('authorization');
    if (auth !== `Bearer ${TOKEN}`) return Response.json({ error: auth ? 'unknown admin token' : 'missing Authorization: Bearer <admin token>', code: 'unauthorized' }, { status: 401 });
    const r = handler({ method: init?.method ?? 'GET', url, auth });
    return r.body === undefined ? new Response(null, { status: r.status }) : Response.json(r.body, { status: r.status });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

function alarm(i: number): AlarmItem {
  return {
    id: `alm_${i}`, source: 'prometheus', dedup_key: `k${i}`, name: `Disk${i}`, severity: 'critical', status: 'firing',
    since: '2026-12-01T10:00:00.000Z', last_seen: '2026-12-01T11:00:00.123Z', count: i, silenced_by: null, labels: { host: `db-${i}` },
  };
}

/** Three pages of two alarms each, by cursor. */
const pages = fakeApi(({ url }) => {
  if (url.pathname !== '/api/v1/alarms') return { status: 404, body: { error: 'not found', code: 'not_found' } };
  const page = Number(url.searchParams.get('cursor') ?? '0');
  return { status: 200, body: { items: [alarm(page * 2 + 1), alarm(page * 2 + 2)], next_cursor: page < 2 ? String(page + 1) : null } };
});

async function run(args: Partial<AlarmsCommandOptions>, fetch: typeof globalThis.fetch) {
  let stdout = '';
  let stderr = '';
  const code = await alarmsCommand({
    command: 'list', args: [], values: { url: 'http://relay.test', token: TOKEN }, env: {}, usage: 'USAGE\n', style: {},
    now: () => Date.parse('2026-12-01T12:00:00Z'), fetch, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), ...args,
  });
  return { code, stdout, stderr };
}

test('alarms: the filters become the query; one page as a table with a hint at the next', async () => {
  const api = fakeApi(({ url }) => ({ status: 200, body: { items: [alarm(1)], next_cursor: 'c2' } }));
  const r = await run({ values: { url: 'http://relay.test', token: TOKEN, state: 'firing', source: 'prometheus', name: 'Disk1', label: ['host=db-1', 'team=ops'], since: '2h', until: '2026-12-01T11:30:00+01:00', limit: '50' } }, api.fetch);
  assert.equal(r.code, 0, r.stderr);
  const q = api.calls[0]!.searchParams;
  assert.equal(api.calls[0]!.pathname, '/api/v1/alarms');
  assert.deepEqual(Object.fromEntries(q), {
    state: 'firing', source: 'prometheus', name: 'Disk1', since: '2026-12-01T10:00:00.000Z', until: '2026-12-01T10:30:00.000Z', 'label.host': 'db-1', 'label.team': 'ops', limit: '50',
  });
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^STATUS\s+NAME\s+SOURCE\s+SEVERITY\s+SINCE\s+LAST SEEN\s+COUNT\s+SILENCED BY\s+ID\s+LABELS$/);
  assert.match(lines[1]!, /^firing\s+Disk1\s+prometheus\s+critical\s+2026-12-01T10:00:00Z\s+2026-12-01T11:00:00Z\s+1\s+-\s+alm_1\s+host=db-1$/);
  assert.equal(r.stderr, 'more alarms: --cursor c2 for the next page, or --all\n');
});

test('alarms --all follows the cursors to the end; --json prints them as one page', async () => {
  const table = await run({ values: { url: 'http://relay.test', token: TOKEN, all: true } }, pages.fetch);
  assert.equal(table.code, 0);
  assert.equal(table.stdout.trimEnd().split('\n').length, 1 + 6);
  assert.equal(table.stderr, '');
  const asJson = await run({ values: { url: 'http://relay.test', token: TOKEN, all: true, json: true, limit: '2' } }, pages.fetch);
  const body = JSON.parse(asJson.stdout) as { items: AlarmItem[]; next_cursor: unknown };
  assert.deepEqual(body.items.map((a) => a.id), ['alm_1', 'alm_2', 'alm_3', 'alm_4', 'alm_5', 'alm_6']);
  assert.equal(body.next_cursor, null);
  const one = await run({ values: { url: 'http://relay.test', token: TOKEN, json: true, cursor: '1' } }, pages.fetch);
  assert.deepEqual(JSON.parse(one.stdout), { items: [alarm(3), alarm(4)], next_cursor: '2' });
});

test('alarms show: the occurrence, its state and its notifications', async () => {
  const api = fakeApi(({ url }) =>
    url.pathname === '/api/v1/alarms/alm_7'
      ? {
        status: 200,
        body: {
          alarm: { id: 'alm_7', source: 'prometheus', name: 'DiskFull', severity: 'critical', status: 'firing', summary: 'disk /var 97%', description: null, labels: { host: 'db-1' }, annotations: {}, occurred_at: '2026-12-01T10:00:00.000Z', received_at: '2026-12-01T10:00:01.000Z', dedup_key: 'k' },
          state: { ...alarm(7), silenced_by: ['sil_1'] },
          notifications: [
            { id: 'n_1', method: 'ops-hook', state: 'dead', attempts: 5, created_at: '2026-12-01T10:00:01.000Z', next_attempt_at: null, sent_at: null, dead_at: '2026-12-01T10:30:00.000Z', dead_reason: 'attempts exhausted', last_status: 500, last_error: 'HTTP 500: boom' },
          ],
        },
      }
      : { status: 404, body: { error: 'no such alarm', code: 'not_found' } });
  const r = await run({ command: 'show', args: ['alm_7'] }, api.fetch);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^id:\s+alm_7$/m);
  assert.match(r.stdout, /^summary:\s+disk \/var 97%$/m);
  assert.match(r.stdout, /^state:\s+firing since 2026-12-01T10:00:00Z, last seen 2026-12-01T11:00:00Z, 7 occurrence\(s\)$/m);
  assert.match(r.stdout, /^silenced by:\s+sil_1$/m);
  assert.match(r.stdout, /^n_1\s+ops-hook\s+dead\s+5\s+2026-12-01T10:00:01Z\s+2026-12-01T10:30:00Z\s+500\s+attempts exhausted: HTTP 500: boom$/m);
  const missing = await run({ command: 'show', args: ['alm_x'] }, api.fetch);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'tocsin alarms show: 404 no such alarm\n');
});

test('exit codes: 2 for a bad command line (no request), 4 for a refused token, 3 for an unreachable relay', async () => {
  const before = pages.calls.length;
  for (const [values, problem] of [
    [{ state: 'open' }, '--state must be one of: firing, resolved'],
    [{ since: 'yesterday' }, '--since must be an RFC 3339 time'],
    [{ since: '1h', until: '2h' }, '--since must not be after --until'],
    [{ limit: '0' }, '--limit must be a whole number from 1 to 1000'],
    [{ limit: '1001' }, '--limit must be a whole number from 1 to 1000'],
    [{ label: ['host'] }, '--label must be NAME=VALUE'],
    [{ all: true, cursor: 'x' }, 'give either --all or --cursor'],
    [{ url: 'ftp://relay' }, '--url must be an http:// or https:// URL'],
  ] as const) {
    const r = await run({ values: { url: 'http://relay.test', token: TOKEN, ...values } }, pages.fetch);
    assert.equal(r.code, 2, problem);
    assert.ok(r.stderr.startsWith(`tocsin alarms: ${problem}`), r.stderr);
    assert.ok(r.stderr.endsWith('USAGE\n'));
  }
  const show = await run({ command: 'show', args: [] }, pages.fetch);
  assert.equal(show.code, 2);
  assert.equal(pages.calls.length, before, 'a usage error sent a request');

  const wrong = await run({ values: { url: 'http://relay.test', token: 'nope' } }, pages.fetch);
  assert.equal(wrong.code, 4);
  assert.equal(wrong.stderr, 'tocsin alarms: 401 unknown admin token\n');
  const none = await run({ values: { url: 'http://relay.test' } }, pages.fetch);
  assert.equal(none.code, 4);
  assert.match(none.stderr, /give the admin token with --token or \$TOCSIN_TOKEN/);
  const forbidden = fakeApi(() => ({ status: 403, body: { error: 'a source token is not an admin token', code: 'forbidden' } }));
  assert.equal((await run({}, forbidden.fetch)).code, 4);
  const broken = fakeApi(() => ({ status: 500, body: { error: 'internal error', code: 'internal' } }));
  assert.equal((await run({}, broken.fetch)).code, 1);

  const refused = (async () => {
    throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
  }) as typeof fetch;
  const down = await run({}, refused);
  assert.equal(down.code, 3);
  assert.equal(down.stderr, 'tocsin alarms: could not reach the relay at http://relay.test: connect ECONNREFUSED 127.0.0.1:9\n');
  for (const r of [wrong, none, down]) assert.ok(!r.stderr.includes(TOKEN));
});
