/**
 * `tocsin check add|list|pause|resume|remove` as a user runs it (`node --import tsx src/main.ts check ...`,
 * a child process) against a small HTTP server started here that serves the admin API's check routes
 * (src/http/check-admin-routes.ts) over an in-memory ChecksApi with one file check, so it does not need the
 * relay's checks service: add (a period, a schedule with a time zone), list (table and --json), pause,
 * resume, remove; a file check is read-only (409, exit 1 with the relay's words), a taken name (409), a
 * problem the relay finds (400), an unknown check (404), a wrong token (exit 1, the token never printed),
 * usage errors (exit 2 with the command's usage, no request made).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { CheckView, ChecksApi } from '../../src/app/checks-api.ts';
import { createAdminAuthenticator } from '../../src/http/admin-auth.ts';
import { checkAdminRoutes } from '../../src/http/check-admin-routes.ts';
import { Secret } from '../../src/lib/secret.ts';
import { freePort } from './relay-process.ts';
import { assertUsageErrors, cliRunner, printsNoToken, type UsageCase } from '../support/cli-run.ts';
import { fakeChecks } from '../support/fake-checks.ts';

const TOKEN = 'adm-5e1a7c3b9d2f4a6c8e0b';
const WRONG_TOKEN = 'wrong-8c2e4a6f1b3d5h7j';
const READ_ONLY = 'a check of the config file cannot be changed at runtime; edit the file and restart tocsin';

/** Runs `tocsin check ARGS...` to its end; env: TOCSIN_URL / TOCSIN_TOKEN (none unless given). */
const cli = cliRunner('check', 30_000);

/** An in-memory ChecksApi: one file check (down, pinged once), runtime checks added by the CLI. */
function memoryChecks(): ChecksApi {
  return fakeChecks({
    fileCheck: {
      name: 'nightly-backup',
      uuid: '9c4d0000-0000-4000-8000-000000000001',
      origin: 'file',
      schedule: '0 3 * * *',
      tz: 'Europe/Berlin',
      grace_ms: 3_600_000,
      labels: { team: 'storage' },
      paused: false,
      status: 'down',
      down_reason: 'missing',
      last_ping_at: '2026-03-01T02:04:05.123Z',
      ping_path: '/ping/9c4d0000-0000-4000-8000-000000000001',
    },
    validate: (input) =>
      input.schedule !== undefined && input.schedule.split(/\s+/).length !== 5 ? [{ path: 'schedule', message: 'is not a cron expression: 5 fields expected' }] : undefined,
  });
}

