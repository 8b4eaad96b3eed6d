/**
 * `npm run bench [-- --target node|binary|bun|deno]`: end-to-end benchmark of the relay.
 * Targets: node (src/main.ts through tsx, as `npm start`), binary (dist/tocsin, rebuilt first), bun and deno
 * (from source).
 * Three processes: a webhook sink, the relay (durable, synchronous=FULL by default) and a load generator.
 * Phase 0 (startup): launch to listening, median of --startup-runs: with a config file on an existing database
 * and on a fresh one, with no config at all (zero-config, empty directory), and with --startup-backlog pending
 * notifications in the database; plus the relay's own startup_ms and ready_ms (listening → app ready).
 * Phase 1 (throughput): closed-loop POSTs of single alarms; accepted/s and delivered/s end to end.
 * Phase 2 (latency): open-loop at each offered rate in turn; p50/p99 ingest-ack and p99 end-to-end latency.
 * Prints the results and writes them as JSON to bench-results/ (bench-<target>-<date>.json, latest-<target>.json).
 * `npm run bench -- --kafka [--target binary|node]` runs the Kafka benchmark instead (scripts/bench-kafka.ts);
 * `npm run bench -- --lifecycle` what the alarm lifecycle costs per alarm (scripts/bench-lifecycle.ts);
 * `npm run bench -- --operate` what dead-letter replay/discard and the /metrics gauges cost (scripts/bench-operate.ts).
 * Options: --target T --total N --concurrency C --rate R[,R...] --seconds S --method-concurrency M
 *          --synchronous FULL|NORMAL --startup-runs N --startup-backlog N --out DIR
 *          --node-args "--cpu-prof --cpu-prof-dir=/tmp/prof" (extra Node flags for the relay, e.g. to profile it)
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BINARY, DENO_BINARY, relayCommand as targetCommand } from '../test/e2e/relay-process.ts';
import { ask, cpuMs, forkTs, freePort, now, peakRssMiB, percentile, r2, root, rssMiB, seedBacklog, sleep } from './bench/common.ts';
import type { LoadResult, SinkStats } from './bench/protocol.ts';

// `--kafka` hands over to the Kafka benchmark (scripts/bench-kafka.ts) with the other arguments.
if (process.argv.includes('--kafka')) {
  const { runKafkaBench } = await import('./bench-kafka.ts');
  process.exit(await runKafkaBench(process.argv.slice(2).filter((a) => a !== '--kafka')));
}
// `--operate`: what dead-letter replay/discard and the /metrics gauges cost, in process (scripts/bench-operate.ts).
if (process.argv.includes('--operate')) {
  const { runOperateBench } = await import('./bench-operate.ts');
  process.exit(await runOperateBench(process.argv.slice(2).filter((a) => a !== '--operate')));
}
// `--lifecycle`: what the alarm lifecycle costs per alarm, in process (scripts/bench-lifecycle.ts).
if (process.argv.includes('--lifecycle')) {
  const { runLifecycleBench } = await import('./bench-lifecycle.ts');
  process.exit(await runLifecycleBench(process.argv.slice(2).filter((a) => a !== '--lifecycle')));
}

const { values: opt } = parseArgs({
  options: {
    total: { type: 'string', default: '60000' },
    concurrency: { type: 'string', default: '128' },
    rate: { type: 'string', default: '5000,2000' },
    seconds: { type: 'string', default: '10' },
    'method-concurrency': { type: 'string', default: '64' },
    synchronous: { type: 'string', default: 'FULL' },
    out: { type: 'string', default: 'bench-results' },
    'node-args': { type: 'string', default: '' },
    target: { type: 'string', default: 'node' },
    'startup-runs': { type: 'string', default: '21' },
    'startup-backlog': { type: 'string', default: '1000000' },
  },
});
const TARGETS = ['node', 'binary', 'bun', 'deno'] as const;
type Target = (typeof TARGETS)[number];
if (!(TARGETS as readonly string[]).includes(opt.target!)) {
  console.error(`--target must be one of ${TARGETS.join(', ')}`);
  process.exit(2);
}
const target = opt.target as Target;
const num = (k: keyof typeof opt) => Number(opt[k]);

const BUN = join(root, 'node_modules', '.bin', 'bun');

/** The relay's command line on the chosen target: the end-to-end tests' own, plus Bun from source. */
function relayCommand(configFile: string): { file: string; args: string[]; cwd: string } {
  if (target === 'bun') return { file: BUN, args: [join(root, 'src/main.ts'), 'serve', '--config', configFile], cwd: root };
  const cmd = targetCommand(target, configFile, root);
  const nodeArgs = target === 'node' && opt['node-args'] ? opt['node-args'].split(' ') : [];
  return { ...cmd, args: [...nodeArgs, ...cmd.args] };
}

