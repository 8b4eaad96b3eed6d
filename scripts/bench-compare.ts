/**
 * `npm run bench:compare`: the same workload against, one after the other, the tocsin binary (dist/tocsin),
 * tocsin on Node (`node --import tsx src/main.ts`) and Prometheus Alertmanager 0.25, all delivering to one
 * webhook sink (scripts/bench/sink.ts, its counters reset for every run), loaded by scripts/bench/load.ts.
 *
 * Cases (--cases, default all):
 *  - throughput: closed loop, --concurrency posters of single alarms, --total alarms after a --warmup whose
 *    deliveries are awaited: delivered/s, ack and end-to-end p50/p99, CPU per alarm, peak RSS, duplicates,
 *    and how far delivery lags when the last POST returns;
 *  - backlog (tocsin only): --backlog pending notifications seeded into the outbox before the relay starts:
 *    time to drain them, drained/s, peak RSS, CPU per alarm, while an open-loop --drain-rate alarms/s for
 *    --drain-seconds measures the ack latency;
 *  - batch: POSTs of --batch-size alarms (Alertmanager too, for reference), --batch-total alarms: accepted/s,
 *    ack p99, then delivered/s.
 * tocsin runs with each of --configs: "default" (only listen, data_dir, log_level: warn, a webhook method
 * `sink` with its url, and a route to it) and "tuned" (the method also gets --tuned, a YAML flow snippet);
 * Alertmanager once (one route to the sink, every alert its own group, group_wait 0s).
 * Prints a table per case and configuration and writes JSON to --out (compare-<date>.json, latest-compare.json).
 * Options: --binary PATH --alertmanager PATH --targets binary,node,alertmanager --configs default,tuned
 *          --tuned 'concurrency: 64' --tuned-delivery 'thread: false' (the tuned config's delivery section) --cases throughput,backlog,batch --total N --warmup N --concurrency C
 *          --backlog N --drain-rate R --drain-seconds S --batch-total N --am-batch-total N --batch-size N
 *          --stall-seconds S (a wait fails when nothing arrives for this long) --max-wait-seconds S --out DIR
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { relayCommand } from '../test/e2e/relay-process.ts';
import { ALERTMANAGER, alertmanagerVersion, startAlertmanager } from './bench/alertmanager.ts';
import { ask, cpuMs, forkTs, freePort, killChildren, now, peakRssMiB, percentile, r2, root, seedBacklog, sleep, spawnTracked, waitHttpOk, type Spawned } from './bench/common.ts';
import type { LoadFormat, LoadJob, LoadResult } from './bench/protocol.ts';
import { SinkClient, type WaitLimits } from './bench/sink-client.ts';

const { values: opt } = parseArgs({
  options: {
    binary: { type: 'string', default: 'dist/tocsin' },
    alertmanager: { type: 'string', default: ALERTMANAGER },
    targets: { type: 'string', default: 'binary,node,alertmanager' },
    configs: { type: 'string', default: 'default,tuned' },
    tuned: { type: 'string', default: 'concurrency: 64' },
    'tuned-delivery': { type: 'string', default: '' },
    cases: { type: 'string', default: 'throughput,backlog,batch' },
    total: { type: 'string', default: '10000' },
    // Long enough that the JIT compilers are mostly done: the figures are those of a relay that has been running.
    warmup: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '32' },
    backlog: { type: 'string', default: '1000000' },
    'drain-rate': { type: 'string', default: '500' },
    'drain-seconds': { type: 'string', default: '10' },
    'batch-total': { type: 'string', default: '100000' },
    // Alertmanager keeps every alert as a group of its own that it re-checks each group_interval: 100,000
    // of them take it minutes and gigabytes. Its batch figure is for reference only.
    'am-batch-total': { type: 'string', default: '20000' },
    'batch-size': { type: 'string', default: '100' },
    'stall-seconds': { type: 'string', default: '60' },
    'max-wait-seconds': { type: 'string', default: '900' },
    out: { type: 'string', default: 'bench-results' },
  },
});

const TARGETS = ['binary', 'node', 'alertmanager'] as const;
const CONFIGS = ['default', 'tuned'] as const;
const CASES = ['throughput', 'backlog', 'batch'] as const;
type Target = (typeof TARGETS)[number];
type Tocsin = Exclude<Target, 'alertmanager'>;
type ConfigName = (typeof CONFIGS)[number];
type Case = (typeof CASES)[number];

function list<T extends string>(flag: 'targets' | 'configs' | 'cases', allowed: readonly T[]): T[] {
  const xs = opt[flag]!.split(',').map((x) => x.trim()).filter((x) => x !== '');
  const bad = xs.filter((x) => !(allowed as readonly string[]).includes(x));
  if (bad.length > 0 || xs.length === 0) {
    console.error(`--${flag} takes a comma-separated list of ${allowed.join(', ')} (got ${opt[flag]})`);
    process.exit(2);
  }
  return allowed.filter((x) => xs.includes(x));
}
const targets = list('targets', TARGETS);
const configs = list('configs', CONFIGS);
const cases = list('cases', CASES);
const num = (k: keyof typeof opt) => {
  const n = Number(opt[k]);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${k} must be a positive number (got ${opt[k]})`);
    process.exit(2);
  }
  return n;
};
const settings = {
  total: num('total'),
  warmup: num('warmup'),
  concurrency: num('concurrency'),
  backlog: num('backlog'),
  drain_rate: num('drain-rate'),
  drain_seconds: num('drain-seconds'),
  batch_total: num('batch-total'),
  am_batch_total: num('am-batch-total'),
  batch_size: num('batch-size'),
  tuned: opt.tuned!,
  tuned_delivery: opt['tuned-delivery']!,
};
const limits: WaitLimits = { stallMs: num('stall-seconds') * 1000, maxMs: num('max-wait-seconds') * 1000 };
const binary = resolve(root, opt.binary!);
/** Alertmanager's warm-up (see loadCase). */
const AM_WARMUP = 2000;
const GOALS = { batch_accepted_per_sec: 50_000, backlog_peak_rss_mib: 200, backlog_ack_p99_ms: 50 };
const START_TIMEOUT_MS = 120_000;