async function startAdminServer(): Promise<{ url: string; close(): Promise<void> }> {
  const app = checkAdminRoutes({ checks: memoryChecks(), authenticateAdmin: createAdminAuthenticator(() => [new Secret(TOKEN)], () => false) });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const noToken = printsNoToken([TOKEN, WRONG_TOKEN]);

test('check add / list / pause / resume / remove against the admin API', { timeout: 120_000 }, async (t) => {
  const relay = await startAdminServer();
  t.after(() => relay.close());
  const auth = ['--url', relay.url, '--token', TOKEN];
  const env = { TOCSIN_URL: relay.url, TOCSIN_TOKEN: TOKEN };

  // add: a period, labels → the ping URL alone; a schedule with a time zone (URL and token from the environment) → --json.
  const [byPeriod, bySchedule] = await Promise.all([
    cli(['add', 'db-dump', '--period', '5m', '--grace', '1m', '--label', 'team=db', '--label', 'env=prod', ...auth]),
    cli(['add', 'report', '--schedule', '30 6 * * 1-5', '--tz', 'Europe/Berlin', '--json'], env),
  ]);
  assert.equal(byPeriod.code, 0, byPeriod.stderr);
  assert.match(byPeriod.stdout, new RegExp(`^${relay.url.replace(/[.]/g, '\\.')}/ping/[0-9a-f-]{36}\\n$`));
  assert.equal(byPeriod.stderr, '');
  assert.equal(bySchedule.code, 0, bySchedule.stderr);
  const report = JSON.parse(bySchedule.stdout) as CheckView;
  assert.equal(report.name, 'report');
  assert.equal(report.schedule, '30 6 * * 1-5');
  assert.equal(report.tz, 'Europe/Berlin');
  assert.equal(report.grace_ms, 60_000, 'the default --grace is 1m');
  assert.equal(report.origin, 'api');

  // list: the table and the API's JSON.
  const [table, asJson] = await Promise.all([cli(['list'], env), cli(['list', '--json', ...auth])]);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^NAME\s+STATUS\s+SCHEDULE\s+GRACE\s+LAST PING\s+PING PATH$/);
  assert.equal(lines.length, 4, table.stdout);
  const row = (name: string) => lines.find((l) => l.startsWith(`${name} `)) ?? assert.fail(`no row for ${name}:\n${table.stdout}`);
  assert.match(row('nightly-backup'), /^nightly-backup\s+down \(missing\)\s+0 3 \* \* \* Europe\/Berlin\s+1h\s+2026-03-01T02:04:05Z\s+\/ping\/9c4d0000-0000-4000-8000-000000000001$/);
  assert.match(row('db-dump'), /^db-dump\s+new\s+every 5m\s+1m\s+never\s+\/ping\/[0-9a-f-]{36}$/);
  assert.match(row('report'), new RegExp(`^report\\s+new\\s+30 6 \\* \\* 1-5 Europe/Berlin\\s+1m\\s+never\\s+/ping/${report.uuid}$`));
  assert.equal(asJson.code, 0, asJson.stderr);
  const listed = (JSON.parse(asJson.stdout) as { checks: CheckView[] }).checks;
  const dump = listed.find((c) => c.name === 'db-dump') ?? assert.fail(asJson.stdout);
  assert.equal(dump.period_ms, 300_000);
  assert.deepEqual(dump.labels, { team: 'db', env: 'prod' });
  assert.ok(byPeriod.stdout.trim().endsWith(dump.ping_path));

  // pause / resume.
  const paused = await cli(['pause', 'db-dump', ...auth]);
  assert.equal(paused.code, 0, paused.stderr);
  assert.equal(paused.stdout, 'paused db-dump\n');
  const afterPause = await cli(['list'], env);
  assert.match(afterPause.stdout, /^db-dump\s+paused\s/m);
  const resumed = await cli(['resume', 'db-dump', '--json', ...auth]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal((JSON.parse(resumed.stdout) as CheckView).paused, false);

  // A check of the config file is read-only: 409, exit 1 with the relay's message.
  const readOnly = await Promise.all([cli(['pause', 'nightly-backup', ...auth]), cli(['resume', 'nightly-backup', ...auth]), cli(['remove', 'nightly-backup', ...auth])]);
  for (const [r, command] of [[readOnly[0], 'pause'], [readOnly[1], 'resume'], [readOnly[2], 'remove']] as const) {
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `tocsin check ${command}: 409 ${READ_ONLY}\n`);
    assert.equal(r.stdout, '');
  }

  // A taken name (409), a problem the relay finds (400 naming the field), an unknown check (404).
  const [taken, badCron, unknown] = await Promise.all([
    cli(['add', 'db-dump', '--period', '1h', ...auth]),
    cli(['add', 'weekly', '--schedule', '0 3 * *', ...auth]),
    cli(['pause', 'nope', ...auth]),
  ]);
  assert.equal(taken.code, 1);
  assert.equal(taken.stderr, 'tocsin check add: 409 name: a check named "db-dump" exists already\n');
  assert.equal(badCron.code, 1);
  assert.equal(badCron.stderr, 'tocsin check add: 400 schedule: is not a cron expression: 5 fields expected\n');
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, 'tocsin check pause: 404 no such check\n');

  // remove: once (exit 0), and again (404, exit 1).
  const removed = await cli(['remove', 'db-dump', ...auth]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(removed.stdout, 'removed db-dump\n');
  const again = await cli(['remove', 'db-dump', ...auth]);
  assert.equal(again.code, 1);
  assert.equal(again.stderr, 'tocsin check remove: 404 no such check\n');
  const last = await cli(['list', '--json'], env);
  assert.deepEqual((JSON.parse(last.stdout) as { checks: CheckView[] }).checks.map((c) => c.name).sort(), ['nightly-backup', 'report']);

  // A wrong token, and none at all: exit 4 with the relay's words, no token printed.
  const [denied, none] = await Promise.all([cli(['list', '--url', relay.url, '--token', WRONG_TOKEN]), cli(['remove', 'report', '--url', relay.url])]);
  assert.equal(denied.code, 4);
  assert.equal(denied.stderr, 'tocsin check list: 401 unknown admin token\n');
  assert.equal(denied.stdout, '');
  assert.equal(none.code, 4);
  assert.equal(none.stderr, 'tocsin check remove: 401 missing Authorization: Bearer <admin token> (give the admin token with --token or $TOCSIN_TOKEN)\n');

  for (const r of [byPeriod, bySchedule, table, asJson, paused, afterPause, resumed, ...readOnly, taken, badCron, unknown, removed, again, last, denied, none]) noToken(r);

  // Unreachable: exit 3, says which URL.
  const closedPort = await freePort();
  const unreachable = await cli(['list', '--url', `http://127.0.0.1:${closedPort}`, '--token', TOKEN]);
  assert.equal(unreachable.code, 3);
  assert.match(unreachable.stderr, new RegExp(`^tocsin check list: could not reach the relay at http://127\\.0\\.0\\.1:${closedPort}: `));
  noToken(unreachable);
});

