/**
 * The single executable (dist/tocsin, built by scripts/run-tests.mjs before this file runs): it knows its
 * version and commit, its sha256 file matches, and started with zero config in a directory that holds only a
 * .env and a bunfig.toml it must not read, it serves on the embedded defaults (migrations included).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { BINARY, binaryCommand, REPO_ROOT } from './relay-process.ts';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

test('the binary: --version prints the version and the commit it was built from', () => {
  const cmd = binaryCommand(['--version']);
  const out = execFileSync(cmd.file, cmd.args, { cwd: tmpdir(), encoding: 'utf8' });
  const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  assert.match(out, new RegExp(`^tocsin ${VERSION.replace(/\./g, '\\.')} \\(${head}(-dirty)?\\)\\n$`));
});

test('the binary\'s .sha256 file matches it, in sha256sum format', () => {
  const sum = createHash('sha256').update(readFileSync(BINARY)).digest('hex');
  assert.equal(readFileSync(`${BINARY}.sha256`, 'utf8'), `${sum}  ${basename(BINARY)}\n`);
});

test('zero config from an empty directory: embedded defaults, no .env or bunfig.toml read', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-bin-'));
  // If either file were read, the relay would look for a config that does not exist, or run a preload.
  writeFileSync(join(dir, '.env'), 'TOCSIN_CONFIG=/nonexistent/tocsin.yaml\n');
  writeFileSync(join(dir, 'bunfig.toml'), 'preload = ["./preload.ts"]\n');
  writeFileSync(join(dir, 'preload.ts'), `require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'PRELOADED'))}, 'x');\n`);
  const env = { ...process.env };
  delete env.TOCSIN_CONFIG;
  const cmd = binaryCommand(['serve', '--listen', '127.0.0.1:0']);
  const proc = spawn(cmd.file, cmd.args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line:\n${stderr}`)), 60_000);
      proc.stderr.on('data', () => {
        const m = /"listen":"127\.0\.0\.1:(\d+)"/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      proc.once('exit', (code) => reject(new Error(`exited with ${code}:\n${stderr}`)));
    });
    const res = await fetch(`http://127.0.0.1:${port}/v1/alarms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'BinarySmoke', severity: 'info', summary: 'hello from the binary' }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { alarm_ids } = (await res.json()) as { alarm_ids: string[] };
    // The built-in log method prints the notification on stdout.
    const deadline = Date.now() + 10_000;
    while (!stdout.includes(alarm_ids[0]!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    const line = JSON.parse(stdout.split('\n').find((l) => l.includes(alarm_ids[0]!)) ?? 'null') as { alarm?: { summary?: string } } | null;
    assert.equal(line?.alarm?.summary, 'hello from the binary');
    assert.ok(existsSync(join(dir, 'data', 'tocsin.db')), 'the default data directory is ./data');
    assert.ok(!existsSync(join(dir, 'PRELOADED')), 'bunfig.toml was read');
    assert.match(stderr, /"runtime":"bun","sqlite":"bun:sqlite"/);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(proc.exitCode, 0, stderr);
});

test('docs/tocsin.hardened.yaml passes check-config with the binary', () => {
  const creds = mkdtempSync(join(tmpdir(), 'tocsin-creds-'));
  try {
    writeFileSync(join(creds, 'zeebe.token'), 'a3f1c2d4e5b6a7980112233445566778\n');
    const cmd = binaryCommand(['check-config', '--config', join(REPO_ROOT, 'docs', 'tocsin.hardened.yaml')]);
    const out = execFileSync(cmd.file, cmd.args, {
      cwd: tmpdir(),
      encoding: 'utf8',
      env: { ...process.env, TOCSIN_CREDENTIALS: creds, OPS_HOOK_URL: 'https://hooks.example/alerts' },
    });
    assert.match(out, /tocsin\.hardened\.yaml: ok\n$/);
  } finally {
    rmSync(creds, { recursive: true, force: true });
  }
});