/** A target under test, started and ready for alarms. */
interface Running {
  readonly url: string;
  readonly proc: Spawned;
  /** The relay's undelivered notifications (GET /readyz), where it tells. */
  undelivered(): Promise<number | undefined>;
}

/** Everything one run needs: the sink, the load generator, a fresh directory. */
interface Harness {
  readonly sink: SinkClient;
  load: ChildProcess;
  readonly dir: string;
}

const label = (target: Target, config?: ConfigName) => (target === 'alertmanager' ? 'alertmanager' : `tocsin-${target} (${config})`);

/** The relay's whole config file: tocsin's defaults but for the listener, the data, the log level and the sink. */
function tocsinConfig(port: number, dataDir: string, sinkUrl: string, config: ConfigName): string {
  const extra = config === 'tuned' && settings.tuned.trim() !== '' ? `, ${settings.tuned.trim()}` : '';
  return [
    `listen: 127.0.0.1:${port}`,
    `data_dir: ${JSON.stringify(dataDir)}`,
    'log_level: warn',
    ...(config === 'tuned' && settings.tuned_delivery.trim() !== '' ? [`delivery: { ${settings.tuned_delivery.trim()} }`] : []),
    'methods:',
    `  sink: { type: webhook, url: ${JSON.stringify(sinkUrl)}${extra} }`,
    'routes:',
    '  - methods: [sink]',
    '',
  ].join('\n');
}

/** Starts the relay on `dir` (config file and data in it); resolves once GET /readyz answers 200. */
async function startTocsin(target: Tocsin, config: ConfigName, dir: string, sinkUrl: string): Promise<Running> {
  const port = await freePort();
  const configFile = join(dir, 'tocsin.yaml');
  mkdirSync(dir, { recursive: true });
  writeFileSync(configFile, tocsinConfig(port, join(dir, 'data'), sinkUrl, config));
  const cmd = target === 'node' ? relayCommand('node', configFile, root) : { file: binary, args: ['serve', '--config', configFile], cwd: dir };
  const proc = spawnTracked(label(target, config), cmd.file, cmd.args, cmd.cwd);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHttpOk(`${url}/readyz`, proc, START_TIMEOUT_MS, label(target, config));
  } catch (e) {
    await proc.stop(2000);
    throw e;
  }
  return {
    url,
    proc,
    async undelivered() {
      try {
        const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) });
        return ((await res.json()) as { undelivered?: number }).undelivered;
      } catch {
        return undefined;
      }
    },
  };
}

