/**
 * `tocsin silence add|list|expire` as a user runs it (`node --import tsx src/main.ts silence ...`, a child
 * process) against a running relay (admin.tokens set, one webhook method to a local sink): a silence
 * added with a name and a label matcher holds back the alarm it matches (the other one is delivered),
 * list shows it active (text and --json), expiring it delivers the still-firing alarm it held; a wrong
 * token (4), an unknown id (1) and an unreachable relay (3) exit with the relay's words and never print the token;
 * usage errors exit 2 with the command's usage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killAllRelays, sinkRelayConfig, startRelay } from './relay-process.ts';
import { startWebhookSink } from './webhook-sink.ts';
import { cliRunner, type Run } from '../support/cli-run.ts';

const TOKEN = 'adm-7f3c9e1b5d2a4c6e8f0a';
const WRONG_TOKEN = 'wrong-4b8d2f6a1c3e5g7h';

/** Runs `tocsin silence ARGS...` to its end; env: TOCSIN_URL / TOCSIN_TOKEN (none unless given). */
const cli = cliRunner('silence', 15_000);


async function postAlarm(baseUrl: string, alarm: unknown): Promise<{ alarm_ids: string[]; notification_ids: string[] }> {
  const res = await fetch(`${baseUrl}/v1/alarms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alarm) });
  assert.equal(res.status, 202, await res.clone().text());
  return (await res.json()) as { alarm_ids: string[]; notification_ids: string[] };
}

test('silence add / list / expire against a running relay', { timeout: 60_000 }, async (t) => {
  const sink = await startWebhookSink();
  const dataDir = mkdtempSync(join(tmpdir(), 'tocsin-silence-cli-'));
  t.after(async () => {
    await killAllRelays();
    await sink.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const configYaml = `${sinkRelayConfig(0, join(dataDir, 'data'), sink.url)}admin:\n  tokens: [${JSON.stringify(TOKEN)}]\n`;
  const relay = await startRelay({ configYaml, dataDir: join(dataDir, 'data') });
  const auth = ['--url', relay.baseUrl, '--token', TOKEN];
  const hostsDelivered = () => new Set(sink.requests.filter((r) => r.accepted).map((r) => r.envelope?.alarm?.labels?.host));
  const noToken = (r: Run) => {
    assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN), 'the admin token is printed');
    assert.ok(!r.stdout.includes(WRONG_TOKEN) && !r.stderr.includes(WRONG_TOKEN), 'the given token is printed');
  };

  // add: a name and a label matcher → the new id on stdout.
  const added = await cli(['add', 'alertname=DiskFull', 'host=db-1', '--duration', '1h', '--comment', 'disk replacement', '--created-by', 'ops-e2e', ...auth]);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /^\S+\n$/);
  const id = added.stdout.trim();
  noToken(added);

  // The matching alarm is held back (no notification); the one on another host is delivered.
  const held = await postAlarm(relay.baseUrl, { name: 'DiskFull', labels: { host: 'db-1' } });
  const other = await postAlarm(relay.baseUrl, { name: 'DiskFull', labels: { host: 'db-2' } });
  assert.deepEqual(held.notification_ids, [], 'the silenced alarm got a notification');
  assert.equal(other.notification_ids.length, 1);
  assert.ok(await sink.waitUntil(() => hostsDelivered().has('db-2'), 10_000), 'the unsilenced alarm was not delivered');
  assert.deepEqual([...hostsDelivered()], ['db-2']);

  // list: a table (URL and token from the environment) and the API's JSON.
  const env = { TOCSIN_URL: relay.baseUrl, TOCSIN_TOKEN: TOKEN };
  const [table, asJson, expiredOnly] = await Promise.all([cli(['list'], env), cli(['list', '--json'], env), cli(['list', '--state', 'expired'], env)]);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^ID\s+STATE\s+ENDS\s+CREATED BY\s+MATCH\s+COMMENT$/);
  const row = lines.find((l) => l.startsWith(`${id} `));
  assert.ok(row, table.stdout);
  assert.match(row, /\sactive\s+\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\s+ops-e2e\s+name=DiskFull host=db-1\s+disk replacement$/);
  assert.equal(asJson.code, 0, asJson.stderr);
  const listed = (JSON.parse(asJson.stdout) as { silences: { id: string; state: string; match: unknown; comment: string; created_by: string }[] }).silences;
  const mine = listed.find((s) => s.id === id);
  assert.ok(mine, asJson.stdout);
  assert.equal(mine.state, 'active');
  assert.deepEqual(mine.match, { name: 'DiskFull', labels: { host: 'db-1' } });
  assert.equal(mine.comment, 'disk replacement');
  assert.equal(mine.created_by, 'ops-e2e');
  assert.equal(expiredOnly.code, 0, expiredOnly.stderr);
  assert.ok(!expiredOnly.stdout.includes(id), expiredOnly.stdout);
  for (const r of [table, asJson, expiredOnly]) noToken(r);

  // A wrong token: exit 1 with the relay's message, the token not printed.
  const denied = await cli(['list', '--url', relay.baseUrl, '--token', WRONG_TOKEN]);
  assert.equal(denied.code, 4);
  assert.equal(denied.stderr, 'tocsin silence list: 401 unknown admin token\n');
  assert.equal(denied.stdout, '');
  noToken(denied);

  // expire: an unknown id is an error (exit 1) but the known one is still expired…
  const expired = await cli(['expire', 'sil_NOSUCHSILENCE', id, ...auth]);
  assert.equal(expired.code, 1, expired.stderr);
  assert.equal(expired.stdout, `expired ${id}\n`);
  assert.match(expired.stderr, /^tocsin silence expire: sil_NOSUCHSILENCE: 404 no such silence/);
  noToken(expired);
  // …and the still-firing alarm it held is delivered now.
  assert.ok(await sink.waitUntil(() => hostsDelivered().has('db-1'), 10_000), 'the alarm was not delivered after the silence expired');
  const after = await cli(['list', '--json', '--state', 'expired'], env);
  assert.equal(after.code, 0, after.stderr);
  assert.deepEqual((JSON.parse(after.stdout) as { silences: { id: string }[] }).silences.map((s) => s.id), [id]);

  // Unreachable relay: exit 1, says which URL.
  const closedPort = await freePort();
  const unreachable = await cli(['list', '--url', `http://127.0.0.1:${closedPort}`, '--token', TOKEN]);
  assert.equal(unreachable.code, 3);
  assert.match(unreachable.stderr, new RegExp(`^tocsin silence list: could not reach the relay at http://127\\.0\\.0\\.1:${closedPort}: `));
  noToken(unreachable);
});

