/**
 * `npm run bench -- --kafka [--target binary|node]` (or `npx tsx scripts/bench-kafka.ts`): the Kafka
 * consumer end to end. Each run has a topic (6 partitions) and a consumer group of its own, and --total alarms
 * in tocsin's `alarm` format (one per message) that the relays consume into their outboxes and deliver to the
 * benchmark's webhook sink (scripts/bench/sink.ts, its own process, the HTTP benchmark's). The runs (--runs):
 *  - `1`, `2`: the topic is filled before the relays start (a backlog: the consumption rate alone). With 2, the
 *    first relay to reach the broker forms the group and starts on all the partitions; the second joins
 *    through a rebalance, which waits for the first's batch under way;
 *  - `2-joined`: the relays start on the empty topic; once the group is Stable with both of them (and 3 s
 *    idle, their idle CPU measured) the topic is filled, as fast as the producer goes on the same cores, so
 *    both consume from the start.
 * The producer is a process of its own (scripts/bench/kafka-producer.ts): kafkajs, sends of --batch messages,
 * acks -1, keyless (spread round robin over the partitions).
 * Measured per run, from the moment the broker first reports a member in the group (`-joined`: production starts):
 *  - consumed into the outbox, alarms/s (all of them stored and their offsets committed: the group's lag is 0),
 *    in all and per instance;
 *  - delivered, alarms/s (every stored alarm at the sink), and how long after the consumption delivery ended;
 *  - the relays' CPU (/proc, user + system, every thread) per alarm, their peak RSS;
 *  - the group's lag (Σ high watermark − committed offset, from the broker) every --sample-ms, with the
 *    alarms stored (the outboxes' `alarms`, read through read-only SQLite connections) and delivered;
 *  - duplicates: alarms stored twice (the `i` label, across the outboxes) and delivered twice.
 * The broker is scripts/kafka's (127.0.0.1:19092): used if running, else started and stopped at the end.
 * The relay's settings are the HTTP benchmark's (webhook `concurrency: 64`, `synchronous: FULL`), with
 * `delivery.poll_interval: 100ms` and `ingest.max_pending: 1000000`.
 * Prints a summary and writes JSON to bench-results/ (bench-kafka-<target>-<date>.json, latest-kafka-<target>.json).
 * Options: --target binary|node (default binary, rebuilt first) --total N --partitions P --batch B (messages per
 *          produce request) --runs 1,2,2-joined --method-concurrency M --synchronous FULL|NORMAL --sample-ms MS
 *          --timeout S (per run) --out DIR --node-args="--cpu-prof --cpu-prof-dir=/tmp/prof" (Node flags for the relays; with the =)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { ChildProcess } from 'node:child_process';
import type { Admin } from 'kafkajs';
import { BINARY, relayCommand as targetCommand } from '../test/e2e/relay-process.ts';
import { ask, cpuMs, forkTs, freePort, now, peakRssMiB, root, sleep, spawnTracked, waitHttpOk, type Spawned } from './bench/common.ts';
import { benchKafka, cleanUp, createTopic, groupLag, groupState, kafkaVersions, startBroker, stopBroker, type ProduceResult } from './bench/kafka-client.ts';
import type { ProduceAnswer, ProduceJob } from './bench/kafka-producer.ts';
import { SinkClient } from './bench/sink-client.ts';

const TARGETS = ['binary', 'node'] as const;
type Target = (typeof TARGETS)[number];

/** `<n>`: n relays started on the backlog; `<n>-joined`: n relays in their group first, then the backlog produced. */
interface RunSpec {
  readonly label: string;
  readonly instances: number;
  readonly joined: boolean;
}

function runSpec(text: string): RunSpec {
  const m = /^(\d+)(-joined)?$/.exec(text.trim());
  if (!m || Number(m[1]) < 1) throw new Error(`--runs: "${text}" is not <instances> or <instances>-joined, like 2-joined`);
  return { label: text.trim(), instances: Number(m[1]), joined: m[2] !== undefined };
}

interface Options {
  readonly target: Target;
  readonly total: number;
  readonly partitions: number;
  readonly batch: number;
  readonly runs: RunSpec[];
  readonly methodConcurrency: number;
  readonly synchronous: string;
  readonly sampleMs: number;
  readonly timeoutMs: number;
  readonly out: string;
  readonly nodeArgs: string[];
}