async function startTarget(h: Harness, target: Target, config: ConfigName, dir: string): Promise<Running> {
  if (target !== 'alertmanager') return startTocsin(target, config, dir, h.sink.url);
  const am = await startAlertmanager(opt.alertmanager!, dir, h.sink.url, START_TIMEOUT_MS);
  return { url: am.url, proc: am, undelivered: async () => undefined };
}

const loadJob = (url: string, format: LoadFormat, phase: string, total: number, batch: number): LoadJob => ({
  url,
  mode: 'max',
  phase,
  total,
  concurrency: settings.concurrency,
  format,
  batch,
});

function runLoad(h: Harness, job: LoadJob, what: string): Promise<LoadResult> {
  return ask<LoadResult>(h.load, job, limits.maxMs, `the load generator (${what})`);
}

const ms = (xs: number[], p: number) => r2(percentile(xs, p));

/** throughput and batch: a warm-up, then `total` alarms in POSTs of `batch`, closed loop. */
async function loadCase(h: Harness, kind: 'throughput' | 'batch', target: Target, config: ConfigName) {
  const batch = kind === 'batch' ? settings.batch_size : 1;
  const total = kind !== 'batch' ? settings.total : target === 'alertmanager' ? settings.am_batch_total : settings.batch_total;
  const what = `${label(target, config)}, ${kind}`;
  const format: LoadFormat = target === 'alertmanager' ? 'alertmanager' : 'tocsin';
  await h.sink.reset([kind]);
  const run = await startTarget(h, target, config, h.dir);
  const pid = run.proc.pid;
  try {
    // Alertmanager has no JIT to warm up, and every alert it holds stays a group of its own that it re-checks
    // every group_interval: a long warm-up would only slow its measured phase down.
    const warmup = target === 'alertmanager' ? Math.min(settings.warmup, AM_WARMUP) : settings.warmup;
    const warm = await runLoad(h, loadJob(run.url, format, 'warmup', warmup, batch), `${what} warm-up`);
    if (warm.ok === 0) throw new Error(`${what}: the warm-up was refused: ${JSON.stringify(warm.statuses)}`);
    await h.sink.waitFor('warmup', warm.ok, `${what} warm-up`, limits);
    const cpu0 = cpuMs(pid);
    const lr = await runLoad(h, loadJob(run.url, format, kind, total, batch), what);
    // How far delivery lags behind ingest when the last POST returns.
    const atLastAck = (await h.sink.stats()).phases[kind]?.unique ?? 0;
    const undelivered = await run.undelivered();
    const done = await h.sink.waitFor(kind, lr.ok, what, limits);
    const cpu = cpuMs(pid) - cpu0;
    const peak = peakRssMiB(pid);
    await sleep(2000); // late copies (retries) count as duplicates
    const duplicates = await h.sink.duplicates();
    return {
      alarms: lr.sent,
      posts: lr.requests,
      alarms_per_post: batch,
      accepted: lr.ok,
      failed: lr.failed,
      statuses: lr.statuses,
      accepted_per_sec: Math.round(lr.ok / (lr.elapsedMs / 1000)),
      delivered_per_sec: Math.round(lr.ok / ((done.lastAt - lr.startedAt) / 1000)),
      ack_p50_ms: ms(lr.ack, 50),
      ack_p99_ms: ms(lr.ack, 99),
      end_to_end_p50_ms: ms(h.sink.e2e, 50),
      end_to_end_p99_ms: ms(h.sink.e2e, 99),
      cpu_us_per_alarm: Math.round((cpu * 1000) / done.unique),
      peak_rss_mib: peak,
      duplicates,
      delivered_at_last_ack: atLastAck,
      lag_at_last_ack: lr.ok - atLastAck,
      ...(undelivered === undefined ? {} : { outbox_undelivered_at_last_ack: undelivered }),
      ...(kind === 'batch' && target !== 'alertmanager' ? { goal_met: lr.ok / (lr.elapsedMs / 1000) >= GOALS.batch_accepted_per_sec } : {}),
    };
  } finally {
    await run.proc.stop();
  }
}

