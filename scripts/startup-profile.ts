/**
 * `npx tsx scripts/startup-profile.ts [--runs N] [--runtime node|bun] [--out DIR]`: what each heavy
 * dependency of the relay costs at startup.
 * For every module below, N times (default 11): a fresh process of the chosen runtime (node, or
 * node_modules/.bin/bun) runs `t0 = performance.now(); await import(x); performance.now() - t0` from the repo
 * root and prints the result. Reports the median import time, the same minus the baseline (an empty module,
 * i.e. the import machinery alone), the CPU time (user + system, all threads) the import took, which is
 * less disturbed by other load on the machine, and the median wall time of the whole process (spawn → exit,
 * so the runtime's own start is visible in the baseline row). One module per process, without tsx's loader
 * (plain node or bun); one unmeasured run first warms the OS file cache. prom-client is also measured piece
 * by piece (what the relay would load without its index, which pulls in cluster, pushgateway and all
 * default metrics).
 * Prints a table and writes JSON to DIR/startup-modules-<runtime>.json (DIR defaults to bench-results).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '11' },
    runtime: { type: 'string', default: 'node' },
    out: { type: 'string', default: 'bench-results' },
  },
});
const runs = Number(opt.runs);
const runtime = opt.runtime!;
if (runtime !== 'node' && runtime !== 'bun') throw new Error('--runtime must be node or bun');
const root = new URL('..', import.meta.url).pathname;
const BUN = join(root, 'node_modules', '.bin', 'bun');

const empty = join(mkdtempSync(join(tmpdir(), 'startup-profile-')), 'empty.mjs');
writeFileSync(empty, 'export {};\n');
const MODULES: [label: string, specifier: string][] = [
  ['(baseline: empty module)', pathToFileURL(empty).href],
  ['prom-client', 'prom-client'],
  ['prom-client/lib/registry.js', 'prom-client/lib/registry.js'],
  ['prom-client/lib/counter.js', 'prom-client/lib/counter.js'],
  ['prom-client/lib/gauge.js', 'prom-client/lib/gauge.js'],
  ['prom-client/lib/histogram.js', 'prom-client/lib/histogram.js'],
  ['prom-client/lib/defaultMetrics.js', 'prom-client/lib/defaultMetrics.js'],
  ['yaml', 'yaml'],
  ['zod', 'zod'],
  ['hono', 'hono'],
  ['@hono/node-server', '@hono/node-server'],
  ['drizzle-orm', 'drizzle-orm'],
  ['drizzle-orm/better-sqlite3', 'drizzle-orm/better-sqlite3'],
  ['better-sqlite3', 'better-sqlite3'],
  ['undici', 'undici'],
  ['pino', 'pino'],
  ['lossless-json', 'lossless-json'],
  ['eta', 'eta'],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r2 = (x: number) => Math.round(x * 100) / 100;
const env = { ...process.env, NODE_OPTIONS: '' }; // no tsx or other loaders in the children

/** One fresh process importing `specifier`: [import ms, import CPU ms, both measured inside; wall ms spawn → exit]. */
function importOnce(specifier: string): [number, number, number] {
  const code =
    `const c0 = process.cpuUsage(), t0 = performance.now(); await import(${JSON.stringify(specifier)}); ` +
    `const ms = performance.now() - t0, c = process.cpuUsage(c0); console.log(ms, (c.user + c.system) / 1000);`;
  const [file, args] = runtime === 'bun' ? [BUN, ['-e', code]] : [process.execPath, ['--input-type=module', '-e', code]];
  const t0 = performance.now();
  const r = spawnSync(file, args, { cwd: root, env, encoding: 'utf8' });
  const wall = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${runtime} failed to import ${specifier}: ${r.stderr}`);
  const [ms, cpu] = r.stdout.trim().split('\n').pop()!.split(' ').map(Number);
  return [ms!, cpu!, wall];
}

const version = spawnSync(runtime === 'bun' ? BUN : process.execPath, ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(`${runtime} ${version}, median of ${runs} fresh processes per module`);
const rows = [];
for (const [label, specifier] of MODULES) {
  importOnce(specifier); // warm the OS file cache (and Bun's transpiler cache), not counted
  const samples = Array.from({ length: runs }, () => importOnce(specifier));
  const [ms, cpu, wall] = [0, 1, 2].map((i) => r2(median(samples.map((s) => s[i]!))));
  rows.push({ module: label, import_ms: ms!, import_cpu_ms: cpu!, process_wall_ms: wall! });
}
const base = rows[0]!;
const table = rows.map(({ module, import_ms, import_cpu_ms, process_wall_ms }) => ({
  module,
  import_ms,
  import_minus_baseline_ms: r2(import_ms - base.import_ms),
  import_cpu_ms,
  process_wall_ms,
}));
console.table(table);
rmSync(dirname(empty), { recursive: true, force: true });

mkdirSync(opt.out!, { recursive: true });
const file = join(opt.out!, `startup-modules-${runtime}.json`);
const result = { date: new Date().toISOString(), runtime: `${runtime} ${version}`, runs, modules: table };
writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
console.log(`written to ${file}`);
