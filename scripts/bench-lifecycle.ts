/**
 * `npm run bench -- --lifecycle` (or `npx tsx scripts/bench-lifecycle.ts`): what the alarm lifecycle costs
 * per alarm, in process, on this runtime's SQLite driver: the outbox code itself, no HTTP, no fsync wait
 * (synchronous NORMAL), CPU time (user + system) per alarm, the median of --runs.
 *
 * Ingest, in transactions of --batch alarms (as the group commit makes them), each variant on a fresh
 * database of --total alarms:
 *  - `enqueue only`: the alarm and one notification, as ingest did before the lifecycle;
 *  - `lifecycle, new alarms`: each alarm a new dedup key: its state stored, its firing notified;
 *  - `lifecycle, repeats`: --total occurrences of --keys alarms already firing: counted, not notified;
 *  - `lifecycle, changes`: each alarm resolved after it fired (a second notification, after the first).
 * Delivery: claim every due notification (--batch at a time) and record it sent, for notifications that
 * follow nothing and for chains of two per alarm (the resolved waits for its firing).
 * Prints a table and writes JSON to bench-results/ (bench-lifecycle-<date>.json, latest-lifecycle.json).
 * Options: --total N --keys N --batch N --runs N --out DIR
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { loadSqlite, availableSqliteDrivers, runtimeName } from '../src/runtime/detect.ts';
import { applyPragmas } from '../src/outbox/db.ts';
import { migrate } from '../src/outbox/migrate.ts';
import { OutboxStore } from '../src/outbox/store.ts';
import { Lifecycle } from '../src/ingest/lifecycle.ts';
import { idGenerator } from '../src/lib/ids.ts';
import { sha256Hex } from '../src/lib/hash.ts';
import { defaultDedupKey } from '../src/domain/dedup-key.ts';
import type { Alarm, AlarmStatus } from '../src/domain/alarm.ts';
import type { RouteConfig } from '../src/config/types.ts';
import { root } from './bench/common.ts';

export async function runLifecycleBench(argv: string[]): Promise<number> {
  const { values: opt } = parseArgs({
    args: argv,
    options: {
      total: { type: 'string', default: '50000' },
      keys: { type: 'string', default: '1000' },
      batch: { type: 'string', default: '100' },
      runs: { type: 'string', default: '3' },
      out: { type: 'string', default: 'bench-results' },
    },
  });
  const total = Number(opt.total);
  const keys = Number(opt.keys);
  const batch = Number(opt.batch);
  const runs = Number(opt.runs);
  const driver = availableSqliteDrivers()[0]!;
  const open = await loadSqlite(driver);
  const routes: RouteConfig[] = [{ match: { labels: {} }, methods: ['hook'], continue: false }];

  /** A fresh outbox and lifecycle in a temp directory; `done` removes it. */
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'tocsin-bench-lc-'));
    const conn = open(join(dir, 'tocsin.db'));
    applyPragmas(conn.db, 'NORMAL');
    migrate(conn.db, Date.now());
    const store = new OutboxStore(conn);
    const ids = idGenerator(() => Date.now(), (n) => randomBytes(n));
    const lifecycle = new Lifecycle({
      states: store.states, enqueue: store.enqueue, ids, routes: () => routes,
      policy: { methodRepeatMs: () => undefined, canGroup: () => false }, silences: () => [], notifyUnknownResolved: () => false,
    });
    const alarm = (i: number, status: AlarmStatus): Alarm => {
      const labels = { seq: String(i), phase: 'bench' };
      return {
        id: ids.alarm(), source: 'generic', name: 'BenchAlarm', severity: 'warning', status, labels, annotations: {},
        occurredAt: Date.now(), receivedAt: Date.now(), dedupKey: defaultDedupKey('generic', 'BenchAlarm', labels, sha256Hex),
      };
    };
    return { store, lifecycle, ids, alarm, done: () => (conn.close(), rmSync(dir, { recursive: true, force: true })) };
  };
  type Rig = ReturnType<typeof fresh>;

  /** CPU µs per item of `work(rig, i)` over `n` items in transactions of `batch`, after `setup`. */
  const measure = (n: number, work: (r: Rig, i: number) => void, setup?: (r: Rig) => void): number => {
    const samples: number[] = [];
    for (let run = 0; run < runs; run++) {
      const r = fresh();
      try {
        setup?.(r);
        const t0 = process.cpuUsage();
        for (let b = 0; b < n; b += batch) r.store.enqueue.transaction(() => {
          for (let i = b; i < Math.min(n, b + batch); i++) work(r, i);
        });
        const u = process.cpuUsage(t0);
        samples.push((u.user + u.system) / n);
      } finally {
        r.done();
      }
    }
    return Math.round(samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]! * 10) / 10;
  };
  const occur = (r: Rig, a: Alarm) => {
    const p = r.lifecycle.policies(a);
    r.store.enqueue.insertAlarm(a, p.length);
    r.lifecycle.occurrence(a, p, false, Date.now());
  };

  const ingest = {
    enqueue_only: measure(total, (r, i) => {
      const a = r.alarm(i, 'firing');
      r.store.enqueue.insertAlarm(a, 1);
      r.store.enqueue.insertNotification({ id: r.ids.notification(), alarmIds: [a.id], method: 'hook', createdAt: Date.now() });
    }),
    lifecycle_new_alarms: measure(total, (r, i) => occur(r, r.alarm(i, 'firing'))),
    lifecycle_repeats: measure(total, (r, i) => occur(r, r.alarm(i % keys, 'firing')), (r) => {
      r.store.enqueue.transaction(() => {
        for (let k = 0; k < keys; k++) occur(r, r.alarm(k, 'firing'));
      });
    }),
    lifecycle_changes: measure(total, (r, i) => occur(r, r.alarm(i % keys, i % (2 * keys) < keys ? 'resolved' : 'firing')), (r) => {
      r.store.enqueue.transaction(() => {
        for (let k = 0; k < keys; k++) occur(r, r.alarm(k, 'firing'));
      });
    }),
  };

  /** CPU µs per notification to claim every due one and record it sent. */
  const deliver = (chained: boolean): number => {
    const samples: number[] = [];
    for (let run = 0; run < runs; run++) {
      const r = fresh();
      try {
        const n = Math.floor(total / 2);
        r.store.enqueue.transaction(() => {
          for (let i = 0; i < n; i++) {
            if (chained) {
              occur(r, r.alarm(i, 'firing'));
              occur(r, r.alarm(i, 'resolved'));
            } else {
              for (const status of ['firing', 'resolved'] as const) {
                const a = r.alarm(i, status);
                r.store.enqueue.insertAlarm(a, 1);
                r.store.enqueue.insertNotification({ id: r.ids.notification(), alarmIds: [a.id], method: 'hook', createdAt: Date.now() });
              }
            }
          }
        });
        let sent = 0;
        const t0 = process.cpuUsage();
        for (;;) {
          const now = Date.now() + 1000;
          const claimed = r.store.delivery.claim('hook', batch, now, now + 60_000);
          if (claimed.length === 0) break;
          r.store.delivery.complete(claimed.map((c) => ({ kind: 'sent' as const, n: c, at: now, latencyMs: 1 })));
          sent += claimed.length;
        }
        const u = process.cpuUsage(t0);
        if (sent !== 2 * n) throw new Error(`delivered ${sent} of ${2 * n}`);
        samples.push((u.user + u.system) / sent);
      } finally {
        r.done();
      }
    }
    return Math.round(samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]! * 10) / 10;
  };
  const delivery = { unchained: deliver(false), chained_firing_then_resolved: deliver(true) };

  const result = {
    settings: { total, keys, batch, runs, runtime: runtimeName(), sqlite: driver, cpus: cpus().length },
    ingest_cpu_us_per_alarm: ingest,
    delivery_cpu_us_per_notification: delivery,
    state_tracking_cost_us_per_alarm: Math.round((ingest.lifecycle_new_alarms - ingest.enqueue_only) * 10) / 10,
  };
  console.log(`lifecycle cost (${runtimeName()}, ${driver}; CPU µs, median of ${runs} runs of ${total})`);
  const table = (title: string, rows: Record<string, number>) => {
    console.log(`| ${title.padEnd(42)} |    µs |\n|${'-'.repeat(44)}|------:|`);
    for (const [k, v] of Object.entries(rows)) console.log(`| ${k.replaceAll('_', ' ').padEnd(42)} | ${String(v).padStart(5)} |`);
  };
  table('ingest, per alarm', ingest);
  table('delivery (claim, record sent), per notification', delivery);
  console.log(`state tracking adds ${result.state_tracking_cost_us_per_alarm} µs per new alarm to ingest`);
  const out = join(root, opt.out);
  mkdirSync(out, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const text = JSON.stringify(result, null, 2);
  writeFileSync(join(out, `bench-lifecycle-${stamp}.json`), text);
  writeFileSync(join(out, 'latest-lifecycle.json'), text);
  console.log(`written to ${join(opt.out, `bench-lifecycle-${stamp}.json`)}`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(await runLifecycleBench(process.argv.slice(2)));