function options(args: string[]): Options {
  const { values: opt } = parseArgs({
    args,
    options: {
      target: { type: 'string', default: 'binary' },
      total: { type: 'string', default: '100000' },
      partitions: { type: 'string', default: '6' },
      batch: { type: 'string', default: '5000' },
      runs: { type: 'string', default: '1,2,2-joined' },
      'method-concurrency': { type: 'string', default: '64' },
      synchronous: { type: 'string', default: 'FULL' },
      'sample-ms': { type: 'string', default: '500' },
      timeout: { type: 'string', default: '180' },
      out: { type: 'string', default: 'bench-results' },
      'node-args': { type: 'string', default: '' },
    },
  });
  if (!(TARGETS as readonly string[]).includes(opt.target)) throw new Error(`--target must be one of ${TARGETS.join(', ')}`);
  const o: Options = {
    target: opt.target as Target,
    total: Number(opt.total),
    partitions: Number(opt.partitions),
    batch: Number(opt.batch),
    runs: opt.runs.split(',').map(runSpec),
    methodConcurrency: Number(opt['method-concurrency']),
    synchronous: opt.synchronous,
    sampleMs: Number(opt['sample-ms']),
    timeoutMs: Number(opt.timeout) * 1000,
    out: opt.out,
    nodeArgs: opt['node-args'].split(' ').filter((a) => a !== ''),
  };
  for (const [k, v] of Object.entries(o)) if (typeof v === 'number' && !(v > 0)) throw new Error(`--${k} must be a positive number`);
  return o;
}

/** One relay of a run: its process, and a read-only connection on its outbox once it is up. */
interface Instance {
  readonly name: string;
  readonly dataDir: string;
  readonly port: number;
  readonly proc: Spawned;
  db?: Database.Database;
}

function relayConfig(o: Options, port: number, dataDir: string, sinkUrl: string, bootstrap: string, group: string, topic: string): string {
  return [
    `listen: 127.0.0.1:${port}`,
    `data_dir: ${JSON.stringify(dataDir)}`,
    'log_level: warn',
    `database: { synchronous: ${o.synchronous} }`,
    'ingest: { max_pending: 1000000 }',
    'delivery: { poll_interval: 100ms }',
    'methods:',
    `  sink: { type: webhook, url: ${JSON.stringify(sinkUrl)}, concurrency: ${o.methodConcurrency} }`,
    'routes:',
    '  - methods: [sink]',
    'kafka:',
    `  brokers: [${bootstrap}]`,
    `  group_id: ${group}`,
    `  topics: [{ name: ${topic}, format: alarm }]`,
    '',
  ].join('\n');
}

/** Joined runs: how long the relays sit in their group, idle, before the topic is filled (their idle CPU is measured then). */
const IDLE_MS = 3000;

/** Alarms stored so far: the largest rowid (no row is deleted during a run; cheaper than count(*) at 50 ms). */
const storedSoFar = (db: Database.Database | undefined) => (db ? ((db.prepare('SELECT max(rowid) AS n FROM alarms').get() as { n: number | null }).n ?? 0) : 0);

/** What one instance's outbox holds once its relay has stopped. */
function outboxAfter(dataDir: string): { alarms: number; ids: string[]; firstReceivedAt: number; lastReceivedAt: number } {
  const db = new Database(join(dataDir, 'tocsin.db'), { readonly: true, fileMustExist: true });
  try {
    const ids = (db.prepare(`SELECT json_extract(labels, '$.i') AS i FROM alarms`).all() as { i: string }[]).map((r) => r.i);
    const t = db.prepare('SELECT min(received_at) AS first, max(received_at) AS last FROM alarms').get() as { first: number | null; last: number | null };
    return { alarms: ids.length, ids, firstReceivedAt: t.first ?? NaN, lastReceivedAt: t.last ?? NaN };
  } finally {
    db.close();
  }
}

interface RunContext {
  readonly o: Options;
  readonly dir: string;
  readonly admin: Admin;
  /** scripts/bench/kafka-producer.ts */
  readonly producer: ChildProcess;
  readonly bootstrap: string;
  readonly sink: SinkClient;
  readonly sinkPid: number;
  readonly stamp: string;
  readonly topics: string[];
  readonly groups: string[];
}

