/**
 * Runs the relay as a child process for end-to-end tests, on one of three targets:
 *  - node:   `node --import tsx src/main.ts serve --config FILE` (`npm start` runs the same through tsx's CLI,
 *            which adds a parent process), cwd = repo root;
 *  - binary: `dist/tocsin serve --config FILE` (built by `npm run build`), cwd = an empty temp directory;
 *  - deno:   `deno run <permissions> src/main.ts serve --config FILE` (deno from node_modules, or $DENO), cwd = repo root.
 * The config is written to a fresh temp file; the actual port is read from the
 * `tocsin listening` log line on stderr (so `listen: 127.0.0.1:0` works), and startRelay resolves
 * once GET /healthz answers 200. Every child still alive when this process exits is SIGKILLed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type RelayTarget = 'node' | 'binary' | 'deno';
/** Every target, or those listed in TOCSIN_TEST_TARGETS (comma-separated). */
export const RELAY_TARGETS: readonly RelayTarget[] = (process.env.TOCSIN_TEST_TARGETS || 'node,binary,deno').split(',') as RelayTarget[];

/**
 * The binary under test: dist/tocsin, or TOCSIN_TEST_BINARY (e.g. dist/tocsin-linux-arm64), run through
 * TOCSIN_TEST_BINARY_RUNNER if set (e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu").
 */
export const BINARY = resolve(REPO_ROOT, process.env.TOCSIN_TEST_BINARY || join('dist', 'tocsin'));
const BINARY_RUNNER = (process.env.TOCSIN_TEST_BINARY_RUNNER ?? '').split(' ').filter((x) => x !== '');

/** The command line that runs the binary under test with `args`. */
export function binaryCommand(args: string[]): { file: string; args: string[] } {
  const [runner, ...runnerArgs] = BINARY_RUNNER;
  return runner === undefined ? { file: BINARY, args } : { file: runner, args: [...runnerArgs, BINARY, ...args] };
}
/** Deno from node_modules (@deno/linux-x64-glibc), or wherever $DENO says. */
export const DENO_BINARY = process.env.DENO || join(REPO_ROOT, 'node_modules', '@deno', 'linux-x64-glibc', 'deno');
/** The permissions the relay needs under Deno (as documented in the README). */
export const DENO_PERMISSIONS = ['--allow-net', '--allow-read', '--allow-write', '--allow-env', '--allow-sys'];

/** The command line that serves with `configFile` on `target`, and the directory to run it in. */
export function relayCommand(target: RelayTarget, configFile: string, workDir: string): { file: string; args: string[]; cwd: string } {
  switch (target) {
    case 'node':
      return { file: process.execPath, args: ['--import', 'tsx', 'src/main.ts', 'serve', '--config', configFile], cwd: REPO_ROOT };
    case 'binary':
      return { ...binaryCommand(['serve', '--config', configFile]), cwd: workDir };
    case 'deno':
      return {
        file: DENO_BINARY,
        args: ['run', ...DENO_PERMISSIONS, 'src/main.ts', 'serve', '--config', configFile],
        cwd: REPO_ROOT,
      };
  }
}

/**
 * A config with one webhook method `sink` that every alarm routes to, fast retries and a 100 ms poll;
 * `methodOptions` adds or overrides the method's settings (e.g. `{ concurrency: '4' }`).
 */
export function sinkRelayConfig(port: number, dataDir: string, sinkUrl: string, methodOptions: Record<string, string> = {}): string {
  const method = { backoff_base: '50ms', backoff_cap: '500ms', ...methodOptions };
  return [
    `listen: 127.0.0.1:${port}`,
    `data_dir: ${JSON.stringify(dataDir)}`,
    'log_level: info',
    'methods:',
    '  sink:',
    '    type: webhook',
    `    url: ${JSON.stringify(sinkUrl)}`,
    ...Object.entries(method).map(([k, v]) => `    ${k}: ${v}`),
    'delivery:',
    '  poll_interval: 100ms',
    'routes:',
    '  - methods: [sink]',
    '',
  ].join('\n');
}