function runtimeVersion(): string {
  switch (target) {
    case 'node':
      return `node ${process.version}`;
    case 'binary':
      return `${execFileSync(BINARY, ['--version'], { encoding: 'utf8' }).trim()} (bun ${execFileSync(BUN, ['--version'], { encoding: 'utf8' }).trim()})`;
    case 'bun':
      return `bun ${execFileSync(BUN, ['--version'], { encoding: 'utf8' }).trim()} (from source)`;
    case 'deno':
      return execFileSync(DENO_BINARY, ['--version'], { encoding: 'utf8' }).split('\n')[0]!;
  }
}

interface StartupSample {
  /** Launch → the "tocsin listening" line as seen here (spawn and pipe included). */
  readonly ms: number;
  /** The relay's own startup_ms (since its process started). */
  readonly reported: number;
  /** The relay's ready_ms: the app built and started, requests served. */
  readonly ready: number;
}

/** Starts the relay with `args` in `cwd`, waits for "tocsin ready", stops it. */
async function startupWith(cmd: { file: string; args: string[]; cwd: string }): Promise<StartupSample> {
  const t0 = now();
  const child = spawn(cmd.file, cmd.args, { cwd: cmd.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const sample = await new Promise<StartupSample>((resolve, reject) => {
    let err = '';
    let listenedAt: number | undefined;
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      err += c;
      const lines = err.split('\n');
      const line = lines.find((l) => l.includes('"msg":"tocsin listening"'));
      if (line && listenedAt === undefined) listenedAt = now() - t0;
      const ready = lines.find((l) => l.includes('"msg":"tocsin ready"'));
      if (line && ready && listenedAt !== undefined) {
        resolve({ ms: listenedAt, reported: (JSON.parse(line) as { startup_ms: number }).startup_ms, ready: (JSON.parse(ready) as { ready_ms: number }).ready_ms });
      }
    });
    child.once('exit', (code) => reject(new Error(`relay exited ${code} before it was ready: ${err}`)));
  });
  child.removeAllListeners('exit');
  await new Promise((r) => {
    child.once('exit', r);
    child.kill('SIGTERM');
  });
  return sample;
}

/** With a config file (listen, data_dir, log_level) on `dataDir`. */
async function startupOnce(dataDir: string): Promise<StartupSample> {
  const port = await freePort();
  const configFile = join(dataDir, '..', `startup-${port}.yaml`);
  writeFileSync(configFile, `listen: 127.0.0.1:${port}\ndata_dir: ${dataDir}\nlog_level: info\n`);
  return startupWith(relayCommand(configFile));
}

/** With no config at all, in an empty directory (data in ./data): only --listen for a free port. */
async function zeroConfigOnce(cwd: string): Promise<StartupSample> {
  const cmd = relayCommand('unused');
  // Run in `cwd`: paths the command gives relative to the repository become absolute.
  const args = cmd.args
    .slice(0, cmd.args.indexOf('--config'))
    .map((a) => (a === 'tsx' ? import.meta.resolve('tsx') : a === 'src/main.ts' ? join(root, a) : a));
  mkdirSync(cwd, { recursive: true });
  return startupWith({ file: cmd.file, args: [...args, '--listen', `127.0.0.1:${await freePort()}`], cwd });
}

const stats = (xs: number[]) => ({ median_ms: r2(percentile(xs, 50)), min_ms: r2(Math.min(...xs)), max_ms: r2(Math.max(...xs)) });