/**
 * One run on a fresh topic and group: fill the topic and start `n` relays in one group (or, `joined`, start
 * them, wait until the group is Stable with all of them, then fill it), wait until every alarm is stored and
 * delivered. The clock of the rates starts when the group first has a member (joined: when production starts).
 */
async function run(ctx: RunContext, spec: RunSpec): Promise<Record<string, unknown>> {
  const { o, admin } = ctx;
  const n = spec.instances;
  const topic = `tocsin-bench-${ctx.stamp}-${spec.label}`;
  const group = topic;
  const phase = `kafka-${spec.label}`;
  ctx.topics.push(topic);
  ctx.groups.push(group);
  await createTopic(admin, topic, o.partitions);
  const title = `${n} instance${n > 1 ? 's' : ''}${spec.joined ? ', joined first' : ''}`;
  const produce = async (): Promise<ProduceResult> => {
    const job: ProduceJob = { bootstrap: ctx.bootstrap, topic, total: o.total, batch: o.batch, phase };
    const r = await ask<ProduceAnswer>(ctx.producer, job, 120_000, 'the producer');
    if ('error' in r) throw new Error(`producing to ${topic}: ${r.error}`);
    console.log(`  produced in ${r.ms} ms (${r.per_sec}/s), per partition ${r.per_partition.join(', ')}`);
    return r;
  };
  let produced: ProduceResult | undefined;
  if (spec.joined) {
    console.log(`\n== ${title}: ${topic} (${o.partitions} partitions, empty); ${o.total} alarms produced once the group is Stable`);
  } else {
    console.log(`\n== ${title}: producing ${o.total} alarms to ${topic} (${o.partitions} partitions)`);
    produced = await produce();
  }
  await ctx.sink.reset([]);

  const instances: Instance[] = [];
  const launch = now();
  const sinkCpu0 = cpuMs(ctx.sinkPid);
  const producerCpu0 = cpuMs(ctx.producer.pid!);
  const at = () => Math.round(now() - launch);
  let error: string | undefined;
  const lagSeries: [number, number][] = [];
  const progress: [number, number, number, number, number][] = [];
  const timeline: Record<string, number | undefined> = {};
  let maxLag = 0;
  let maxBacklog = 0;
  /** When consumption can start (the first member in the group; joined: production started), and the relays' CPU then. */
  let origin: number | undefined;
  let cpuAtOrigin: number | undefined;
  /** When every alarm was stored: the relays' CPU and the alarms delivered by then (what follows is delivery alone). */
  let cpuAtAllStored: number | undefined;
  let deliveredAtAllStored: number | undefined;
  let producing: Promise<void> | undefined;
  /** Joined: the group Stable with every relay, idle, before anything is produced: the relays' CPU then. */
  let idleFrom: { t: number; cpu: number } | undefined;
  let idleCpuPercent: number | undefined;
  /** Per instance: its alarms stored at the last poll, and when that count last changed (its last commit seen). */
  const lastCount = Array.from({ length: n }, () => 0);
  const lastChange = Array.from({ length: n }, () => NaN);
  const relayCpu = () => instances.reduce((s, i) => s + cpuMs(i.proc.pid), 0);
  try {
    for (let k = 0; k < n; k++) {
      const port = await freePort();
      const dataDir = join(ctx.dir, `${spec.label}-${k}`);
      const configFile = join(ctx.dir, `${spec.label}-${k}.yaml`);
      writeFileSync(configFile, relayConfig(o, port, dataDir, `${ctx.sink.url}/hook`, ctx.bootstrap, group, topic));
      const work = join(ctx.dir, `${spec.label}-${k}-cwd`);
      mkdirSync(work, { recursive: true });
      const cmd = targetCommand(o.target, configFile, work);
      const args = o.target === 'node' ? [...o.nodeArgs, ...cmd.args] : cmd.args;
      const proc = spawnTracked(`relay ${k}`, cmd.file, args, cmd.cwd, 1 << 20);
      instances.push({ name: `relay ${k}`, dataDir, port, proc });
    }
    // All launched at once. The sampling starts at once too (a relay joins its group before it is ready);
    // an outbox is read from the moment its relay is ready (/readyz), and no run ends before all are.
    let notReady: Error | undefined;
    const ready = Promise.all(
      instances.map(async (i) => {
        await waitHttpOk(`http://127.0.0.1:${i.port}/readyz`, i.proc, 60_000, i.name);
        i.db = new Database(join(i.dataDir, 'tocsin.db'), { readonly: true, fileMustExist: true });
      }),
    ).then(
      () => void (timeline.ready_ms = at()),
      (e: Error) => void (notReady = e),
    );

    let nextSample = 0;
    let stable = false;
    for (;;) {
      const t = at();
      if (notReady) throw notReady;
      for (const i of instances) {
        const { exitCode, signalCode } = i.proc.child;
        if (exitCode !== null || signalCode !== null) throw new Error(`${i.name} exited (${exitCode ?? signalCode})\n${i.proc.stderr().slice(-4000)}`);
      }
      if (!stable) {
        const g = await groupState(admin, group);
        // A member can join, take every partition and be busy with its first batch before a poll sees the
        // group Stable (and a second member's rebalance then waits for that batch): its joining starts the clock.
        if (g.members > 0 && timeline.group_joined_ms === undefined) {
          timeline.group_joined_ms = t;
          if (!spec.joined) [origin, cpuAtOrigin] = [t, relayCpu()];
        }
        if (g.state === 'Stable' && g.members > 0 && timeline.group_stable_ms === undefined) timeline.group_stable_ms = t;
        if (g.state === 'Stable' && g.members >= n) {
          timeline.all_members_stable_ms = t;
          stable = true;
          if (spec.joined) idleFrom = { t, cpu: relayCpu() };
        }
      }
      if (idleFrom && !producing && t - idleFrom.t >= IDLE_MS) {
        const cpu = relayCpu();
        idleCpuPercent = Math.round(((cpu - idleFrom.cpu) / (t - idleFrom.t)) * 1000) / 10;
        [origin, cpuAtOrigin] = [t, cpu];
        timeline.produce_start_ms = t;
        producing = produce().then((r) => {
          produced = r;
          timeline.produced_ms = at();
        });
        producing.catch(() => {}); // awaited below
      }
      const counts = instances.map((i) => storedSoFar(i.db));
      counts.forEach((c, k) => {
        if (c !== lastCount[k]) [lastCount[k], lastChange[k]] = [c, t];
      });
      const stored = counts.reduce((a, b) => a + b, 0);
      const p = (await ctx.sink.stats()).phases[phase];
      const delivered = p?.unique ?? 0;
      maxBacklog = Math.max(maxBacklog, stored - delivered);
      if (timeline.first_stored_seen_ms === undefined && stored > 0) timeline.first_stored_seen_ms = t;
      let lag: number | undefined;
      if (t >= nextSample) {
        lag = await groupLag(admin, group, topic);
        nextSample = t + o.sampleMs;
        lagSeries.push([t, lag]);
        progress.push([t, lag, stored, delivered, relayCpu()]);
        maxLag = Math.max(maxLag, lag);
        if (progress.length % Math.max(1, Math.round(2000 / o.sampleMs)) === 1) console.log(`  t=${(t / 1000).toFixed(1)} s  lag ${lag}  stored ${stored}  delivered ${delivered}`);
      }
      if (timeline.all_stored_ms === undefined && timeline.ready_ms !== undefined && stored >= o.total && (lag ?? (await groupLag(admin, group, topic))) === 0) {
        timeline.all_stored_ms = t;
        lagSeries.push([t, 0]);
        [cpuAtAllStored, deliveredAtAllStored] = [relayCpu(), delivered];
      }
      if (timeline.all_stored_ms !== undefined && delivered >= stored) {
        timeline.all_delivered_ms = Math.round(p!.lastAt - launch);
        break;
      }
      if (t > o.timeoutMs) {
        error = `timed out after ${o.timeoutMs / 1000} s: ${stored} of ${o.total} alarms stored, ${delivered} delivered`;
        break;
      }
      await sleep(50);
    }
    await producing;
    await ready;
  } catch (e) {
    error = (e as Error).message;
  }

  // At the end, before the relays stop: CPU and peak RSS.
  const cpuEnd = instances.map((i) => cpuMs(i.proc.pid));
  const peakRss = instances.map((i) => peakRssMiB(i.proc.pid));
  const sinkCpu = cpuMs(ctx.sinkPid) - sinkCpu0;
  const producerCpu = cpuMs(ctx.producer.pid!) - producerCpu0;
  const sinkStats = (await ctx.sink.stats()).phases[phase] ?? { count: 0, unique: 0, firstAt: NaN, lastAt: NaN };
  for (const i of instances) i.db?.close();
  await Promise.all(instances.map((i) => i.proc.stop()));
  const logLines = new Map<string, number>();
  for (const i of instances) {
    for (const line of i.proc.stderr().split('\n')) {
      if (line.trim() === '') continue;
      let msg = line.slice(0, 200);
      try {
        msg = String((JSON.parse(line) as { msg?: unknown }).msg);
      } catch {
        /* not JSON */
      }
      logLines.set(msg, (logLines.get(msg) ?? 0) + 1);
    }
  }

  const outboxes = instances.map((i) => {
    try {
      return outboxAfter(i.dataDir);
    } catch (e) {
      error ??= `${i.name}: cannot read its outbox: ${(e as Error).message}`;
      return { alarms: 0, ids: [], firstReceivedAt: NaN, lastReceivedAt: NaN };
    }
  });
  const distinct = new Set(outboxes.flatMap((x) => x.ids)).size;
  const rows = outboxes.reduce((s, x) => s + x.alarms, 0);
  const tl = timeline;
  const from = origin ?? NaN;
  const secs = (end: number | undefined) => (end === undefined ? NaN : (end - from) / 1000);
  const consumedPerSec = o.total / secs(tl.all_stored_ms);
  const cpuTotal = cpuEnd.reduce((a, b) => a + b, 0);
  const cpuFromOrigin = cpuAtOrigin === undefined ? NaN : cpuTotal - cpuAtOrigin;
  // After the last alarm was stored the relays only deliver: what that costs per alarm, and so (an estimate)
  // what consuming one cost.
  const deliveryOnlyUs = cpuAtAllStored === undefined || deliveredAtAllStored === undefined ? NaN : ((cpuTotal - cpuAtAllStored) * 1000) / (sinkStats.unique - deliveredAtAllStored);
  const result = {
    run: spec.label,
    instances: n,
    joined_first: spec.joined,
    topic,
    group,
    ...(error !== undefined && { error }),
    produced,
    timeline_ms: {
      ...timeline,
      // The acceptor's clock (alarms.received_at): when the first and the last batch were accepted, before their commits.
      first_accepted_ms: Math.round(Math.min(...outboxes.map((x) => x.firstReceivedAt)) - launch),
      last_accepted_ms: Math.round(Math.max(...outboxes.map((x) => x.lastReceivedAt)) - launch),
    },
    consumed_per_sec: Math.round(consumedPerSec),
    consumed_per_sec_per_instance: Math.round(consumedPerSec / n),
    consumed_per_sec_from_launch: Math.round(o.total / ((tl.all_stored_ms ?? NaN) / 1000)),
    per_instance: outboxes.map((x, k) => ({
      alarms_stored: x.alarms,
      consumed_per_sec: Math.round(x.alarms / ((lastChange[k]! - from) / 1000)),
      last_stored_seen_ms: lastChange[k],
      relay_cpu_ms: cpuEnd[k],
      peak_rss_mib: peakRss[k],
    })),
    delivered_per_sec: Math.round(o.total / secs(tl.all_delivered_ms)),
    // Keeping pace: the delivery rate while the relays consumed, and once they had nothing left to consume.
    delivered_per_sec_while_consuming: deliveredAtAllStored === undefined ? null : Math.round(deliveredAtAllStored / secs(tl.all_stored_ms)),
    delivered_per_sec_after_consuming:
      deliveredAtAllStored === undefined || tl.all_delivered_ms === undefined || tl.all_stored_ms === undefined
        ? null
        : Math.round((sinkStats.unique - deliveredAtAllStored) / ((tl.all_delivered_ms - tl.all_stored_ms) / 1000)),
    delivery_ended_after_consumption_ms: tl.all_delivered_ms !== undefined && tl.all_stored_ms !== undefined ? tl.all_delivered_ms - tl.all_stored_ms : null,
    max_outbox_backlog: maxBacklog,
    relay_cpu_ms_total: cpuTotal,
    ...(idleCpuPercent !== undefined && { relay_idle_cpu_percent_in_group: idleCpuPercent }),
    relay_cpu_ms_from_origin: cpuFromOrigin,
    relay_cpu_us_per_alarm: Math.round((cpuFromOrigin * 1000) / o.total),
    relay_cpu_us_per_alarm_delivery_alone: Math.round(deliveryOnlyUs),
    relay_cpu_us_per_alarm_consumption_estimate: Math.round((cpuFromOrigin * 1000) / o.total - deliveryOnlyUs),
    relay_cpu_us_per_alarm_with_startup: Math.round((cpuTotal * 1000) / o.total),
    sink_cpu_us_per_alarm: Math.round((sinkCpu * 1000) / o.total),
    // Only joined runs produce while the relays run.
    producer_cpu_us_per_alarm_while_relays_ran: Math.round((producerCpu * 1000) / o.total),
    relay_peak_rss_mib: Math.max(...peakRss),
    max_lag: maxLag,
    alarms_stored: rows,
    distinct_alarms_stored: distinct,
    missing: o.total - distinct,
    duplicates: {
      stored_twice: rows - distinct,
      delivered_twice: sinkStats.count - sinkStats.unique,
      at_sink: sinkStats.count - distinct,
    },
    sink: { deliveries: sinkStats.count, distinct_notifications: sinkStats.unique },
    relay_log: Object.fromEntries(logLines),
    lag_series: lagSeries,
    progress_columns: ['t_ms', 'lag', 'stored', 'delivered', 'relay_cpu_ms'],
    progress_series: progress,
  };
  if (error !== undefined) console.error(`run ${spec.label} failed: ${error}`);
  return result;
}

