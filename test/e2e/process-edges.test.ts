/**
 * The relay process at its edges, on every target (Node from source, the dist/tocsin binary, Deno; see
 * relay-process.ts): a client that hangs up mid-body is a client abort (debug), not a storage failure
 * (error); a closed stderr neither hangs the process nor keeps it from exiting after `stopped`; a second
 * signal exits at once and says so in the log; and the binary's CLI answers --help and a bad option
 * with the command's usage.
 *
 * scripts/run-tests.mjs builds dist/tocsin before running this file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BINARY, binaryCommand, DENO_BINARY, killAllRelays, RELAY_TARGETS, REPO_ROOT, startRelay, type RelayTarget } from './relay-process.ts';
import { startWebhookSink, type WebhookSink } from './webhook-sink.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(pred: () => boolean, timeoutMs: number, what: string, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await sleep(25);
  }
}

/** Runs fn with a fresh data directory, and kills whatever relay is left afterwards. */
async function withDataDir(target: RelayTarget, fn: (dataDir: string) => Promise<void>): Promise<void> {
  if (target === 'binary') assert.ok(existsSync(BINARY), `${BINARY} is missing: run npm run build`);
  const dataDir = mkdtempSync(join(tmpdir(), `tocsin-edges-${target}-`));
  try {
    await fn(dataDir);
  } finally {
    await killAllRelays();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Opens a connection, sends `head` and then, a moment later, hangs up. */
async function hangUpAfter(port: number, head: string): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {}); // whatever the relay does with the connection now is fine
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(head);
  await sleep(200); // the relay is reading the body by now
  socket.destroy();
}