/** backlog: the outbox seeded with `backlog` pending notifications, drained while an open-loop load comes in. */
async function backlogCase(h: Harness, target: Tocsin, config: ConfigName) {
  const what = `${label(target, config)}, backlog`;
  const n = settings.backlog;
  await h.sink.reset(['drain']);
  await (await startTocsin(target, config, h.dir, h.sink.url)).proc.stop(); // creates and migrates the database
  const seedStart = now();
  seedBacklog(join(h.dir, 'data'), n, { method: 'sink', phase: 'backlog' });
  const seedS = (now() - seedStart) / 1000;
  const t0 = now();
  const run = await startTocsin(target, config, h.dir, h.sink.url);
  const pid = run.proc.pid;
  try {
    const readyS = (now() - t0) / 1000;
    const job: LoadJob = { url: run.url, mode: 'rate', phase: 'drain', rate: settings.drain_rate, seconds: settings.drain_seconds, concurrency: 256 };
    const loading = runLoad(h, job, `${what}, open-loop load`);
    loading.catch(() => {}); // awaited below; do not let a rejection go unhandled meanwhile
    const drained = await h.sink.waitFor('backlog', n, `${what}, drain`, limits);
    const lr = await loading;
    const late = await h.sink.waitFor('drain', lr.ok, `${what}, the open-loop alarms`, limits);
    const cpu = cpuMs(pid); // since launch: start-up, the drain, and the open-loop alarms
    const peak = peakRssMiB(pid);
    const duplicates = await h.sink.duplicates();
    const drainS = (drained.lastAt - t0) / 1000;
    return {
      backlog: n,
      seed_s: r2(seedS),
      launch_to_ready_s: r2(readyS),
      first_delivery_s: r2((drained.firstAt - t0) / 1000),
      drain_s: r2(drainS),
      drained_per_sec: Math.round(n / drainS),
      peak_rss_mib: peak,
      peak_rss_goal_mib: GOALS.backlog_peak_rss_mib,
      cpu_us_per_alarm: Math.round((cpu * 1000) / (n + late.unique)),
      load_offered_per_sec: settings.drain_rate,
      load_alarms: lr.sent,
      load_accepted: lr.ok,
      load_refused: lr.failed,
      load_statuses: lr.statuses,
      load_ack_p50_ms: ms(lr.ack, 50),
      load_ack_p99_ms: ms(lr.ack, 99),
      load_ack_max_ms: r2(Math.max(...lr.ack)),
      load_ack_p99_goal_ms: GOALS.backlog_ack_p99_ms,
      goals_met: { peak_rss: peak <= GOALS.backlog_peak_rss_mib, load_ack_p99: percentile(lr.ack, 99) <= GOALS.backlog_ack_p99_ms },
      // Claimed oldest first: the open-loop alarms wait behind the backlog.
      load_end_to_end_p50_ms: ms(h.sink.e2e, 50),
      load_end_to_end_p99_ms: ms(h.sink.e2e, 99),
      duplicates,
    };
  } finally {
    await run.proc.stop();
  }
}

type Measures = Record<string, unknown>;
interface RunRecord {
  case: Case;
  config: ConfigName | 'alertmanager';
  target: Target;
  wall_s: number;
  result?: Measures;
  error?: string;
}

/** What runs, in order: per case, each config's tocsin targets, then Alertmanager once (not in backlog). */
function plan(): { kase: Case; target: Target; config: ConfigName }[] {
  const out: { kase: Case; target: Target; config: ConfigName }[] = [];
  for (const kase of cases) {
    for (const config of configs) for (const target of targets) if (target !== 'alertmanager') out.push({ kase, target, config });
    if (kase !== 'backlog' && targets.includes('alertmanager')) out.push({ kase, target: 'alertmanager', config: 'default' });
  }
  return out;
}

async function forkLoad(): Promise<ChildProcess> {
  return (await forkTs('scripts/bench/load.ts')).child;
}

// ---- the report ----

