#!/usr/bin/env node
// The whole test suite:
//  1. builds dist/tocsin (the end-to-end tests run it) when a selected test needs it;
//  2. runs every *.test.ts under src/ and test/ with Node's test runner (TypeScript through tsx);
//  3. runs the runtime-portable suites again on Bun and on Deno: the outbox repository and the SQLite
//     adapter (so every SQLite driver is tested: bun:sqlite, node:sqlite), the write lock shared by two
//     threads (Atomics on each runtime), and the outbound HTTP client
//     contract (their fetch);
//     both runtimes come from node_modules (bun; @deno/linux-x64-glibc, or $DENO).
// Extra arguments are file filters: `npm test -- outbox` runs the files whose path contains "outbox".
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { build } from './build.mjs';
import { kafkaTestEnv, startKafkaForSuite, stopKafkaIfStarted } from './kafka-peer.mjs';

/** Deno from node_modules (@deno/linux-x64-glibc, an optional dependency), or wherever $DENO says. */
const DENO = process.env.DENO || 'node_modules/@deno/linux-x64-glibc/deno';

/** Run on every runtime, not only on Node. */
const ALL_RUNTIMES = ['src/config/matcher.test.ts', 'src/outbox/store.test.ts', 'src/outbox/group-commit.test.ts', 'src/outbox/shared-ledger.test.ts', 'src/outbox/write-lock.test.ts', 'src/runtime/sqlite-adapter.test.ts', 'src/runtime/http-client.test.ts', 'src/channels/basic-auth.test.ts', 'src/outbox/rebase.test.ts', 'src/lib/monotonic-clock.test.ts', 'src/outbox/canary-runs.test.ts', 'src/canary/run.test.ts', 'src/canary/ping.test.ts', 'src/outbox/handoff.test.ts', 'src/kafka/cluster.test.ts', 'src/outbox/order.test.ts', 'src/ingest/lifecycle.test.ts', 'src/outbox/migrate-lifecycle.test.ts', 'src/checks/schedule.test.ts', 'src/checks/transitions.test.ts', 'src/outbox/dead-letters.test.ts'];
/** These start dist/tocsin. */
/** These need a Kafka broker: scripts/kafka is started for them (and stopped after, if started here). */
const NEEDS_KAFKA = (f) => f.includes('kafka');
const NEEDS_BINARY = ['test/e2e/kafka-crash.test.ts', 'test/e2e/kafka-cluster.test.ts', 'test/e2e/targets.test.ts', 'test/e2e/canary.test.ts', 'test/e2e/disk-full.test.ts', 'test/e2e/data-dir.test.ts', 'test/e2e/binary.test.ts', 'test/e2e/crash.test.ts', 'test/e2e/reload.test.ts', 'test/e2e/startup.test.ts', 'test/e2e/process-edges.test.ts', 'test/e2e/canary-status.test.ts'];

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('src', walk('test', []))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

function run(what, file, args, env = {}) {
  console.log(`\n== ${what}`);
  const r = spawnSync(file, args, { stdio: 'inherit', env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', ...env } });
  if (r.error) console.error(`could not run ${file}: ${r.error.message}`);
  return r.status === 0;
}

// TOCSIN_TEST_BINARY names another, already built binary (e.g. a cross-compiled one: see .ci/run).
if (!process.env.TOCSIN_TEST_BINARY && files.some((f) => NEEDS_BINARY.includes(f))) {
  console.log('== npm run build (dist/tocsin, for the end-to-end tests)');
  build();
}

// A peer the suite can start itself: the Kafka broker (a test that needs it skips loudly without it).
const broker = !process.env.TOCSIN_TEST_KAFKA && files.some(NEEDS_KAFKA) ? startKafkaForSuite() : undefined;
if (broker?.error) console.error(`*** no Kafka broker for the Kafka tests: ${broker.error}`);
const results = [];
results.push(['node', run(`node: ${files.length} files`, process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], broker ? kafkaTestEnv(broker) : {})]);
if (broker) stopKafkaIfStarted(broker.startedHere);
const everywhere = process.env.TOCSIN_TEST_BINARY ? [] : files.filter((f) => ALL_RUNTIMES.includes(f));
if (everywhere.length > 0) {
  results.push(['bun', run(`bun: ${everywhere.join(' ')}`, 'node_modules/.bin/bun', ['test', ...everywhere])]);
  results.push(['deno', run(`deno: ${everywhere.join(' ')}`, DENO, ['test', '--no-check', '--allow-read', '--allow-write', '--allow-env', '--allow-sys', '--allow-net', ...everywhere])]);
}
const failed = results.filter(([, ok]) => !ok).map(([name]) => name);
console.log(`\n== ${failed.length === 0 ? 'all passed' : `FAILED on: ${failed.join(', ')}`} (${results.map(([n]) => n).join(', ')})`);
process.exit(failed.length === 0 ? 0 : 1);