async function measureStartup(dir: string, runs: number, backlog: number) {
  const existing = join(dir, 'startup-existing');
  await startupOnce(existing); // creates and migrates the database
  const warm: StartupSample[] = [];
  const fresh: number[] = [];
  const zero: StartupSample[] = [];
  for (let i = 0; i < runs; i++) {
    warm.push(await startupOnce(existing));
    const fdir = join(dir, `startup-fresh-${i}`);
    fresh.push((await startupOnce(fdir)).ms);
    rmSync(fdir, { recursive: true, force: true });
    const zdir = join(dir, `startup-zero-${i}`);
    zero.push(await zeroConfigOnce(zdir));
    rmSync(zdir, { recursive: true, force: true });
  }
  let withBacklog: Record<string, unknown> | undefined;
  if (backlog > 0) {
    const bdir = join(dir, 'startup-backlog');
    await startupOnce(bdir);
    seedBacklog(bdir, backlog, { method: 'parked' }); // a method the startup config lacks
    const samples: StartupSample[] = [];
    for (let i = 0; i < Math.min(runs, 7); i++) samples.push(await startupOnce(bdir));
    withBacklog = {
      pending_notifications: backlog,
      runs: samples.length,
      ...stats(samples.map((x) => x.ms)),
      relay_reported_median_ms: r2(percentile(samples.map((x) => x.reported), 50)),
      ready_median_ms: r2(percentile(samples.map((x) => x.ready), 50)),
    };
    rmSync(bdir, { recursive: true, force: true });
  }
  return {
    runs,
    ...stats(warm.map((x) => x.ms)),
    relay_reported_median_ms: r2(percentile(warm.map((x) => x.reported), 50)),
    ready_median_ms: r2(percentile(warm.map((x) => x.ready), 50)),
    fresh_database_median_ms: r2(percentile(fresh, 50)),
    zero_config: {
      ...stats(zero.map((x) => x.ms)),
      relay_reported_median_ms: r2(percentile(zero.map((x) => x.reported), 50)),
      ready_median_ms: r2(percentile(zero.map((x) => x.ready), 50)),
    },
    ...(withBacklog ? { with_backlog: withBacklog } : {}),
  };
}