/** A measure: its label, its key in the results, its goal; ratios to Alertmanager for the rows up to LOAD_RATIO_ROWS. */
type Row = readonly [label: string, key: string, goal?: string];
const LOAD_RATIO_ROWS = 8;
const LOAD_ROWS: Row[] = [
  ['delivered/s, first POST → last delivery (higher better)', 'delivered_per_sec'],
  ['accepted/s (higher better)', 'accepted_per_sec'],
  ['ack p50 ms', 'ack_p50_ms'],
  ['ack p99 ms', 'ack_p99_ms'],
  ['end to end p50 ms', 'end_to_end_p50_ms'],
  ['end to end p99 ms', 'end_to_end_p99_ms'],
  ['CPU µs per delivered alarm', 'cpu_us_per_alarm'],
  ['peak RSS MiB', 'peak_rss_mib'],
  ['duplicates at the sink', 'duplicates'],
  ['refused or failed alarms', 'failed'],
  ['delivered when the last POST returned', 'delivered_at_last_ack'],
  ['lag: accepted − delivered then', 'lag_at_last_ack'],
  ['outbox undelivered then', 'outbox_undelivered_at_last_ack'],
];
const BATCH_GOALS: Record<string, string> = { accepted_per_sec: `≥ ${GOALS.batch_accepted_per_sec.toLocaleString('en-US')}` };
const BACKLOG_ROWS: Row[] = [
  ['backlog (pending notifications)', 'backlog'],
  ['seeding it, s', 'seed_s'],
  ['launch → ready, s', 'launch_to_ready_s'],
  ['launch → drained, s', 'drain_s'],
  ['drained/s', 'drained_per_sec'],
  ['peak RSS MiB', 'peak_rss_mib', `≤ ${GOALS.backlog_peak_rss_mib}`],
  ['CPU µs per alarm (since launch)', 'cpu_us_per_alarm'],
  ['open-loop load: alarms offered', 'load_alarms'],
  ['  refused', 'load_refused'],
  ['  ack p50 ms', 'load_ack_p50_ms'],
  ['  ack p99 ms', 'load_ack_p99_ms', `≤ ${GOALS.backlog_ack_p99_ms}`],
  ['  ack max ms', 'load_ack_max_ms'],
  ['  end to end p50 ms (behind the backlog)', 'load_end_to_end_p50_ms'],
  ['duplicates at the sink', 'duplicates'],
];

const fmt = (v: unknown): string =>
  typeof v === 'number' ? (Number.isNaN(v) ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: 2 })) : v === undefined ? '–' : String(v);

function ratio(a: unknown, b: unknown): string {
  if (typeof a !== 'number' || typeof b !== 'number' || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${r2(a / b).toLocaleString('en-US')}×`;
}

function printTable(title: string, header: string[], body: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(`\n${title}\n${line(header)}\n|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of body) console.log(line(r));
}

function report(runs: RunRecord[]): void {
  const find = (kase: Case, target: Target, config: ConfigName) =>
    runs.find((r) => r.case === kase && r.target === target && (target === 'alertmanager' || r.config === config));
  const cell = (r: RunRecord | undefined, key: string) => (r === undefined ? '–' : r.error !== undefined ? 'error' : fmt(r.result?.[key]));
  for (const kase of cases) {
    if (kase === 'backlog') {
      const cols = configs.flatMap((c) => targets.filter((t): t is Tocsin => t !== 'alertmanager').map((t) => [t, c] as const));
      if (cols.length === 0) continue;
      const goals = BACKLOG_ROWS.some((r) => r[2]);
      printTable(
        `backlog: ${settings.backlog.toLocaleString('en-US')} pending notifications drained while ${settings.drain_rate}/s come in for ${settings.drain_seconds} s`,
        ['measure', ...cols.map(([t, c]) => `${t} (${c})`), ...(goals ? ['goal'] : [])],
        BACKLOG_ROWS.map(([name, key, goal]) => [name, ...cols.map(([t, c]) => cell(find(kase, t, c), key)), ...(goals ? [goal ?? ''] : [])]),
      );
      continue;
    }
    for (const config of configs) {
      const shown = targets.filter((t) => find(kase, t, config));
      if (shown.length === 0) continue;
      const am = targets.includes('alertmanager') ? find(kase, 'alertmanager', config) : undefined;
      const ratios = am ? shown.filter((t) => t !== 'alertmanager') : [];
      const goals = kase === 'batch' ? BATCH_GOALS : {};
      const title =
        kase === 'batch'
          ? `batch: ${settings.batch_total.toLocaleString('en-US')} alarms in POSTs of ${settings.batch_size}, ${settings.concurrency} posters (Alertmanager: ${settings.am_batch_total.toLocaleString('en-US')}); tocsin ${config}`
          : `throughput: ${settings.total.toLocaleString('en-US')} single-alarm POSTs, ${settings.concurrency} posters, after ${settings.warmup.toLocaleString('en-US')} warm-up; tocsin ${config}`;
      printTable(
        title + (config === 'tuned' ? ` (${[settings.tuned, settings.tuned_delivery && `delivery: ${settings.tuned_delivery}`].filter(Boolean).join('; ')})` : ''),
        ['measure', ...shown.map((t) => (t === 'alertmanager' ? 'AM' : t)), ...ratios.map((t) => `${t}/AM`), ...(kase === 'batch' ? ['goal'] : [])],
        LOAD_ROWS.map(([name, key], i) => {
          const values = shown.map((t) => cell(find(kase, t, config), key));
          const rs = ratios.map((t) => (i < LOAD_RATIO_ROWS ? ratio(find(kase, t, config)?.result?.[key], am?.result?.[key]) : ''));
          return [name, ...values, ...rs, ...(kase === 'batch' ? [goals[key] ?? ''] : [])];
        }),
      );
    }
  }
  for (const r of runs) if (r.error) console.log(`\nFAILED ${r.case} ${label(r.target, r.config === 'alertmanager' ? undefined : r.config)}: ${r.error}`);
}