for (const target of RELAY_TARGETS) {
  test(`${target}: a client that hangs up mid-body is logged at debug as a client abort, not as a storage failure`, { timeout: 60_000 }, async () => {
    await withDataDir(target, async (dataDir) => {
      const relay = await startRelay({ target, dataDir, configYaml: `listen: 127.0.0.1:0\ndata_dir: ${JSON.stringify(dataDir)}\nlog_level: debug\n` });
      await waitFor(() => /"msg":"tocsin ready"/.test(relay.stderr()), 20_000, 'the relay to be ready', relay.stderr);
      const post = 'POST /v1/alarms HTTP/1.1\r\nHost: tocsin\r\nContent-Type: application/json\r\n';
      await hangUpAfter(relay.port, `${post}Content-Length: 1000\r\n\r\n{"name":"x`); // 10 of 1000 bytes
      await hangUpAfter(relay.port, `${post}Transfer-Encoding: chunked\r\n\r\na\r\n{"name":"x\r\n`); // one chunk, no end
      const aborts = () => relay.logLines().filter((l) => l.level === 20 && /client aborted/.test(String(l.msg)));
      await waitFor(() => aborts().length === 2, 10_000, 'two "client aborted" debug lines', relay.stderr);
      assert.deepEqual(relay.logLines().filter((l) => Number(l.level) >= 50), [], 'nothing at error level');
      assert.ok(aborts().every((l) => l.path === '/v1/alarms'), relay.stderr());

      // Still serving: whole bodies, with a Content-Length and chunked, are accepted.
      const whole = await fetch(`${relay.baseUrl}/v1/alarms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"after"}' });
      assert.equal(whole.status, 202, await whole.text());
      const chunked = await fetch(`${relay.baseUrl}/v1/alarms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: new Blob(['{"name":"chunked"}']).stream(),
        duplex: 'half',
      } as RequestInit);
      assert.equal(chunked.status, 202, await chunked.text());
      await relay.stop();
      assert.deepEqual(relay.exitInfo(), { code: 0, signal: null }, relay.stderr());
    });
  });

  test(`${target}: with stderr closed, SIGTERM still stops the relay and it exits after "stopped"`, { timeout: 60_000 }, async () => {
    await withDataDir(target, async (dataDir) => {
      const relay = await startRelay({ target, dataDir, configYaml: `listen: 127.0.0.1:0\ndata_dir: ${JSON.stringify(dataDir)}\n` });
      relay.proc.stderr!.destroy(); // the reader goes away: every write to stderr fails with EPIPE from now on
      // Lines logged while stderr is closed: a reload of the built-in defaults warns that there is nothing to reload.
      relay.proc.kill('SIGHUP');
      assert.equal((await fetch(`${relay.baseUrl}/healthz`)).status, 200, 'still serving');
      await relay.stop(10_000); // rejects (after a SIGKILL) if the relay has not exited by then
      assert.deepEqual(relay.exitInfo(), { code: 0, signal: null });
    });
  });

  test(`${target}: a second signal during the shutdown exits at once (130) and logs why`, { timeout: 60_000 }, async () => {
    await withDataDir(target, async (dataDir) => {
      let sink: WebhookSink | undefined;
      try {
        // The receiver holds the delivery longer than the shutdown would wait for it (shutdown_grace, 10 s).
        sink = await startWebhookSink({ behavior: () => ({ status: 200, delayMs: 30_000 }) });
        const yaml = [
          'listen: 127.0.0.1:0',
          `data_dir: ${JSON.stringify(dataDir)}`,
          'methods:',
          `  hook: { type: webhook, url: ${JSON.stringify(sink.url)}, timeout: 60s }`,
          'delivery: { poll_interval: 100ms, shutdown_grace: 10s }',
          'routes:',
          '  - methods: [hook]',
        ].join('\n');
        const relay = await startRelay({ target, dataDir, configYaml: yaml });
        const res = await fetch(`${relay.baseUrl}/v1/alarms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Held"}' });
        assert.equal(res.status, 202, await res.text());
        await waitFor(() => sink!.requests.length > 0, 10_000, 'the delivery to reach the receiver');

        relay.proc.kill('SIGTERM');
        await waitFor(() => relay.logLines().some((l) => /^shutting down/.test(String(l.msg))), 10_000, 'the shutdown to begin');
        const second = Date.now();
        relay.proc.kill('SIGTERM');
        const exit = await Promise.race([relay.exited, sleep(5000).then(() => undefined)]);
        assert.deepEqual(exit, { code: 130, signal: null }, `${Date.now() - second} ms after the second signal\n${relay.stderr()}`);
        const forced = relay.logLines().find((l) => /^second signal: exiting now/.test(String(l.msg)));
        assert.ok(forced, relay.stderr());
        assert.equal(forced.level, 40, 'at warn');
        assert.equal(forced.signal, 'SIGTERM');
        assert.ok(!relay.logLines().some((l) => l.msg === 'stopped'), 'the graceful stop did not finish');
      } finally {
        await sink?.close();
      }
    });
  });
}

/** How each runtime runs an ES module given as text, from the repository root. */
const EVAL: Record<string, (code: string) => string[]> = {
  node: (code) => [process.execPath, '--import', 'tsx', '--input-type=module', '--eval', code],
  bun: (code) => [join(REPO_ROOT, 'node_modules', '.bin', 'bun'), '--eval', code],
  deno: (code) => [DENO_BINARY, 'eval', code],
};

// The relay's logger on its own, where the old hang was certain: two lines logged back to back, the
// second queued behind the first, then an exit; pino.destination retried the queued line at exit forever.
for (const runtime of ['node', 'bun', 'deno'] as const) {
  test(`${runtime}: a log line that cannot be written is dropped and counted, and never holds up the exit`, { timeout: 30_000 }, async () => {
    const code = `
      import { createLogger } from './src/runtime/relay.ts';
      const logger = createLogger('info');
      logger.info({}, 'one');
      logger.info({}, 'two');
      await new Promise((resolve) => logger.flush(resolve));
      process.stdout.write('dropped ' + logger.droppedLines?.() + '\\n');
      logger.info({}, 'shutting down');
      logger.info({}, 'stopped');
      process.exit(0);
    `;
    const [file, ...args] = EVAL[runtime]!(code);
    const env: Record<string, string> = { NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'NODE_TEST_CONTEXT') env[k] ??= v;
    const child = spawn(file!, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.destroy(); // before the child writes anything
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('close', (c, s) => r([c, s])));
    clearTimeout(timer);
    assert.deepEqual({ exitCode, signal }, { exitCode: 0, signal: null }, `hung until killed, or failed; stdout: ${out}`);
    assert.equal(out, 'dropped 2\n');
  });
}

test('the binary: --help after a command prints its usage; a bad option prints it on stderr with exit code 2', () => {
  assert.ok(existsSync(BINARY), `${BINARY} is missing: run npm run build`);
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-edges-cli-'));
  const run = (args: string[]) => {
    const cmd = binaryCommand(args);
    return spawnSync(cmd.file, cmd.args, { cwd: dir, encoding: 'utf8', timeout: 20_000 });
  };
  try {
    for (const args of [['serve', '--help'], ['serve', '-h'], ['check-config', '--help']]) {
      const r = run(args);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stdout.startsWith(`Usage: tocsin ${args[0]}`), r.stdout);
      assert.equal(r.stderr, '');
    }
    const bad = run(['serve', '--bogus']);
    assert.equal(bad.status, 2);
    assert.ok(bad.stderr.startsWith('tocsin serve: unknown option --bogus\n\nUsage: tocsin serve '), bad.stderr);
    assert.equal(bad.stdout, '');
    assert.ok(!existsSync(join(dir, 'data')), 'the relay did not start');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