async function main() {
  if (target === 'binary') {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  }
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-bench-'));
  const startup = await measureStartup(dir, num('startup-runs'), num('startup-backlog'));
  console.log(`startup: ${JSON.stringify(startup)}`);
  const { child: sink, first } = await forkTs('scripts/bench/sink.ts');
  const sinkPort = first.ready as number;
  const port = await freePort();
  const settings = {
    total: num('total'),
    load_concurrency: num('concurrency'),
    latency_rates: opt.rate!.split(',').map(Number),
    latency_seconds: num('seconds'),
    method_concurrency: num('method-concurrency'),
    synchronous: opt.synchronous,
    target,
    runtime: runtimeVersion(),
    cpus: cpus().length,
    mem_gib: Math.round(totalmem() / 2 ** 30),
  };
  const configFile = join(dir, 'tocsin.yaml');
  writeFileSync(
    configFile,
    [
      `listen: 127.0.0.1:${port}`,
      `data_dir: ${join(dir, 'data')}`,
      'log_level: warn',
      `database: { synchronous: ${opt.synchronous} }`,
      'methods:',
      `  sink: { type: webhook, url: "http://127.0.0.1:${sinkPort}/hook", concurrency: ${settings.method_concurrency} }`,
      'routes:',
      '  - methods: [sink]',
      '',
    ].join('\n'),
  );
  const cmd = relayCommand(configFile);
  const relay = spawn(cmd.file, cmd.args, {
    cwd: cmd.cwd,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch {
        if (i > 200) throw new Error('relay did not start');
        await sleep(50);
      }
    }
    await sleep(200);
    const rssIdle = rssMiB(relay.pid!);
    const { child: load } = await forkTs('scripts/bench/load.ts');
    let expected = 0;

    // The sink hands over the end-to-end latencies it collected since the last ask: keep them all.
    const waitDelivered = async (target: number, timeoutMs: number): Promise<SinkStats> => {
      const deadline = now() + timeoutMs;
      const e2e: number[] = [];
      for (;;) {
        const s = await ask<SinkStats>(sink, { cmd: 'stats' });
        for (const x of s.e2e) e2e.push(x);
        if (s.unique >= target) return { ...s, e2e };
        if (now() > deadline) throw new Error(`only ${s.unique} of ${target} delivered in time`);
        await sleep(20);
      }
    };

    // Warm-up (JIT, connection pools, SQLite page cache).
    await ask<LoadResult>(load, { url, mode: 'max', phase: 'warmup', total: 3000, concurrency: settings.load_concurrency });
    expected += 3000;
    await waitDelivered(expected, 60_000);

    // Phase 1: throughput.
    const t0 = now();
    const cpu0 = cpuMs(relay.pid!);
    const loadCpu0 = cpuMs(load.pid!);
    const sinkCpu0 = cpuMs(sink.pid!);
    const tp = await ask<LoadResult>(load, { url, mode: 'max', phase: 'throughput', total: settings.total, concurrency: settings.load_concurrency });
    expected += tp.ok;
    const tpSink = await waitDelivered(expected, 120_000);
    const deliveredPerSec = tp.ok / ((tpSink.lastAt - t0) / 1000);
    // What one alarm costs the relay (ingest + delivery), independent of what else shares the cores.
    const cpuPerAlarmUs = ((cpuMs(relay.pid!) - cpu0) * 1000) / tp.ok;
    // The harness shares the cores: what it costs per alarm bounds what the relay can get.
    const loadCpuPerAlarmUs = ((cpuMs(load.pid!) - loadCpu0) * 1000) / tp.ok;
    const sinkCpuPerAlarmUs = ((cpuMs(sink.pid!) - sinkCpu0) * 1000) / tp.ok;

    // Phase 2: latency at fixed offered rates (open loop), each after the previous one has drained.
    const latency = [];
    let duplicates = 0;
    for (const rate of settings.latency_rates) {
      const lat = await ask<LoadResult>(load, { url, mode: 'rate', phase: 'latency', rate, seconds: settings.latency_seconds, concurrency: 256 });
      expected += lat.ok;
      const latSink = await waitDelivered(expected, 180_000);
      duplicates = latSink.count - latSink.unique;
      latency.push({
        offered_per_sec: rate,
        alarms: lat.sent,
        accepted: lat.ok,
        failed: lat.failed,
        achieved_per_sec: Math.round(lat.ok / (lat.elapsedMs / 1000)),
        ack_p50_ms: r2(percentile(lat.ack, 50)),
        ack_p99_ms: r2(percentile(lat.ack, 99)),
        ack_max_ms: r2(Math.max(...lat.ack)),
        end_to_end_p50_ms: r2(percentile(latSink.e2e, 50)),
        end_to_end_p99_ms: r2(percentile(latSink.e2e, 99)),
      });
    }

    const result = {
      date: new Date().toISOString(),
      target,
      settings,
      startup,
      ...(target === 'binary' ? { binary_bytes: statSync(BINARY).size, binary_mib: r2(statSync(BINARY).size / 2 ** 20) } : {}),
      relay_idle_rss_mib: rssIdle,
      throughput: {
        alarms: tp.sent,
        accepted: tp.ok,
        failed: tp.failed,
        accepted_per_sec: Math.round(tp.ok / (tp.elapsedMs / 1000)),
        delivered_per_sec_end_to_end: Math.round(deliveredPerSec),
        relay_cpu_us_per_alarm: Math.round(cpuPerAlarmUs),
        load_generator_cpu_us_per_alarm: Math.round(loadCpuPerAlarmUs),
        sink_cpu_us_per_alarm: Math.round(sinkCpuPerAlarmUs),
        ack_p50_ms: r2(percentile(tp.ack, 50)),
        ack_p99_ms: r2(percentile(tp.ack, 99)),
      },
      latency,
      relay_peak_rss_mib: peakRssMiB(relay.pid!),
      duplicates_at_sink: duplicates,
    };
    load.kill();
    console.log(JSON.stringify(result, null, 2));
    mkdirSync(opt.out!, { recursive: true });
    const file = join(opt.out!, `bench-${target}-${result.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    writeFileSync(join(opt.out!, `latest-${target}.json`), JSON.stringify(result, null, 2) + '\n');
    console.log(`written to ${file}`);
  } finally {
    relay.kill('SIGTERM');
    sink.kill();
    await sleep(300);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
