/**
 * Runs `tocsin GROUP ARGS...` (`node --import tsx src/main.ts ...`) as a child process to its end, for the
 * e2e tests of the admin commands (`tocsin silence`, `tocsin check`). Children still running when the test
 * process exits are killed. Also the checks those tests share: no token printed, and usage errors.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../e2e/relay-process.ts';

const MAIN = join(REPO_ROOT, 'src', 'main.ts');
const TSX = import.meta.resolve('tsx');

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const children = new Set<ReturnType<typeof spawn>>();
let hooked = false;

/** A runner of `tocsin GROUP ARGS...`; env: TOCSIN_URL / TOCSIN_TOKEN (none unless given); killed after timeoutMs. */
export function cliRunner(group: string, timeoutMs: number): (args: string[], env?: Record<string, string>) => Promise<Run> {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
  }
  return (args, env = {}) => {
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) childEnv[k] = v;
    for (const k of ['NODE_TEST_CONTEXT', 'TOCSIN_CONFIG', 'TOCSIN_URL', 'TOCSIN_TOKEN']) delete childEnv[k];
    const proc = spawn(process.execPath, ['--import', TSX, MAIN, group, ...args], {
      cwd: REPO_ROOT,
      env: { ...childEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    return new Promise((resolve) => {
      proc.once('close', (code) => {
        clearTimeout(timer);
        children.delete(proc);
        resolve({ code, stdout, stderr });
      });
    });
  };
}

/** A check of a run: none of `tokens` is printed on its stdout or stderr. */
export function printsNoToken(tokens: readonly string[]): (r: Run) => void {
  return (r) => {
    for (const t of tokens) assert.ok(!r.stdout.includes(t) && !r.stderr.includes(t), 'a token is printed');
  };
}

/** A usage error: the arguments, how stderr starts, and a part of the usage that stderr includes. */
export type UsageCase = [args: string[], head: string, usage: string];

/**
 * Runs every case (a few at a time: many tsx start-ups at once can outlast the per-run timeout on a busy
 * machine) and asserts each exits 2 with its head and usage on stderr, nothing on stdout; `check` each too.
 */
export async function assertUsageErrors(run: (args: string[]) => Promise<Run>, cases: readonly UsageCase[], check: (r: Run) => void): Promise<void> {
  const runs: Run[] = [];
  for (let i = 0; i < cases.length; i += 5) runs.push(...(await Promise.all(cases.slice(i, i + 5).map(([args]) => run(args)))));
  runs.forEach((r, i) => {
    const [args, head, usage] = cases[i]!;
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(head), `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(usage), `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', args.join(' '));
    check(r);
  });
}
