/**
 * The operator commands as a user runs them (`node --import tsx src/main.ts ...`, child processes) against
 * a running relay (node target; admin.tokens set; one webhook method `sink` to a local sink started here):
 * `tocsin alarms` (table, --json, show), `tocsin dead-letters` (list, --replay ID delivering to the sink,
 * --discard ID, --replay-all --method, --discard --method), `tocsin notifications ID` (the replay's series
 * and who replayed it), the exit codes of a refused token (4) and an unreachable relay (3); and `tocsin
 * reload` (a valid file: what changed; an invalid one: its issues, exit 1, the running config kept),
 * `tocsin methods` (the URL masked; add, remove), `tocsin test-method` through the relay. The admin token is
 * never printed.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killAllRelays, sinkRelayConfig, startRelay, type RelayProcess } from './relay-process.ts';
import { startWebhookSink, type WebhookSink } from './webhook-sink.ts';
import { assertUsageErrors, cliRunner, printsNoToken, type Run, type UsageCase } from '../support/cli-run.ts';

const TOKEN = 'adm-c1a2d3m4i5n6e7f8';
const WRONG_TOKEN = 'wrong-0f9e8d7c6b5a';
const WAIT_MS = 20_000;

/** `tocsin ARGS...` (the group is the first argument: cliRunner puts it first). */
const run = (() => {
  const runners = new Map<string, ReturnType<typeof cliRunner>>();
  return (args: string[], env: Record<string, string> = {}): Promise<Run> => {
    const [group, ...rest] = args;
    if (!runners.has(group!)) runners.set(group!, cliRunner(group!, 30_000));
    return runners.get(group!)!(rest, env);
  };
})();

