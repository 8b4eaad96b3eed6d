/**
 * `tocsin canary status` as a user runs it, on every target (Node through tsx, the binary dist/tocsin when
 * it was built, Deno): a database made by the migrations with runs saved through CanaryRuns, a config that
 * names one canary; the exact text and JSON printed, --limit, the defaults and $TOCSIN_CONFIG, the usage
 * errors, a missing database (exit 1, nothing created), a database older than the canaries (no table: not
 * migrated), and a database another connection is writing to (not blocked, nothing uncommitted shown,
 * the database file left as it was).
 *
 * scripts/run-tests.mjs builds dist/tocsin before running this file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { CanaryRuns, type CanaryRunRow } from '../../src/outbox/canary-runs.ts';
import { applyPragmas } from '../../src/outbox/db.ts';
import { migrate } from '../../src/outbox/migrate.ts';
import { MIGRATIONS } from '../../src/outbox/migrations.generated.ts';
import { openNodeSqlite } from '../../src/runtime/sqlite-node.ts';
import { needs } from '../support/peers.ts';
import { BINARY, binaryCommand, DENO_BINARY, DENO_PERMISSIONS, RELAY_TARGETS, REPO_ROOT, type RelayTarget } from './relay-process.ts';

const MAIN = join(REPO_ROOT, 'src', 'main.ts');
/** tsx resolved from here, so the CLI can also run with a cwd outside the repository. */
const TSX = import.meta.resolve('tsx');

