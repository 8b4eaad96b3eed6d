/**
 * What the benchmarks (scripts/bench.ts, scripts/bench-compare.ts) share: time and statistics, the child
 * processes (the sink and the load generator forked with tsx, the relays and Alertmanager spawned), what
 * /proc says about a process, and seeding an outbox backlog.
 * Every child started here is SIGKILLed when this process exits (killChildren stops them earlier).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO_ROOT } from '../../test/e2e/relay-process.ts';

export { freePort } from '../../test/e2e/relay-process.ts';

export const root = REPO_ROOT;
export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const r2 = (x: number) => Math.round(x * 100) / 100;

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Kill `child` with SIGKILL when this process exits, unless it has exited by then. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERMs every child still running, then SIGKILLs those still there after `graceMs`. */
export async function killChildren(graceMs = 3000): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, graceMs)));
}

/** SIGTERM, and SIGKILL after `graceMs`; resolves once it has exited. Returns true if it had to be killed. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(false);
  return new Promise((resolve) => {
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(killed);
    });
    child.kill('SIGTERM');
  });
}

/** Forks a TypeScript file of the repository with tsx; resolves with its first IPC message. */
export function forkTs(file: string): Promise<{ child: ChildProcess; first: Record<string, unknown> }> {
  const child = track(fork(join(root, file), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, first: m as Record<string, unknown> }));
    child.once('exit', (code) => reject(new Error(`${file} exited ${code}`)));
  });
}

/** Sends `msg` and resolves with the next message; with `timeoutMs`, rejects after it naming `what`. */
export function ask<T>(child: ChildProcess, msg: unknown, timeoutMs?: number, what = 'an answer'): Promise<T> {
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onMessage = (m: unknown) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      reject(new Error(`child ${child.pid} exited (${code}) before sending ${what}`));
    };
    child.once('message', onMessage);
    child.once('exit', onExit);
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        child.off('message', onMessage);
        child.off('exit', onExit);
        reject(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`));
      }, timeoutMs);
    }
    child.send(msg as object);
  });
}

/** CPU time (user + system) the process has used so far, in ms (Linux: /proc/PID/stat, clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function statusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return r2(kb / 1024);
}

/** The process's peak resident set so far (VmHWM), MiB. */
export const peakRssMiB = (pid: number) => statusMiB(pid, 'VmHWM');
/** The process's resident set now (VmRSS), MiB. */
export const rssMiB = (pid: number) => statusMiB(pid, 'VmRSS');

export interface SeedOptions {
  /** The method the notifications wait for. */
  readonly method: string;
  /**
   * Without: empty labels and annotations, every time 1 (a backlog nobody delivers). With: created now, and
   * alarms the sink tells apart (labels seq, phase; annotations bench_sent, bench_phase).
   */
  readonly phase?: string;
}

/** Fills the (migrated) database in dataDir with `n` pending notifications for `method`, one alarm each. */
export function seedBacklog(dataDir: string, n: number, opts: SeedOptions): void {
  const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => {
    prepare(sql: string): { run(...params: unknown[]): unknown };
    close(): void;
  };
  const db = new Database(join(dataDir, 'tocsin.db'));
  const at = opts.phase === undefined ? 1 : Date.now();
  const labels = opts.phase === undefined ? `'{}'` : `json_object('seq', CAST(i AS TEXT), 'phase', @phase)`;
  const annotations = opts.phase === undefined ? `'{}'` : `json_object('bench_sent', CAST(@at AS TEXT), 'bench_phase', @phase)`;
  const params = { n, at, method: opts.method, phase: opts.phase ?? '' };
  db.prepare('BEGIN').run();
  db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @n)
    INSERT INTO alarms (id, source, name, severity, status, labels, annotations, occurred_at, received_at, dedup_key, routed_to)
      SELECT 'alm_backlog_' || i, 'bench', 'Backlog', 'info', 'firing', ${labels}, ${annotations}, @at, @at, 'k' || i, 1 FROM n`,
  ).run(params);
  db.prepare(
    `INSERT INTO notifications (id, alarm_id, alarm_count, method, state, attempts, created_at, next_attempt_at)
      SELECT 'ntf' || substr(id, 4), id, 1, @method, 'pending', 0, @at, @at FROM alarms WHERE source = 'bench'`,
  ).run(params);
  db.prepare('COMMIT').run();
  db.close();
}

/** A child process whose stderr (the newest `keep` characters) is kept for error messages. */
export interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  stderr(): string;
  /** SIGTERM; SIGKILL after `graceMs` (default 15 s). */
  stop(graceMs?: number): Promise<void>;
}

export function spawnTracked(name: string, file: string, args: string[], cwd: string, keep = 16_384): Spawned {
  const child = track(spawn(file, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err = (err + c).slice(-keep);
  });
  child.once('error', (e) => {
    err += `\n${name}: ${e.message}`;
  });
  return {
    child,
    pid: child.pid ?? -1,
    stderr: () => err,
    async stop(graceMs = 15_000) {
      if (await stopChild(child, graceMs)) console.error(`${name} did not exit within ${graceMs} ms of SIGTERM: killed it`);
    },
  };
}

/** Polls `url` until it answers 200; rejects naming `what` if `proc` exits or `timeoutMs` passes first. */
export async function waitHttpOk(url: string, proc: Spawned, timeoutMs: number, what: string): Promise<void> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const { exitCode, signalCode } = proc.child;
    if (exitCode !== null || signalCode !== null) {
      throw new Error(`${what} exited (${exitCode ?? signalCode}) before ${url} answered 200\n--- stderr ---\n${proc.stderr().slice(-4000)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      /* not yet */
    }
    if (now() > deadline) throw new Error(`${what}: ${url} did not answer 200 within ${Math.round(timeoutMs / 1000)} s\n--- stderr ---\n${proc.stderr().slice(-4000)}`);
    await sleep(25);
  }
}
