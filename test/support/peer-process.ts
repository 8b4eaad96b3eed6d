/**
 * Real peers run as child processes by the end-to-end tests (Debian's Prometheus, Alertmanager): started
 * on loopback, waited for until ready, stopped by PID at the end of the test (and SIGKILLed if this process
 * exits first), with what they print kept for diagnostics; cleanups that run even when one fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A child process stopped by its PID: SIGTERM, then SIGKILL after 5 s. */
export async function stopChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  process.kill(p.pid, 'SIGTERM');
  const timer = setTimeout(() => p.pid !== undefined && p.exitCode === null && process.kill(p.pid, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Registers a cleanup: see cleanups. */
export type Later = (f: () => unknown) => void;

/**
 * Cleanups run in reverse order of registration (processes stopped before their directories are removed),
 * each one even when an earlier one fails; the first failure is rethrown.
 */
export function cleanups(t: TestContext): Later {
  const stack: (() => unknown)[] = [];
  t.after(async () => {
    let first: unknown;
    for (const f of stack.reverse()) {
      try {
        await f();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  });
  return (f) => stack.push(f);
}

/** SIGKILLs the child if this process exits first (a test runner killed mid-test). */
export function killOnExit(p: ChildProcess): void {
  const kill = () => {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  };
  process.once('exit', kill);
  p.once('exit', () => process.off('exit', kill));
}

/** Polls `url` until it answers 200 (or the process exits, or the time is up). */
export async function waitReady(url: string, p: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (p.exitCode !== null || p.signalCode !== null) throw new Error(`exited with ${p.exitCode ?? p.signalCode}\n${output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms\n${output()}`);
    await sleep(100);
  }
}

export interface PeerProcess {
  readonly child: ChildProcess;
  /** The last 20,000 characters it wrote (stdout and stderr, interleaved). */
  readonly output: () => string;
}

export interface StartPeerOptions {
  /** Where its stop is registered (see cleanups). */
  readonly later: Later;
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** Polled until it answers 200 (see waitReady). */
  readonly readyUrl: string;
  readonly readyTimeoutMs: number;
}

/**
 * Spawns `file args` in `cwd`, stopped by PID at cleanup (and SIGKILLed if this process exits first), its
 * output kept; resolves once `readyUrl` answers 200, rejects if it exits first or the time is up.
 */
export async function startPeer(o: StartPeerOptions): Promise<PeerProcess> {
  let output = '';
  const child = spawn(o.file, o.args, { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  o.later(() => stopChild(child));
  killOnExit(child);
  const keep = (c: string) => (output = (output + c).slice(-20_000));
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  await waitReady(o.readyUrl, child, o.readyTimeoutMs, () => output);
  return { child, output: () => output };
}
