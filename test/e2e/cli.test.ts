/**
 * The CLI as a user runs it: `node --import tsx src/main.ts ...` as a child process.
 * --version, each command's --help and usage errors, check-config, the refusal to listen openly without
 * auth, zero-config start, and a graceful SIGTERM while webhook deliveries are in flight (nothing lost
 * across a restart, no secret printed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, freePort, killAllRelays, startRelay, type RelayProcess } from './relay-process.ts';
import { startWebhookSink, type WebhookSink } from './webhook-sink.ts';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const MAIN = join(REPO_ROOT, 'src', 'main.ts');
/** tsx resolved from here, so the CLI can also run with a cwd outside the repository. */
const TSX = import.meta.resolve('tsx');

interface Cli {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
  /** Closes our end of the child's stdout pipe (its writes then fail with EPIPE). */
  closeStdout(): void;
  /** Resolves with the port of the `tocsin listening` log line (or rejects if the process exits first). */
  listening(timeoutMs?: number): Promise<number>;
}

function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  delete env.NODE_TEST_CONTEXT;
  delete env.TOCSIN_CONFIG;
  return { ...env, ...extra };
}

const children = new Set<ReturnType<typeof spawn>>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function runCli(args: string[], opts: { cwd?: string } = {}): Cli {
  const proc = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('close', (code, signal) => {
      children.delete(proc);
      resolve({ code, signal });
    });
  });
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    exited,
    stdout: () => out,
    stderr: () => err,
    kill: (signal) => proc.kill(signal),
    closeStdout: () => proc.stdout!.destroy(),
    async listening(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = /"msg":"tocsin listening"/.test(err) ? /"listen":"[^"]*:(\d+)"/.exec(err) : null;
        if (m) return Number(m[1]);
        if (gone) throw new Error(`exited before listening\n--- stderr ---\n${err}`);
        if (Date.now() > deadline) {
          proc.kill('SIGKILL');
          throw new Error(`no "tocsin listening" line in ${timeoutMs} ms\n--- stderr ---\n${err}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-cli-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('--version prints "tocsin <package.json version>"', async () => {
  const cli = runCli(['--version']);
  const { code } = await cli.exited;
  assert.equal(code, 0, cli.stderr());
  assert.equal(cli.stdout(), `tocsin ${VERSION} (source)\n`);
});

test('--help (-h) after a command prints its usage and exits 0 without running it; --version after one prints the version', async () => {
  await withTempDir(async (cwd) => {
    const cases: [string[], string][] = [
      [['serve', '--help'], 'Usage: tocsin serve [--config FILE] [--listen HOST:PORT] [--insecure-no-auth]\n'],
      [['serve', '-h', '--listen', '127.0.0.1:0'], 'Usage: tocsin serve '],
      [['check-config', '--help'], 'Usage: tocsin check-config --config FILE\n'],
      [['check-config', '-h', '--config', 'missing.yaml'], 'Usage: tocsin check-config '],
      [['serve', '--version'], `tocsin ${VERSION} (source)\n`],
    ];
    await Promise.all(
      cases.map(async ([args, head]) => {
        const cli = runCli(args, { cwd });
        assert.equal((await cli.exited).code, 0, `${args.join(' ')}: ${cli.stderr()}`);
        assert.ok(cli.stdout().startsWith(head), `${args.join(' ')}: ${cli.stdout()}`);
        assert.equal(cli.stderr(), '', args.join(' '));
      }),
    );
    assert.ok(!existsSync(join(cwd, 'data')), 'the relay did not start');
  });
});

test('an unknown option, a missing value or a stray argument: the message and the command\'s usage on stderr, exit 2', async () => {
  await withTempDir(async (cwd) => {
    const cases: [string[], string][] = [
      [['serve', '--bogus'], 'tocsin serve: unknown option --bogus\n\nUsage: tocsin serve '],
      [['serve', '-x'], 'tocsin serve: unknown option -x\n\nUsage: tocsin serve '],
      [['serve', '--listen'], 'tocsin serve: option --listen needs a value\n\nUsage: tocsin serve '],
      [['serve', '--insecure-no-auth=yes'], 'tocsin serve: option --insecure-no-auth takes no value\n\nUsage: tocsin serve '],
      [['serve', 'now'], 'tocsin serve: unexpected argument "now"\n\nUsage: tocsin serve '],
      [['check-config', '--config', 'x.yaml', '--listen', '127.0.0.1:1'], 'tocsin check-config: unknown option --listen\n\nUsage: tocsin check-config '],
      [['check-config'], 'tocsin check-config: --config FILE is required\n\nUsage: tocsin check-config '],
      [['--bogus'], `tocsin: unknown option --bogus\n\ntocsin ${VERSION}: alert relay\n`],
    ];
    await Promise.all(
      cases.map(async ([args, head]) => {
        const cli = runCli(args, { cwd });
        assert.equal((await cli.exited).code, 2, `${args.join(' ')}: ${cli.stderr()}`);
        assert.ok(cli.stderr().startsWith(head), `${args.join(' ')}: ${cli.stderr()}`);
        assert.equal(cli.stdout(), '', args.join(' '));
      }),
    );
    assert.ok(!existsSync(join(cwd, 'data')), 'the relay did not start');
  });
});

test('check-config: 0 for a good file; 1 with one line per problem for a bad one, secrets not echoed', async () => {
  await withTempDir(async (dir) => {
    const good = join(dir, 'good.yaml');
    writeFileSync(
      good,
      [
        'listen: 127.0.0.1:9999',
        'sources:',
        '  ci: { token: "tok-good-0123456789" }',
        'methods:',
        '  hook: { type: webhook, url: "https://hooks.example/x", signing_secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }',
        'routes:',
        '  - match: { severity: critical }',
        '    methods: [hook]',
        '  - methods: [log]',
      ].join('\n'),
    );
    const ok = runCli(['check-config', '--config', good]);
    assert.equal((await ok.exited).code, 0, ok.stderr());
    assert.equal(ok.stdout(), `${good}: ok\n`);

    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'methods:',
        '  hook: { type: webhook, url: "ftp://user:hunter2-secret@files.example/x" }',
        'routes:',
        '  - methods: [nowhere]',
      ].join('\n'),
    );
    const no = runCli(['check-config', '--config', bad]);
    assert.equal((await no.exited).code, 1);
    assert.equal(no.stdout(), '');
    const lines = no.stderr().split('\n');
    assert.equal(lines[0], 'tocsin: invalid configuration:');
    assert.ok(lines.includes('  methods.hook.url: must be an http(s) URL'), no.stderr());
    assert.ok(lines.some((l) => l.startsWith('  routes[0].methods[0]: unknown method "nowhere"')), no.stderr());
    assert.ok(!no.stderr().includes('hunter2'), 'the URL (a secret) is not echoed');

    // A structural problem (reported by the schema stage).
    const badShape = join(dir, 'bad-shape.yaml');
    writeFileSync(badShape, 'delivery: { timeout: soon }\nlisten: nowhere\n');
    const shape = runCli(['check-config', '--config', badShape]);
    assert.equal((await shape.exited).code, 1);
    const shapeLines = shape.stderr().split('\n');
    assert.ok(shapeLines.includes('  delivery.timeout: must be a duration like "10s" or "500ms"'), shape.stderr());
    assert.ok(shapeLines.includes('  listen: must be host:port, e.g. 127.0.0.1:9095'), shape.stderr());

    const missing = runCli(['check-config', '--config', join(dir, 'nope.yaml')]);
    assert.equal((await missing.exited).code, 1);
    assert.match(missing.stderr(), /^ {2}config: cannot read .*nope\.yaml: ENOENT: no such file or directory$/m);

    const badListen = runCli(['serve', '--listen', 'nowhere']);
    assert.equal((await badListen.exited).code, 1);
    assert.ok(badListen.stderr().split('\n').includes('  --listen: must be host:port, e.g. 127.0.0.1:9095'), badListen.stderr());
  });
});

test('check-config: a route may name a method created through the admin API; it is looked up in the data_dir database', { timeout: 120_000 }, async () => {
  await withTempDir(async (dir) => {
    const dataDir = join(dir, 'data');
    const file = join(dir, 'tocsin.yaml');
    const base = ['listen: 127.0.0.1:9999', `data_dir: ${JSON.stringify(dataDir)}`, 'admin: { tokens: ["admin-token-check-config-1"] }'];
    writeFileSync(file, [...base, 'routes:', '  - methods: [pager]', ''].join('\n'));
    // No database yet: the name is unknown.
    const none = runCli(['check-config', '--config', file]);
    assert.equal((await none.exited).code, 1);
    assert.match(none.stderr(), /^ {2}routes\[0\]\.methods\[0\]: unknown method "pager"; define it under methods or create it with `tocsin methods add` \(there is no database at .*tocsin\.db yet\)$/m);

    // A relay on that data_dir creates the method through the admin API.
    const port = await freePort();
    const relay = await startRelay({ configYaml: [...base.slice(1), `listen: 127.0.0.1:${port}`, ''].join('\n'), dataDir });
    try {
      const res = await fetch(`${relay.baseUrl}/api/v1/methods`, {
        method: 'POST',
        headers: { authorization: 'Bearer admin-token-check-config-1', 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'pager', method: { type: 'log' } }),
      });
      assert.equal(res.status, 201, await res.text());
      // Found while the relay runs (read only), and after it stopped.
      const running = runCli(['check-config', '--config', file]);
      assert.equal((await running.exited).code, 0, running.stderr());
      assert.match(running.stdout(), /: ok \(methods created through the admin API, found in .*tocsin\.db: pager\)\n$/);
    } finally {
      await relay.stop();
    }
    writeFileSync(file, [...base, 'routes:', '  - methods: [pager, other]', ''].join('\n'));
    const other = runCli(['check-config', '--config', file]);
    assert.equal((await other.exited).code, 1);
    assert.match(other.stderr(), /routes\[0\]\.methods\[1\]: unknown method "other".*\(the database .* has no such method\)/);
    assert.ok(!other.stderr().includes('"pager"'), other.stderr());
  });
});

test('serve refuses 0.0.0.0 without sources unless --insecure-no-auth', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'open.yaml');
    writeFileSync(file, `listen: 0.0.0.0:0\ndata_dir: ${JSON.stringify(join(dir, 'data'))}\n`);
    const refused = runCli(['serve', '--config', file]);
    assert.equal((await refused.exited).code, 1);
    assert.equal(
      refused.stderr(),
      'tocsin: refusing to listen on 0.0.0.0 without authentication: configure sources with tokens, or start with --insecure-no-auth\n',
    );
    assert.ok(!existsSync(join(dir, 'data')), 'nothing was opened');

    const insecure = runCli(['serve', '--config', file, '--insecure-no-auth']);
    const port = await insecure.listening();
    assert.ok(port > 0);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    insecure.kill('SIGTERM');
    const { code } = await insecure.exited;
    assert.equal(code, 0, insecure.stderr());
  });
});

// The default listen address itself (127.0.0.1:9095) is asserted by src/config/parse.test.ts; here the
// port is overridden with --listen so the test runs while a relay started with `npm start` holds 9095.
test('zero config: no file, ./data/tocsin.db, alarms printed as JSON lines on stdout', async () => {
  await withTempDir(async (cwd) => {
    const cli = runCli(['serve', '--listen', '127.0.0.1:0'], { cwd });
    try {
      const port = await cli.listening();
      assert.match(cli.stderr(), /"data_dir":"\.\/data"/);
      const base = `http://127.0.0.1:${port}`;
      const res = await fetch(`${base}/v1/alarms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'ZeroConfig', severity: 'critical', labels: { host: 'h1' } }),
      });
      const ack = (await res.json()) as { alarm_ids: string[]; notification_ids: string[] };
      assert.equal(res.status, 202);
      assert.ok(existsSync(join(cwd, 'data', 'tocsin.db')), 'data in ./data/tocsin.db');
      await waitFor(() => cli.stdout().includes('\n'), 10_000, 'the log line on stdout');
      const lines = cli.stdout().split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, cli.stdout());
      const env = JSON.parse(lines[0]!);
      assert.deepEqual(Object.keys(env).sort(), ['alarm', 'attempt', 'method', 'notification_id', 'version']);
      assert.equal(env.version, '1');
      assert.equal(env.method, 'log');
      assert.equal(env.attempt, 1);
      assert.equal(env.notification_id, ack.notification_ids[0]);
      assert.equal(env.alarm.id, ack.alarm_ids[0]);
      assert.equal(env.alarm.name, 'ZeroConfig');
      assert.equal(env.alarm.severity, 'critical');
      assert.equal(env.alarm.status, 'firing');
      assert.equal(env.alarm.source, 'generic');
      assert.deepEqual(env.alarm.labels, { host: 'h1' });
      assert.match(env.alarm.dedup_key, /^[0-9a-f]{32}$/);
      assert.ok(!Number.isNaN(Date.parse(env.alarm.occurred_at)) && !Number.isNaN(Date.parse(env.alarm.received_at)));
      // stdout holds only the notification lines; the log goes to stderr.
      assert.ok(!cli.stdout().includes('tocsin listening'));
    } finally {
      cli.kill('SIGTERM');
    }
    const { code } = await cli.exited;
    assert.equal(code, 0, cli.stderr());
  });
});

test('graceful SIGTERM with deliveries in flight: exit 0, nothing lost after restart, no secret printed', { timeout: 60_000 }, async () => {
  const SOURCE_TOKEN = 'src-tok-6d1f0c9a8b7e4d3c2b1a0f9e';
  const BEARER = 'bearer-tok-3e4f5a6b7c8d9e0f1a2b3c4d';
  const ALARMS = 24;
  const dataDir = mkdtempSync(join(tmpdir(), 'tocsin-cli-graceful-'));
  let sink: WebhookSink | undefined;
  const relays: RelayProcess[] = [];
  try {
    sink = await startWebhookSink({ behavior: () => ({ status: 200, delayMs: 1000 }) });
    const yaml = [
      'listen: 127.0.0.1:0',
      `data_dir: ${JSON.stringify(dataDir)}`,
      'sources:',
      `  scripts: { token: "${SOURCE_TOKEN}" }`,
      'methods:',
      '  hook:',
      '    type: webhook',
      `    url: ${JSON.stringify(sink.url)}`,
      `    bearer_token: "${BEARER}"`,
      '    timeout: 5s',
      '    concurrency: 8',
      'delivery: { poll_interval: 100ms, shutdown_grace: 10s }',
      'routes:',
      '  - methods: [hook]',
    ].join('\n');

    const first = await startRelay({ configYaml: yaml, dataDir });
    relays.push(first);
    const acked: string[] = [];
    const posts = Array.from({ length: ALARMS }, async (_, i) => {
      const res = await fetch(`${first.baseUrl}/v1/alarms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SOURCE_TOKEN}` },
        body: JSON.stringify({ name: 'Graceful', labels: { n: String(i) } }),
      });
      const body = (await res.json()) as { alarm_ids: string[] };
      assert.equal(res.status, 202, JSON.stringify(body));
      acked.push(...body.alarm_ids);
    });
    await Promise.all(posts);
    assert.equal(acked.length, ALARMS);

    // SIGTERM while the (slow) receiver holds deliveries.
    await waitFor(() => sink!.requests.length > 0, 10_000, 'the first delivery to arrive');
    const inFlight = sink.requests.length;
    assert.equal(sink.counts().accepted, 0, 'deliveries are still in flight');
    await first.stop(20_000);
    assert.deepEqual(first.exitInfo(), { code: 0, signal: null }, first.stderr().slice(-3000));
    // The deliveries in flight at the signal were finished, not cut off.
    assert.ok(sink.counts().accepted >= inFlight, `${sink.counts().accepted} accepted, ${inFlight} were in flight`);
    assert.equal(sink.counts().clientGone, 0, 'no delivery was abandoned by the relay');
    const deliveredBeforeRestart = sink.counts().uniqueAlarms;
    assert.ok(deliveredBeforeRestart < ALARMS, 'some alarms were still queued at shutdown (the restart has work to do)');

    const second = await startRelay({ configYaml: yaml, dataDir });
    relays.push(second);
    const all = await sink.waitUntil(() => acked.every((id) => sink!.firstAcceptedByAlarm.has(id)), 20_000);
    assert.ok(all, `only ${sink.counts().uniqueAlarms} of ${ALARMS} alarms reached the receiver after the restart`);
    await second.stop(20_000);
    assert.deepEqual(second.exitInfo(), { code: 0, signal: null }, second.stderr().slice(-3000));

    const c = sink.counts();
    assert.equal(c.uniqueAlarms, ALARMS);
    assert.equal(c.duplicates, 0, 'a graceful shutdown causes no redelivery');
    for (const r of sink.requests) assert.equal(r.headers.authorization, `Bearer ${BEARER}`);
    assert.ok(first.logLines().some((l) => typeof l.msg === 'string' && /shutting down/.test(l.msg)));

    for (const relay of relays) {
      const printed = relay.stdout() + relay.stderr();
      for (const secret of [SOURCE_TOKEN, BEARER]) {
        assert.ok(!printed.includes(secret), 'a secret from the config was printed');
        assert.ok(!printed.includes(secret.slice(-16)), 'part of a secret from the config was printed');
      }
    }
  } finally {
    await killAllRelays();
    await sink?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a closed stdout does not crash the relay: log notifications wait and are retried', async () => {
  await withTempDir(async (cwd) => {
    const cli = runCli(['serve', '--listen', '127.0.0.1:0'], { cwd });
    try {
      const base = `http://127.0.0.1:${await cli.listening()}`;
      cli.closeStdout();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${base}/v1/alarms`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'NoStdout', labels: { i: String(i) } }),
        });
        assert.equal(res.status, 202);
        ids.push(((await res.json()) as { alarm_ids: string[] }).alarm_ids[0]!);
      }
      await waitFor(() => /stdout is not writable/.test(cli.stderr()), 10_000, 'the stdout error to be logged');
      assert.equal((await fetch(`${base}/healthz`)).status, 200, 'still serving');
      for (const id of ids) {
        const view = (await (await fetch(`${base}/v1/alarms/${id}`)).json()) as { notifications: { state: string }[] };
        assert.notEqual(view.notifications[0]!.state, 'sent', 'not counted as sent when the line was not written');
        assert.notEqual(view.notifications[0]!.state, 'dead');
      }
    } finally {
      cli.kill('SIGTERM');
    }
    const { code } = await cli.exited;
    assert.equal(code, 0, cli.stderr());
  });
});
