/**
 * Runs `tocsin GROUP ARGS...` (`node --import tsx src/main.ts ...`) as a child process to its end, for the
 * e2e tests of the admin commands (`tocsin silence`, `tocsin check`). Children still running when the test
 * process exits are killed.
 */
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