test('silence usage errors exit 2 with the usage, and reach no relay', { timeout: 30_000 }, async () => {
  const url = `http://127.0.0.1:${await freePort()}`; // nothing listens: a usage error must come first
  const base = ['--url', url, '--token', TOKEN];
  const cases: [string[], string, string][] = [
    [['add', 'host', '--duration', '1h', '--comment', 'x', ...base], 'tocsin silence add: bad matcher "host"', 'Usage: tocsin silence add '],
    [['add', 'host=db-1', '--duration', '1h', ...base], 'tocsin silence add: --comment TEXT is required', 'Usage: tocsin silence add '],
    [['add', 'host=db-1', '--comment', 'x', ...base], 'tocsin silence add: --duration or --ends-at is required', 'Usage: tocsin silence add '],
    [['add', 'host=db-1', '--duration', '1h', '--ends-at', '2030-01-01T00:00:00Z', '--comment', 'x', ...base], 'tocsin silence add: give either --duration or --ends-at, not both', 'Usage: tocsin silence add '],
    [['add', 'host=db-1', '--duration', 'soon', '--comment', 'x', ...base], 'tocsin silence add: --duration must be a duration', 'Usage: tocsin silence add '],
    [['add', '--duration', '1h', '--comment', 'x', ...base], 'tocsin silence add: at least one MATCHER is required', 'Usage: tocsin silence add '],
    [['list', '--state', 'gone', ...base], 'tocsin silence list: --state must be one of: active, pending, expired', 'Usage: tocsin silence list '],
    [['list', 'extra', ...base], 'tocsin silence list: unexpected argument "extra"', 'Usage: tocsin silence list '],
    [['expire', ...base], 'tocsin silence expire: at least one silence ID is required', 'Usage: tocsin silence expire '],
    [['expire', 'x', '--bogus', ...base], 'tocsin silence expire: unknown option --bogus', 'Usage: tocsin silence expire '],
    [[], 'Usage: tocsin silence add ', 'tocsin silence expire ID...'],
    [['frob'], 'tocsin silence: unknown command "frob"', 'Usage: tocsin silence add '],
  ];
  const runs = await Promise.all(cases.map(([args]) => cli(args)));
  runs.forEach((r, i) => {
    const [args, head, usage] = cases[i]!;
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(head), `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(usage), `${args.join(' ')}: ${r.stderr}`);
    assert.ok(!r.stderr.includes(TOKEN) && !r.stdout.includes(TOKEN), `${args.join(' ')} printed the token`);
  });
});