function versions() {
  const git = (args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  return {
    ...(targets.includes('binary') ? { binary: `${binary}: ${execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim()}` } : {}),
    node: `node ${process.version}, src at ${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', '--', 'src']) === '' ? '' : ' (src modified)'}`,
    ...(targets.includes('alertmanager') ? { alertmanager: alertmanagerVersion(opt.alertmanager!) } : {}),
  };
}

async function main(): Promise<number> {
  const started = now();
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-compare-'));
  const cleanup = async () => {
    await killChildren();
    rmSync(dir, { recursive: true, force: true });
  };
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      stopping = true;
      console.error(`\n${sig}: stopping every child and removing ${dir}`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const runs: RunRecord[] = [];
  try {
    const meta = { versions: versions(), cpus: cpus().length, mem_gib: Math.round(totalmem() / 2 ** 30) };
    console.log(JSON.stringify({ settings, targets, configs, cases, ...meta }));
    const { child: sinkChild, first } = await forkTs('scripts/bench/sink.ts');
    const h: Harness = { sink: new SinkClient(sinkChild, `http://127.0.0.1:${first.ready as number}/hook`), load: await forkLoad(), dir: join(dir, 'run') };
    for (const { kase, target, config } of plan()) {
      if (stopping) break;
      const name = `${kase}: ${label(target, config)}`;
      console.error(`[${r2((now() - started) / 1000)} s] ${name} …`);
      const t0 = now();
      const rec: RunRecord = { case: kase, config: target === 'alertmanager' ? 'alertmanager' : config, target, wall_s: 0 };
      try {
        rec.result = kase === 'backlog' ? await backlogCase(h, target as Tocsin, config) : await loadCase(h, kase, target, config);
        console.error(`  ${JSON.stringify(rec.result)}`);
      } catch (e) {
        if (stopping) break;
        rec.error = e instanceof Error ? e.message : String(e);
        console.error(`  FAILED: ${rec.error}`);
        // The load generator may still be busy with the failed job: start afresh.
        h.load.kill('SIGKILL');
        h.load = await forkLoad();
      }
      rec.wall_s = r2((now() - t0) / 1000);
      runs.push(rec);
      rmSync(h.dir, { recursive: true, force: true });
    }
    report(runs);
    const result = { date: new Date().toISOString(), wall_s: r2((now() - started) / 1000), settings, targets, configs, cases, ...meta, goals: GOALS, runs };
    mkdirSync(opt.out!, { recursive: true });
    const file = join(opt.out!, `compare-${result.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    writeFileSync(join(opt.out!, 'latest-compare.json'), JSON.stringify(result, null, 2) + '\n');
    console.log(`\nwritten to ${file} (wall time ${Math.round(result.wall_s)} s)`);
    return runs.some((r) => r.error) ? 1 : 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