async function api(relay: RelayProcess, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${relay.baseUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

async function waitFor(what: string, pred: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + WAIT_MS;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function postAlarm(relay: RelayProcess, name: string): Promise<{ alarm_id: string; notification_id: string }> {
  const res = await fetch(`${relay.baseUrl}/v1/alarms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, labels: { host: name.toLowerCase() } }) });
  assert.equal(res.status, 202, await res.clone().text());
  const body = (await res.json()) as { alarm_ids: string[]; notification_ids: string[] };
  assert.equal(body.notification_ids.length, 1);
  return { alarm_id: body.alarm_ids[0]!, notification_id: body.notification_ids[0]! };
}

/** The ids of the relay's dead letters, through the API (for waiting; the CLI is what is tested). */
async function deadIds(relay: RelayProcess): Promise<string[]> {
  const r = await api(relay, '/api/v1/dead-letters?limit=1000');
  assert.equal(r.status, 200, `GET /api/v1/dead-letters: ${r.status} ${JSON.stringify(r.body)}`);
  return (r.body.items as { id: string }[]).map((d) => d.id);
}

const noToken = printsNoToken([TOKEN, WRONG_TOKEN]);

interface OperatorRelay {
  readonly sink: WebhookSink;
  readonly relay: RelayProcess;
  /** `tocsin ARGS...` against the relay ($TOCSIN_URL, $TOCSIN_TOKEN, $USER e2e-operator), kept in `runs`. */
  cli(args: string[], extraEnv?: Record<string, string>): Promise<Run>;
  readonly runs: Run[];
}

/**
 * A relay (admin.tokens: TOKEN) whose one webhook method `sink` goes to a local sink that refuses (400:
 * permanent) while `refusing()`. The relay, the sink and their files go after the test.
 */
async function operatorRelay(t: TestContext, refusing: () => boolean): Promise<OperatorRelay> {
  const sink = await startWebhookSink({ behavior: () => (refusing() ? { status: 400, body: 'no such channel' } : 200) });
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-cli-admin-'));
  t.after(async () => {
    await killAllRelays();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const dataDir = join(dir, 'data');
  const configYaml = `${sinkRelayConfig(0, dataDir, sink.url)}admin:\n  tokens: [${JSON.stringify(TOKEN)}]\n`;
  const relay = await startRelay({ configYaml, dataDir });
  const env = { TOCSIN_URL: relay.baseUrl, TOCSIN_TOKEN: TOKEN, USER: 'e2e-operator' };
  const runs: Run[] = [];
  const cli = async (args: string[], extraEnv: Record<string, string> = {}) => {
    const r = await run(args, { ...env, ...extraEnv });
    runs.push(r);
    return r;
  };
  return { sink, relay, cli, runs };
}

test('the operator CLI against a running relay: alarms, dead letters (list, replay, discard), notifications, exit codes', { timeout: 180_000 }, async (t) => {
  let refuse = true;
  const { sink, relay, cli, runs } = await operatorRelay(t, () => refuse);

  // Four alarms whose notifications the sink refuses (400: permanent): four dead letters.
  const sent = await Promise.all(['Alpha', 'Bravo', 'Charlie', 'Delta'].map((n) => postAlarm(relay, n)));
  const [a, b, c, d] = sent as [typeof sent[0], typeof sent[0], typeof sent[0], typeof sent[0]];
  await waitFor('four dead letters', async () => (await deadIds(relay)).length === 4);

  // tocsin alarms: the table and --json; alarms show: the occurrence and its (dead) notification.
  const table = await cli(['alarms']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^STATUS\s+NAME\s+SOURCE\s+SEVERITY\s+SINCE\s+LAST SEEN\s+COUNT\s+SILENCED BY\s+ID\s+LABELS$/m);
  for (const n of ['Alpha', 'Bravo', 'Charlie', 'Delta']) assert.match(table.stdout, new RegExp(`^firing\\s+${n}\\s.*host=${n.toLowerCase()}$`, 'm'));
  const asJson = await cli(['alarms', '--json', '--name', 'Bravo']);
  assert.equal(asJson.code, 0, asJson.stderr);
  const bravo = JSON.parse(asJson.stdout) as { items: { id: string; name: string; count: number }[]; next_cursor: null };
  assert.deepEqual(bravo.items.map((i) => [i.name, i.id, i.count]), [['Bravo', b.alarm_id, 1]]);
  assert.equal(bravo.next_cursor, null);
  const paged = await cli(['alarms', '--json', '--limit', '1', '--all']);
  assert.equal((JSON.parse(paged.stdout) as { items: unknown[] }).items.length, 4);
  const show = await cli(['alarms', 'show', a.alarm_id]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^name:\s+Alpha$/m);
  assert.match(show.stdout, new RegExp(`^${a.notification_id}\\s+sink\\s+dead\\s+1\\s`, 'm'));

  // tocsin dead-letters: the four, newest first, with the sink's reason.
  const list = await cli(['dead-letters']);
  assert.equal(list.code, 0, list.stderr);
  for (const x of sent) assert.match(list.stdout, new RegExp(`^${x.notification_id}\\s+sink\\s.*400`, 'm'));

  // --discard ID: Delta's is gone.
  const discarded = await cli(['dead-letters', '--discard', d.notification_id]);
  assert.equal(discarded.code, 0, discarded.stderr);
  assert.equal(discarded.stdout, `discarded ${d.notification_id}\n`);
  assert.deepEqual((await deadIds(relay)).sort(), [a, b, c].map((x) => x.notification_id).sort());

  // The sink accepts now. --replay ID (and an unknown one: exit 1) delivers Alpha's again.
  refuse = false;
  const replayed = await cli(['dead-letters', '--replay', `${a.notification_id},n_doesnotexist`]);
  assert.equal(replayed.code, 1, replayed.stderr);
  assert.equal(replayed.stdout, `replayed ${a.notification_id}\n`);
  assert.equal(replayed.stderr, 'tocsin dead-letters: n_doesnotexist: no such dead letter\n');
  assert.ok(await sink.waitUntil(() => sink.acceptedByNotification.get(a.notification_id) === 1, WAIT_MS), 'the replayed dead letter reaches the sink');
  await waitFor('Alpha sent', async () => (await api(relay, `/api/v1/notifications/${a.notification_id}`)).body?.notification?.state === 'sent');

  // tocsin notifications ID: series 0 (refused), series 1 replayed by $USER@host (sent).
  const history = await cli(['notifications', a.notification_id]);
  assert.equal(history.code, 0, history.stderr);
  assert.match(history.stdout, /^state:\s+sent$/m);
  assert.match(history.stdout, /Series 0 \(first delivery\):\nATTEMPT.*\n\s+1\s+\S+\s+permanent\s+400\s/);
  assert.match(history.stdout, /Series 1 \(replayed \S+ by e2e-operator@[^)]+\):\nATTEMPT.*\n\s+1\s+\S+\s+sent\s+200\s/);

  // --replay-all --method sink: Bravo's and Charlie's, a progress line each request (stderr is no terminal).
  const all = await cli(['dead-letters', '--replay-all', '--method', 'sink', '--limit', '1']);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.stdout, 'replayed 2 dead letters\n');
  assert.equal(all.stderr, 'replayed 1/2\nreplayed 2/2\n');
  assert.ok(await sink.waitUntil(() => [b, c].every((x) => sink.acceptedByNotification.get(x.notification_id) === 1), WAIT_MS), 'replay-all delivers to the sink');
  assert.deepEqual(await deadIds(relay), []);

  // Without a filter a bulk action needs --yes (exit 2, nothing sent); --discard --method M clears by method.
  const refused = await cli(['dead-letters', '--replay-all']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /acts on EVERY dead letter; add --yes/);
  refuse = true;
  const echo = await postAlarm(relay, 'Echo');
  await waitFor('Echo dead', async () => (await deadIds(relay)).includes(echo.notification_id));
  const cleared = await cli(['dead-letters', '--discard', '--method', 'sink']);
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.equal(cleared.stdout, 'discarded 1 dead letter\n');
  assert.deepEqual(await deadIds(relay), []);

  // A refused token exits 4, an unreachable relay 3; the token is never printed.
  const denied = await cli(['dead-letters'], { TOCSIN_TOKEN: WRONG_TOKEN });
  assert.equal(denied.code, 4);
  assert.equal(denied.stderr, 'tocsin dead-letters: 401 unknown admin token\n');
  const closed = `http://127.0.0.1:${await freePort()}`;
  const unreachable = await cli(['alarms', '--url', closed]);
  assert.equal(unreachable.code, 3);
  assert.ok(unreachable.stderr.startsWith(`tocsin alarms: could not reach the relay at ${closed}: `), unreachable.stderr);
  for (const r of runs) noToken(r);
});

test('the operator CLI against a running relay: reload, methods, test-method', { timeout: 180_000 }, async (t) => {
  let refuse = false;
  const { sink, relay, cli, runs } = await operatorRelay(t, () => refuse);

  // tocsin reload: a method added to the file; then an invalid file is refused and the running config kept.
  const original = readFileSync(relay.configFile, 'utf8');
  writeFileSync(relay.configFile, original.replace('methods:\n', 'methods:\n  extra:\n    type: log\n'));
  const reloaded = await cli(['reload']);
  assert.equal(reloaded.code, 0, reloaded.stderr);
  assert.match(reloaded.stdout, /^reloaded the configuration\n {2}methods added: extra\n/);
  writeFileSync(relay.configFile, `${original}bogus_setting: 1\n`);
  const invalid = await cli(['reload']);
  assert.equal(invalid.code, 1);
  assert.equal(invalid.stdout, '');
  assert.match(invalid.stderr, /^tocsin reload: 400 the configuration file is invalid; keeping the running configuration\n {2}\S*bogus_setting/);

  // tocsin methods: the file's methods (the reloaded one kept), the webhook URL masked.
  const methods = await cli(['methods']);
  assert.equal(methods.code, 0, methods.stderr);
  assert.match(methods.stdout, /^sink\s+webhook\s+file\s.*url=\*\*\*/m);
  assert.match(methods.stdout, /^extra\s+log\s+file\s/m);
  const shown = await cli(['methods', 'show', 'sink', '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal((JSON.parse(shown.stdout) as { settings: { url: string } }).settings.url, '***');
  for (const r of [methods, shown]) assert.ok(!r.stdout.includes(sink.url), 'the webhook URL is printed');

  // test-method through the relay ($TOCSIN_URL, no config): sent while the sink accepts, else exit 1.
  const tested = await cli(['test-method', 'sink']);
  assert.equal(tested.code, 0, tested.stderr);
  assert.match(tested.stdout, /^sink: sent \(HTTP 200, \d+ ms\)\n$/);
  assert.ok(await sink.waitUntil(() => sink.requests.some((q) => q.accepted && q.envelope?.alarm?.name === 'TocsinTestNotification'), WAIT_MS));
  refuse = true;
  const testFailed = await cli(['test-method', 'sink']);
  assert.equal(testFailed.code, 1);
  assert.match(testFailed.stderr, /^sink: failed, permanent: /);
  refuse = false;

  // methods add / remove: a method kept by the relay (who added it recorded), tested through it, removed;
  // a file method cannot be removed (409, exit 1); a bad setting is the relay's 400 (exit 1).
  const added = await cli(['methods', 'add', 'api-hook', '--type', 'webhook', '--set', `url=${sink.url}`, '--set', 'timeout=5s', '--set', 'max_attempts=3', '--set', 'headers.X-Team=ops']);
  assert.equal(added.code, 0, added.stderr);
  assert.equal(added.stdout, 'added api-hook (webhook)\n');
  const listed = await cli(['methods', '--json']);
  const apiHook = (JSON.parse(listed.stdout) as { items: { name: string; origin: string; created_by: string | null }[] }).items.find((m) => m.name === 'api-hook');
  assert.equal(apiHook?.origin, 'api');
  assert.match(apiHook?.created_by ?? '', /^e2e-operator@/);
  const before = sink.requests.length;
  const viaApi = await cli(['test-method', 'api-hook', '--url', relay.baseUrl]);
  assert.equal(viaApi.code, 0, viaApi.stderr);
  assert.equal(sink.requests.slice(before).find((q) => q.accepted)?.headers['x-team'], 'ops', 'the nested --set headers.X-Team reached the method');
  const badUrl = await cli(['methods', 'add', 'bad-hook', '--type', 'webhook', '--set', 'url=not a url']);
  assert.equal(badUrl.code, 1);
  assert.match(badUrl.stderr, /^tocsin methods add: 400 /);
  const fileMethod = await cli(['methods', 'remove', 'sink']);
  assert.equal(fileMethod.code, 1);
  assert.match(fileMethod.stderr, /^tocsin methods remove: 409 /);
  const removed = await cli(['methods', 'remove', 'api-hook']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(removed.stdout, 'removed api-hook\n');
  const gone = await cli(['methods', 'show', 'api-hook']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /^tocsin methods show: 404 /);
  for (const r of runs) noToken(r);
});

test('usage errors of the operator commands exit 2 with the usage, and reach no relay', { timeout: 120_000 }, async () => {
  const url = `http://127.0.0.1:${await freePort()}`; // nothing listens: a usage error must come first
  const base = ['--url', url, '--token', TOKEN];
  const cases: UsageCase[] = [
    [['alarms', '--state', 'open', ...base], 'tocsin alarms: --state must be one of: firing, resolved', 'Usage: tocsin alarms '],
    [['alarms', '--bogus', ...base], 'tocsin alarms: unknown option --bogus', 'Usage: tocsin alarms '],
    [['alarms', 'frob', ...base], 'tocsin alarms: unknown command "frob"', 'Usage: tocsin alarms '],
    [['alarms', 'show', ...base], "tocsin alarms show: the alarm's ID is required", 'Usage: tocsin alarms show ID'],
    [['notifications', ...base], "tocsin notifications: the notification's ID is required", 'Usage: tocsin notifications ID'],
    [['dead-letters', '--replay-all', ...base], 'tocsin dead-letters: --replay-all without a filter', 'Usage: tocsin dead-letters '],
    [['dead-letters', '--discard', ...base], 'tocsin dead-letters: --discard-all (or --discard without IDs) without a filter', 'Usage: tocsin dead-letters '],
    [['dead-letters', '--replay', 'n_1', '--method', 'm', ...base], 'tocsin dead-letters: the filter flags', 'Usage: tocsin dead-letters '],
    [['dead-letters', '--since', 'yesterday', ...base], 'tocsin dead-letters: --since must be an RFC 3339 time', 'Usage: tocsin dead-letters '],
    [['methods', 'add', 'x', ...base], "tocsin methods add: the method's type is required", 'Usage: tocsin methods add '],
    [['methods', 'add', 'x', '--type', 'webhook', '--set', 'url', ...base], 'tocsin methods add: --set must be KEY=VALUE', 'Usage: tocsin methods add '],
    [['methods', 'remove', ...base], "tocsin methods remove: the method's NAME is required", 'Usage: tocsin methods remove '],
    [['reload', 'now', ...base], 'tocsin reload: unexpected argument "now"', 'Usage: tocsin reload '],
    [['test-method', 'x', '--config', 'tocsin.yaml', ...base], 'tocsin test-method: give either --config', 'Usage: tocsin test-method '],
  ];
  await assertUsageErrors(run, cases, noToken);
  const help = await run(['dead-letters', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: tocsin dead-letters /);
});