test('check usage errors exit 2 with the usage, and reach no relay', { timeout: 120_000 }, async () => {
  const url = `http://127.0.0.1:${await freePort()}`; // nothing listens: a usage error must come first
  const base = ['--url', url, '--token', TOKEN];
  const cases: UsageCase[] = [
    [['add', '--period', '5m', ...base], "tocsin check add: the check's NAME is required", 'Usage: tocsin check add '],
    [['add', 'x', ...base], 'tocsin check add: --period D or --schedule CRON is required', 'Usage: tocsin check add '],
    [['add', 'x', '--period', '5m', '--schedule', '0 3 * * *', ...base], 'tocsin check add: give either --period or --schedule, not both', 'Usage: tocsin check add '],
    [['add', 'x', '--period', '5m', '--tz', 'Europe/Berlin', ...base], 'tocsin check add: --tz goes only with --schedule', 'Usage: tocsin check add '],
    [['add', 'x', '--period', 'often', ...base], 'tocsin check add: --period must be a duration like 30s, 5m, 1h or 1d, not "often"', 'Usage: tocsin check add '],
    [['add', 'x', '--period', '0s', ...base], 'tocsin check add: --period must be a duration', 'Usage: tocsin check add '],
    [['add', 'x', '--period', '5m', '--grace', 'late', ...base], 'tocsin check add: --grace must be a duration', 'Usage: tocsin check add '],
    [['add', 'x', '--period', '5m', '--label', 'team', ...base], 'tocsin check add: --label must be NAME=VALUE, not "team"', 'Usage: tocsin check add '],
    [['add', 'x', '--period', '5m', '--label', 'a=1', '--label', 'a=2', ...base], 'tocsin check add: the label "a" is given twice', 'Usage: tocsin check add '],
    [['add', 'x', ...base, '--period'], 'tocsin check add: option --period needs a value', 'Usage: tocsin check add '],
    [['add', 'x', 'y', '--period', '5m', ...base], 'tocsin check add: unexpected argument "y"', 'Usage: tocsin check add '],
    [['add', 'x', '--period', '5m', '--url', 'ftp://relay', '--token', TOKEN], 'tocsin check add: --url must be an http:// or https:// URL', 'Usage: tocsin check add '],
    [['list', 'extra', ...base], 'tocsin check list: unexpected argument "extra"', 'Usage: tocsin check list '],
    [['list', '--period', '5m', ...base], 'tocsin check list: unknown option --period', 'Usage: tocsin check list '],
    [['pause', ...base], "tocsin check pause: the check's NAME is required", 'Usage: tocsin check pause '],
    [['resume', 'a', 'b', ...base], 'tocsin check resume: unexpected argument "b"', 'Usage: tocsin check resume '],
    [['remove', '--bogus', 'x', ...base], 'tocsin check remove: unknown option --bogus', 'Usage: tocsin check remove '],
    [['list', '--url', url, '--token', `${TOKEN} x`], 'tocsin check list: the admin token (--token or $TOCSIN_TOKEN) must be one word', 'Usage: tocsin check list '],
    [[], 'Usage: tocsin check add ', 'tocsin check remove NAME'],
    [['frob'], 'tocsin check: unknown command "frob"', 'Usage: tocsin check add '],
  ];
  await assertUsageErrors(cli, cases, noToken);

  // --help is no usage error.
  const help = await cli(['add', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: tocsin check add NAME \(--period D \| --schedule CRON \[--tz ZONE\]\)/);
});