export interface StartRelayOptions {
  /** Which runtime / artifact to run (default node). */
  readonly target?: RelayTarget;
  /** The whole config document; its `data_dir` should be `dataDir`. */
  readonly configYaml: string;
  /** The relay's data directory (not created or removed here; the relay creates it). */
  readonly dataDir: string;
  /** Extra environment variables for the child (on top of this process's environment). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** How long to wait for the listening line and /healthz (default 30 s). */
  readonly startTimeoutMs?: number;
  /** Keep at most this many characters of stderr / stdout, the newest (default 8 MiB). */
  readonly maxCaptureChars?: number;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RelayProcess {
  /** The config file the relay was started with (rewrite it and send SIGHUP to reload). */
  readonly configFile: string;
  /** The port the relay listens on (127.0.0.1). */
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly baseUrl: string;
  readonly proc: ChildProcess;
  /** Resolves when the child has exited. */
  readonly exited: Promise<ExitInfo>;
  /** Exit status once exited, else undefined. */
  exitInfo(): ExitInfo | undefined;
  /** Everything the child wrote to stderr so far (its JSON log), possibly truncated at the front. */
  stderr(): string;
  /** Everything the child wrote to stdout so far (the `log` method's lines). */
  stdout(): string;
  /** The stderr log lines that parse as JSON. */
  logLines(): Record<string, unknown>[];
  /**
   * SIGTERM, then wait for the exit. If it has not exited after timeoutMs (default 15 s) it is SIGKILLed
   * and stop rejects. Resolves whatever the exit code; see exited / exitInfo().
   */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill9(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) {
      try {
        p.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

/** SIGKILLs every relay started by this module that is still running. */
export async function killAllRelays(): Promise<void> {
  await Promise.all(
    [...live].map(
      (p) =>
        new Promise<void>((r) => {
          if (p.exitCode !== null || p.signalCode !== null) return r();
          p.once('exit', () => r());
          p.kill('SIGKILL');
        }),
    ),
  );
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class Capture {
  #text = '';
  constructor(private readonly max: number) {}
  add(chunk: string): void {
    this.#text += chunk;
    if (this.#text.length > this.max) this.#text = this.#text.slice(this.#text.length - this.max);
  }
  get text(): string {
    return this.#text;
  }
}

export async function startRelay(opts: StartRelayOptions): Promise<RelayProcess> {
  installExitHook();
  const confDir = mkdtempSync(join(tmpdir(), 'tocsin-e2e-conf-'));
  const configFile = join(confDir, 'tocsin.yaml');
  writeFileSync(configFile, opts.configYaml);
  const removeConf = () => rmSync(confDir, { recursive: true, force: true });

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...opts.env })) if (v !== undefined) env[k] = v;
  delete env.NODE_TEST_CONTEXT; // the child is not a test file
  env.DENO_NO_UPDATE_CHECK = '1';
  env.NO_COLOR = '1';

  const max = opts.maxCaptureChars ?? 8 * 1024 * 1024;
  const err = new Capture(max);
  const out = new Capture(max);
  const cmd = relayCommand(opts.target ?? 'node', configFile, confDir);
  const proc = spawn(cmd.file, cmd.args, {
    cwd: cmd.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let info: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((r) => {
    proc.once('exit', (code, signal) => {
      info = { code, signal };
      live.delete(proc);
      removeConf();
      r(info);
    });
  });
  proc.once('error', () => {
    /* reported through exit / the start timeout */
  });
  proc.stderr!.setEncoding('utf8');
  proc.stdout!.setEncoding('utf8');

  let listenPort: number | undefined;
  let pendingLine = '';
  proc.stderr!.on('data', (chunk: string) => {
    err.add(chunk);
    if (listenPort !== undefined) return;
    pendingLine += chunk;
    const lines = pendingLine.split('\n');
    pendingLine = lines.pop() ?? '';
    for (const line of lines) {
      const m = /"msg":"tocsin listening"/.test(line) ? /"listen":"[^"]*:(\d+)"/.exec(line) : null;
      if (m) listenPort = Number(m[1]);
    }
  });
  proc.stdout!.on('data', (chunk: string) => out.add(chunk));

  const kill9 = async () => {
    if (info) return;
    proc.kill('SIGKILL');
    await exited;
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  const fail = async (why: string): Promise<never> => {
    await kill9();
    throw new Error(`relay did not start: ${why}\n--- stderr ---\n${err.text.slice(-4000)}`);
  };
  while (listenPort === undefined) {
    if (info) return fail(`exited with ${info.code ?? info.signal}`);
    if (Date.now() > deadline) return fail('no "tocsin listening" line in time');
    await sleep(25);
  }
  const port = listenPort;
  const baseUrl = `http://127.0.0.1:${port}`;
  for (;;) {
    if (info) return fail(`exited with ${info.code ?? info.signal}`);
    if (Date.now() > deadline) return fail('GET /healthz did not answer 200 in time');
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      /* not yet */
    }
    await sleep(25);
  }

  return {
    configFile,
    port,
    baseUrl,
    proc,
    exited,
    exitInfo: () => info,
    stderr: () => err.text,
    stdout: () => out.text,
    logLines() {
      const lines: Record<string, unknown>[] = [];
      for (const line of err.text.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          /* a truncated or foreign line */
        }
      }
      return lines;
    },
    async stop(timeoutMs = 15_000) {
      if (info) return;
      proc.kill('SIGTERM');
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        await kill9();
        throw new Error(`relay did not exit within ${timeoutMs} ms of SIGTERM; killed it\n--- stderr ---\n${err.text.slice(-4000)}`);
      }
    },
    kill9,
  };
}

/** Waits until a log line with this message appears after the `after`-th line; returns it. */
export async function waitForLogLine(relay: RelayProcess, msg: string, after: number): Promise<Record<string, unknown>> {
  for (let i = 0; i < 1200; i++) {
    const found = relay.logLines().slice(after).find((l) => l.msg === msg);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`no "${msg}" log line:\n${relay.stderr().slice(-3000)}`);
}