function runtimeVersion(target: Target): string {
  if (target === 'node') return `node ${process.version} (src/main.ts through tsx)`;
  const bun = execFileSync(join(root, 'node_modules', '.bin', 'bun'), ['--version'], { encoding: 'utf8' }).trim();
  return `${execFileSync(BINARY, ['--version'], { encoding: 'utf8' }).trim()} (bun ${bun})`;
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

const fmt = (x: unknown) => (typeof x === 'number' ? (Number.isFinite(x) ? x.toLocaleString('en-US') : '–') : x === null || x === undefined ? '–' : String(x));

function summary(runs: Record<string, unknown>[]): string {
  const get = (r: Record<string, unknown>, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], r);
  const rows: [string, (r: Record<string, unknown>) => unknown][] = [
    ['consumed into the outbox, alarms/s', (r) => get(r, 'consumed_per_sec')],
    ['  per instance', (r) => get(r, 'consumed_per_sec_per_instance')],
    ['  each instance (its alarms / its time)', (r) => ((r.per_instance ?? []) as { consumed_per_sec: number; alarms_stored: number }[]).map((x) => `${fmt(x.consumed_per_sec)} (${fmt(x.alarms_stored)})`).join(' / ')],
    ['  from launch (startup and group join included)', (r) => get(r, 'consumed_per_sec_from_launch')],
    ['delivered, alarms/s', (r) => get(r, 'delivered_per_sec')],
    ['  while consuming / after', (r) => `${fmt(get(r, 'delivered_per_sec_while_consuming'))} / ${fmt(get(r, 'delivered_per_sec_after_consuming'))}`],
    ['delivery ended after consumption, ms', (r) => get(r, 'delivery_ended_after_consumption_ms')],
    ['max outbox backlog (stored − delivered)', (r) => get(r, 'max_outbox_backlog')],
    ['relay CPU per alarm, µs', (r) => get(r, 'relay_cpu_us_per_alarm')],
    ['  delivery alone (after the last stored) / consumption (estimate)', (r) => `${fmt(get(r, 'relay_cpu_us_per_alarm_delivery_alone'))} / ${fmt(get(r, 'relay_cpu_us_per_alarm_consumption_estimate'))}`],
    ['sink CPU per alarm, µs', (r) => get(r, 'sink_cpu_us_per_alarm')],
    ['relays idle in their group (joined first, before producing), CPU %', (r) => get(r, 'relay_idle_cpu_percent_in_group')],
    ['relay peak RSS, MiB', (r) => ((r.per_instance ?? []) as { peak_rss_mib: number }[]).map((x) => x.peak_rss_mib).join(' / ')],
    ['max lag, messages', (r) => get(r, 'max_lag')],
    ['duplicates stored / delivered twice / at sink', (r) => `${fmt(get(r, 'duplicates.stored_twice'))} / ${fmt(get(r, 'duplicates.delivered_twice'))} / ${fmt(get(r, 'duplicates.at_sink'))}`],
    ['missing', (r) => get(r, 'missing')],
    ['launch → first member in the group / Stable / Stable with all, ms', (r) => `${fmt(get(r, 'timeline_ms.group_joined_ms'))} / ${fmt(get(r, 'timeline_ms.group_stable_ms'))} / ${fmt(get(r, 'timeline_ms.all_members_stable_ms'))}`],
    ['launch → production started / ended, ms (joined first)', (r) => `${fmt(get(r, 'timeline_ms.produce_start_ms'))} / ${fmt(get(r, 'timeline_ms.produced_ms'))}`],
    ['launch → all stored / all delivered, ms', (r) => `${fmt(get(r, 'timeline_ms.all_stored_ms'))} / ${fmt(get(r, 'timeline_ms.all_delivered_ms'))}`],
    ['produced, messages/s', (r) => get(r, 'produced.per_sec')],
  ];
  const head = ['measure', ...runs.map((r) => `${r.instances} instance${(r.instances as number) > 1 ? 's' : ''}${r.joined_first ? ', joined first' : ''}`)];
  const body = rows.map(([label, f]) => [label, ...runs.map((r) => fmt(f(r)))]);
  const widths = head.map((_, c) => Math.max(...[head, ...body].map((row) => row[c]!.length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

/** Runs the benchmark with `args` (the command line without --kafka); resolves with the exit code. */
export async function runKafkaBench(args: string[]): Promise<number> {
  const o = options(args);
  if (o.target === 'binary') execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  const broker = await startBroker();
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-bench-kafka-'));
  const admin = benchKafka(broker.bootstrap).admin();
  const { child: sinkChild, first } = await forkTs('scripts/bench/sink.ts');
  const { child: producer } = await forkTs('scripts/bench/kafka-producer.ts');
  const sink = new SinkClient(sinkChild, `http://127.0.0.1:${first.ready as number}`);
  const date = new Date().toISOString();
  const ctx: RunContext = {
    o,
    dir,
    admin,
    producer,
    bootstrap: broker.bootstrap,
    sink,
    sinkPid: sinkChild.pid!,
    stamp: `${date.replace(/[-:.TZ]/g, '').slice(0, 14)}-${process.pid}`,
    topics: [],
    groups: [],
  };
  let code = 0;
  try {
    await admin.connect();
    const runs: Record<string, unknown>[] = [];
    for (const spec of o.runs) {
      try {
        runs.push(await run(ctx, spec));
      } catch (e) {
        // Before its relays started (the topic, the producer): the other runs go on.
        console.error(`run ${spec.label} failed: ${(e as Error).message}`);
        runs.push({ run: spec.label, instances: spec.instances, joined_first: spec.joined, error: (e as Error).message });
      }
    }
    if (runs.some((r) => r.error !== undefined)) code = 1;
    const result = {
      date,
      target: o.target,
      settings: {
        total: o.total,
        partitions: o.partitions,
        produce_batch: o.batch,
        method_concurrency: o.methodConcurrency,
        synchronous: o.synchronous,
        poll_interval_ms: 100,
        max_pending: 1_000_000,
        sample_ms: o.sampleMs,
        ...(o.nodeArgs.length > 0 && { node_args: o.nodeArgs }),
      },
      machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, mem_gib: Math.round(totalmem() / 2 ** 30) },
      versions: { tocsin: gitCommit(), runtime: runtimeVersion(o.target), bench_node: process.version, ...kafkaVersions() },
      runs,
    };
    console.log(`\n${summary(runs)}`);
    mkdirSync(o.out, { recursive: true });
    const file = join(o.out, `bench-kafka-${o.target}-${date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    writeFileSync(join(o.out, `latest-kafka-${o.target}.json`), JSON.stringify(result, null, 2) + '\n');
    console.log(`written to ${file}`);
  } catch (e) {
    console.error(e);
    code = 1;
  } finally {
    await cleanUp(admin, ctx.topics, ctx.groups);
    await admin.disconnect().catch(() => {});
    sinkChild.kill();
    producer.kill();
    await stopBroker(broker.startedHere);
    rmSync(dir, { recursive: true, force: true });
  }
  return code;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runKafkaBench(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