const tmp = mkdtempSync(join(tmpdir(), 'tocsin-canary-status-'));
process.once('exit', () => rmSync(tmp, { recursive: true, force: true }));

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI on `target` to its exit. cwd: a temp directory (Deno: the checkout, where it finds node_modules). */
function cli(target: RelayTarget, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Result> {
  const cmd =
    target === 'node'
      ? { file: process.execPath, args: ['--import', TSX, MAIN, ...args] }
      : target === 'binary'
        ? binaryCommand(args)
        : { file: DENO_BINARY, args: ['run', ...DENO_PERMISSIONS, MAIN, ...args] };
  const env: Record<string, string> = { NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'NODE_TEST_CONTEXT' && k !== 'TOCSIN_CONFIG') env[k] = v;
  const child = spawn(cmd.file, cmd.args, {
    cwd: target === 'deno' ? REPO_ROOT : (opts.cwd ?? tmp),
    env: { ...env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** Why `target` cannot run here, if it cannot. */
function missing(target: RelayTarget): string | undefined {
  if (target === 'binary' && !existsSync(BINARY)) return `${BINARY} is missing: run npm run build`;
  if (target === 'deno' && !existsSync(DENO_BINARY)) return `${DENO_BINARY} is missing (npm install, or set $DENO)`;
  return undefined;
}

const T = (iso: string) => Date.parse(iso);
const row = (over: Partial<CanaryRunRow> & Pick<CanaryRunRow, 'rid' | 'canary' | 'startedAt' | 'stage' | 'outcome'>): CanaryRunRow => ({
  firingAlarmId: null,
  resolvedAlarmId: null,
  reason: null,
  finishedAt: null,
  latencyMs: null,
  detail: null,
  ...over,
});

const RID = ['0b5f3e1a-8d2b-4c7e-9a10-2b3c4d5e6f70', '1c6a4f2b-9e3c-4d8f-8b21-3c4d5e6f7081', '2d7b5a3c-af4d-4e90-9c32-4d5e6f708192', '3e8c6b4d-b05e-4fa1-8d43-5e6f708192a3'];
const OLD_RID = '4f9d7c5e-c16f-4ab2-9e54-6f708192a3b4';
/** A fail reason longer than a line, over two lines, with a terminal escape from a receiver's answer. */
const LONG_REASON =
  'max_latency 30s passed: ops-hook still pending (last error: HTTP 503: \u001b[31mService Unavailable\u001b[0m\nthe upstream is in maintenance until 03:00 UTC, please retry later)';

const RUNS: CanaryRunRow[] = [
  row({ rid: RID[0]!, canary: 'path', startedAt: T('2026-11-22T02:44:00.000Z'), stage: 'done', outcome: 'failed', reason: 'injection failed: 503 disk full', finishedAt: T('2026-11-22T02:44:00.020Z') }),
  row({
    rid: RID[1]!, canary: 'path', startedAt: T('2026-11-22T02:45:00.250Z'), stage: 'done', outcome: 'succeeded', latencyMs: 412,
    finishedAt: T('2026-11-22T02:45:00.662Z'), firingAlarmId: 'alm_01M80JARJABDVFSYA49KWS3KZV', detail: '{"rid":"…"}',
  }),
  row({ rid: RID[2]!, canary: 'path', startedAt: T('2026-11-22T02:46:00.000Z'), stage: 'done', outcome: 'failed', reason: LONG_REASON, finishedAt: T('2026-11-22T02:46:31.000Z'), firingAlarmId: 'alm_01M80JB00000000000000000' }),
  row({ rid: RID[3]!, canary: 'path', startedAt: T('2026-11-22T02:47:00.000Z'), stage: 'firing', outcome: 'open', firingAlarmId: 'alm_01M80JC00000000000000000' }),
  row({ rid: OLD_RID, canary: 'legacy', startedAt: T('2026-11-21T09:00:00.000Z'), stage: 'done', outcome: 'succeeded', latencyMs: 9, finishedAt: T('2026-11-21T09:00:00.009Z') }),
];

/** A data directory whose database has `migrations` applied and `runs` saved; closed (its WAL folded in). */
function makeDataDir(name: string, runs: readonly CanaryRunRow[] = RUNS, migrations = MIGRATIONS): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const o = openNodeSqlite(join(dir, 'tocsin.db'));
  try {
    applyPragmas(o.db, 'FULL');
    migrate(o.db, 0, migrations);
    const store = new CanaryRuns(o.db);
    for (const r of runs) store.save(r);
  } finally {
    o.close();
  }
  return dir;
}

function writeConfig(name: string, dataDir: string, canaries = 'path'): string {
  const file = join(tmp, `${name}.yaml`);
  const lines = [
    `data_dir: ${JSON.stringify(dataDir)}`,
    'methods:',
    '  ops-hook: { type: webhook, url: "http://127.0.0.1:9/hook" }',
    'canaries:',
    ...canaries.split(',').flatMap((c) => [
      `  ${c}:`,
      '    interval: 60s',
      '    methods: [ops-hook, log]',
      '    ping_url: https://hc-ping.com/0b5f3e1a-8d2b-4c7e-9a10-2b3c4d5e6f70',
      '    max_latency: 30s',
    ]),
    '',
  ];
  writeFileSync(file, lines.join('\n'));
  return file;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

const DATA = makeDataDir('data');
const CONFIG = writeConfig('one-canary', DATA);

const PATH_HEADER = 'canary path: every 1m, max_latency 30s, methods ops-hook, log';
const PATH_LINES = [
  '  2026-11-22T02:47:00Z  3e8c6b4d-b05e-4fa1-8d43-5e6f708192a3  open       firing',
  '  2026-11-22T02:46:00Z  2d7b5a3c-af4d-4e90-9c32-4d5e6f708192  failed     max_latency 30s passed: ops-hook still pending (last error: HTTP 503: [31mService Unavailable [0m the upstream is in ma…',
  '  2026-11-22T02:45:00Z  1c6a4f2b-9e3c-4d8f-8b21-3c4d5e6f7081  succeeded  412 ms',
  '  2026-11-22T02:44:00Z  0b5f3e1a-8d2b-4c7e-9a10-2b3c4d5e6f70  failed     injection failed: 503 disk full',
];

for (const target of RELAY_TARGETS) {
  test(`${target}: canary status prints each configured canary's runs newest first, then the canaries no longer configured`, async (t) => {
    if (!needs(t, missing(target))) return;
    const before = sha256(join(DATA, 'tocsin.db'));
    const r = await cli(target, ['canary', 'status', '--config', CONFIG]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(r.stdout.split('\n'), [
      PATH_HEADER,
      ...PATH_LINES,
      '',
      'canary legacy: (not configured)',
      '  2026-11-21T09:00:00Z  4f9d7c5e-c16f-4ab2-9e54-6f708192a3b4  succeeded  9 ms',
      '',
    ]);
    // The reason column is one line of at most 120 characters.
    assert.equal([...PATH_LINES[1]!.slice(PATH_LINES[1]!.indexOf('max_latency'))].length, 120);

    const limited = await cli(target, ['canary', 'status', '-c', CONFIG, '--limit', '1']);
    assert.equal(limited.code, 0, limited.stderr);
    assert.deepEqual(limited.stdout.split('\n'), [PATH_HEADER, PATH_LINES[0], '', 'canary legacy: (not configured)', '  2026-11-21T09:00:00Z  4f9d7c5e-c16f-4ab2-9e54-6f708192a3b4  succeeded  9 ms', '']);

    // Read only: the database file is byte for byte what it was, and nothing was left next to it.
    assert.equal(sha256(join(DATA, 'tocsin.db')), before);
    assert.deepEqual(readdirSync(DATA), ['tocsin.db']);
  });

  test(`${target}: canary status --json prints the runs with the table's columns, times in RFC 3339`, async (t) => {
    if (!needs(t, missing(target))) return;
    const r = await cli(target, ['canary', 'status', '--config', CONFIG, '--json', '--limit=3']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.endsWith('}\n'));
    assert.deepEqual(JSON.parse(r.stdout), {
      database: join(DATA, 'tocsin.db'),
      canaries: [
        {
          name: 'path',
          configured: true,
          interval_ms: 60_000,
          max_latency_ms: 30_000,
          methods: ['ops-hook', 'log'],
          runs: [
            {
              rid: RID[3], started_at: '2026-11-22T02:47:00.000Z', outcome: 'open', stage: 'firing', latency_ms: null, reason: null,
              finished_at: null, firing_alarm_id: 'alm_01M80JC00000000000000000', resolved_alarm_id: null,
            },
            {
              rid: RID[2], started_at: '2026-11-22T02:46:00.000Z', outcome: 'failed', stage: 'done', latency_ms: null, reason: LONG_REASON,
              finished_at: '2026-11-22T02:46:31.000Z', firing_alarm_id: 'alm_01M80JB00000000000000000', resolved_alarm_id: null,
            },
            {
              rid: RID[1], started_at: '2026-11-22T02:45:00.250Z', outcome: 'succeeded', stage: 'done', latency_ms: 412, reason: null,
              finished_at: '2026-11-22T02:45:00.662Z', firing_alarm_id: 'alm_01M80JARJABDVFSYA49KWS3KZV', resolved_alarm_id: null,
            },
          ],
        },
        {
          name: 'legacy',
          configured: false,
          runs: [
            {
              rid: OLD_RID, started_at: '2026-11-21T09:00:00.000Z', outcome: 'succeeded', stage: 'done', latency_ms: 9, reason: null,
              finished_at: '2026-11-21T09:00:00.009Z', firing_alarm_id: null, resolved_alarm_id: null,
            },
          ],
        },
      ],
    });
  });

  test(`${target}: canary status without a database says so and exits 1, creating nothing; an older database has no canary runs and is not migrated`, async (t) => {
    if (!needs(t, missing(target))) return;
    const none = join(tmp, `none-${target}`);
    const r = await cli(target, ['canary', 'status', '--config', writeConfig(`none-${target}`, none)]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `tocsin canary status: no database at ${join(none, 'tocsin.db')} (tocsin has not run with this data_dir yet)\n`);
    assert.ok(!existsSync(none), 'the data directory was created');

    const older = makeDataDir(`older-${target}`, [], MIGRATIONS.filter((m) => m.tag !== '0003_canary_runs'));
    const config = writeConfig(`older-${target}`, older);
    const text = await cli(target, ['canary', 'status', '--config', config]);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, 'no canary runs yet\n');
    const json = await cli(target, ['canary', 'status', '--config', config, '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual((JSON.parse(json.stdout) as { canaries: unknown }).canaries, [
      { name: 'path', configured: true, interval_ms: 60_000, max_latency_ms: 30_000, methods: ['ops-hook', 'log'], runs: [] },
    ]);
    const o = openNodeSqlite(join(older, 'tocsin.db'));
    try {
      assert.equal(o.db.get(sql`SELECT name FROM sqlite_master WHERE name = 'canary_runs'`), undefined, 'migrated');
    } finally {
      o.close();
    }
  });

  test(`${target}: canary status reads a database another connection is writing to: not blocked, nothing uncommitted shown`, async (t) => {
    if (!needs(t, missing(target))) return;
    const dir = makeDataDir(`busy-${target}`, RUNS.slice(0, 2));
    const writer = openNodeSqlite(join(dir, 'tocsin.db'));
    try {
      applyPragmas(writer.db, 'FULL');
      // One run committed (in the WAL, not yet in the database file), one written but not committed,
      // the write lock held throughout, as a relay in the middle of a commit holds it.
      new CanaryRuns(writer.db).save(row({ rid: RID[3]!, canary: 'path', startedAt: T('2026-11-22T02:47:00.000Z'), stage: 'injecting-firing', outcome: 'open' }));
      writer.db.run(sql`BEGIN IMMEDIATE`);
      new CanaryRuns(writer.db).save(row({ rid: RID[2]!, canary: 'path', startedAt: T('2026-11-22T02:48:00.000Z'), stage: 'firing', outcome: 'open' }));
      const started = Date.now();
      const r = await cli(target, ['canary', 'status', '--config', writeConfig(`busy-${target}`, dir)]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.split('\n'), [
        PATH_HEADER,
        '  2026-11-22T02:47:00Z  3e8c6b4d-b05e-4fa1-8d43-5e6f708192a3  open       injecting-firing',
        PATH_LINES[2],
        PATH_LINES[3],
        '',
      ]);
      assert.ok(Date.now() - started < 30_000, 'waited for the writer');
      writer.db.run(sql`COMMIT`);
      assert.equal(new CanaryRuns(writer.db).recent('path', 10).length, 4, 'the writer could still commit');
    } finally {
      writer.close();
    }
  });

  test(`${target}: canary status usage: --help, unknown options and commands, a bad --limit`, async (t) => {
    if (!needs(t, missing(target))) return;
    const help = await cli(target, ['canary', 'status', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.ok(help.stdout.startsWith('Usage: tocsin canary status [--config FILE] [--limit N] [--json]\n'), help.stdout);
    assert.equal(help.stderr, '');
    const cases: [string[], string][] = [
      [['canary', 'status', '--bogus'], 'tocsin canary status: unknown option --bogus\n\nUsage: tocsin canary status '],
      [['canary', 'status', '--listen', '127.0.0.1:1'], 'tocsin canary status: unknown option --listen\n\nUsage: tocsin canary status '],
      [['canary', 'status', '--limit'], 'tocsin canary status: option --limit needs a value\n\nUsage: tocsin canary status '],
      [['canary', 'status', '--limit', '0'], 'tocsin canary status: --limit must be a whole number of at least 1\n\nUsage: tocsin canary status '],
      [['canary', 'status', '--limit', '2x'], 'tocsin canary status: --limit must be a whole number of at least 1\n\nUsage: tocsin canary status '],
      [['canary', 'status', '--json=yes'], 'tocsin canary status: option --json takes no value\n\nUsage: tocsin canary status '],
      [['canary', 'status', 'now'], 'tocsin canary status: unexpected argument "now"\n\nUsage: tocsin canary status '],
      [['canary', 'stats'], 'tocsin canary: unknown command "stats"\n\nUsage: tocsin canary status '],
      [['serve', '--json'], 'tocsin serve: unknown option --json\n\nUsage: tocsin serve '],
    ];
    for (const [args, head] of cases) {
      const r = await cli(target, args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(head), `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', args.join(' '));
    }
  });
}

for (const target of RELAY_TARGETS.filter((x) => x !== 'deno')) {
  test(`${target}: canary status without --config reads $TOCSIN_CONFIG, or else the defaults (./data, no canaries configured)`, async (t) => {
    if (!needs(t, missing(target))) return;
    const viaEnv = await cli(target, ['canary', 'status'], { env: { TOCSIN_CONFIG: CONFIG } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.equal(viaEnv.stdout.split('\n')[0], PATH_HEADER);

    const cwd = join(tmp, `defaults-${target}`);
    mkdirSync(cwd);
    const empty = await cli(target, ['canary', 'status'], { cwd });
    assert.equal(empty.code, 1);
    assert.equal(empty.stderr, `tocsin canary status: no database at ${join('data', 'tocsin.db')} (tocsin has not run with this data_dir yet)\n`);
    assert.ok(!existsSync(join(cwd, 'data')), 'the data directory was created');

    makeDataDir(join(`defaults-${target}`, 'data'), RUNS.slice(3));
    const r = await cli(target, ['canary', 'status'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    // Not configured: by name.
    assert.deepEqual(r.stdout.split('\n'), [
      'canary legacy: (not configured)',
      '  2026-11-21T09:00:00Z  4f9d7c5e-c16f-4ab2-9e54-6f708192a3b4  succeeded  9 ms',
      '',
      'canary path: (not configured)',
      '  2026-11-22T02:47:00Z  3e8c6b4d-b05e-4fa1-8d43-5e6f708192a3  open       firing',
      '',
    ]);
  });
}
