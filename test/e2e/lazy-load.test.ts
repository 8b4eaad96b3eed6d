/**
 * Each CLI command loads only what it needs: `--version` and `--help` load the CLI alone, `check-config`
 * the config parser but not the relay, and a zero-config `serve` neither the YAML parser nor the schema.
 * What a command loads is recorded by a module hook (test/support/record-imports.mjs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './relay-process.ts';

const MAIN = join(REPO_ROOT, 'src', 'main.ts');
const HOOK = join(REPO_ROOT, 'test', 'support', 'record-imports.mjs');

/** Runs the CLI until it exits (or, with `until`, until stderr contains it; then SIGTERM); returns the loaded module URLs. */
async function loaded(args: string[], until?: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-lazy-'));
  const log = join(dir, 'imports.log');
  writeFileSync(log, '');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'NODE_TEST_CONTEXT' && k !== 'TOCSIN_CONFIG') env[k] = v;
  env.TOCSIN_IMPORT_LOG = log;
  try {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--import', HOOK, MAIN, ...args], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      if (until && stderr.includes(until)) child.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.ok(until ? stderr.includes(until) : code !== null, `${args.join(' ')}: ${stderr}`);
    return readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ours = (urls: string[]) => urls.filter((u) => u.includes('/src/')).map((u) => u.slice(u.indexOf('/src/') + 1));
const packages = (urls: string[]) => [...new Set(urls.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []))];

test('--version and --help load the CLI alone', async () => {
  for (const args of [['--version'], ['--help']]) {
    const urls = await loaded(args);
    assert.deepEqual(ours(urls).sort(), ['src/main.ts', 'src/version.ts'], args[0]);
    assert.deepEqual(packages(urls).filter((p) => p !== 'tsx' && p !== 'get-tsconfig' && p !== 'resolve-pkg-maps'), [], args[0]);
  }
});

test('check-config loads the config parser, not the relay', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-lazy-conf-'));
  try {
    const file = join(dir, 'tocsin.yaml');
    writeFileSync(file, 'log_level: warn\n');
    const urls = await loaded(['check-config', '--config', file]);
    const src = ours(urls);
    assert.ok(src.includes('src/config/parse.ts'));
    for (const m of ['src/app.ts', 'src/serve.ts', 'src/runtime/relay.ts', 'src/outbox/store.ts', 'src/http/server.ts']) assert.ok(!src.includes(m), m);
    for (const p of ['pino', 'prom-client', 'hono', 'drizzle-orm', 'better-sqlite3', 'undici']) assert.ok(!packages(urls).includes(p), p);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a zero-config serve loads neither the YAML parser nor the config schema; metrics load without the Pushgateway', async () => {
  const urls = await loaded(['serve', '--listen', '127.0.0.1:0'], 'tocsin ready');
  const src = ours(urls);
  for (const m of ['src/config/parse.ts', 'src/config/schema.ts', 'src/config/load.ts']) assert.ok(!src.includes(m), m);
  assert.ok(!packages(urls).includes('yaml'), 'yaml');
  assert.ok(!packages(urls).includes('nodemailer'), 'nodemailer (loaded by the first mail only)');
  assert.ok(src.includes('src/app.ts'), 'the app is loaded (after listening)');
  assert.ok(!urls.some((u) => /prom-client\/(index\.js|lib\/(pushgateway|cluster)\.js)$/.test(u)), 'prom-client index, Pushgateway or cluster loaded');
});

test('without a kafka section no Kafka code is loaded; with one, kafkajs and src/kafka load when the relay starts', async () => {
  const plain = await loaded(['serve', '--listen', '127.0.0.1:0'], 'tocsin ready');
  assert.ok(!packages(plain).includes('kafkajs'), 'kafkajs loaded without kafka:');
  assert.deepEqual(ours(plain).filter((m) => m.startsWith('src/kafka/')), []);
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-lazy-kafka-'));
  try {
    const file = join(dir, 'tocsin.yaml');
    // A broker nobody listens on: the relay starts anyway (HTTP ingest works) and keeps trying.
    writeFileSync(file, `data_dir: ${JSON.stringify(join(dir, 'data'))}\nkafka:\n  brokers: [127.0.0.1:9]\n  topics: [{ name: alarms, format: alarm }]\n`);
    const urls = await loaded(['serve', '--config', file, '--listen', '127.0.0.1:0'], 'Kafka consumer could not start');
    assert.ok(packages(urls).includes('kafkajs'));
    assert.ok(ours(urls).includes('src/kafka/service.ts'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
