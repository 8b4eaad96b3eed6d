/**
 * `npm run bench -- --operate` (or `npx tsx scripts/bench-operate.ts`): what operating the relay costs, in
 * process, on this runtime's SQLite driver (no HTTP): CPU time (user + system), the median of --runs.
 *  - dead letters, with --total of them (each with its alarm and one attempt row): listing them a page of
 *    100 at a time, replaying them all by filter in calls of 1000 (as `tocsin dead-letters --replay-all`
 *    does), discarding them all the same way; µs per dead letter;
 *  - the gauges `/metrics` reads at each scrape (oldest undelivered age, undelivered and dead letters by
 *    method) with --total notifications undelivered: ms per scrape.
 * Prints a table and writes JSON to bench-results/ (bench-operate-<date>.json, latest-operate.json).
 * Options: --total N --runs N --out DIR
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { loadSqlite, availableSqliteDrivers, runtimeName } from '../src/runtime/detect.ts';
import { applyPragmas, type OpenDatabase } from '../src/outbox/db.ts';
import { migrate } from '../src/outbox/migrate.ts';
import { idGenerator } from '../src/lib/ids.ts';
import { DeadLetters, type DeadLetterPosition } from '../src/outbox/dead-letters.ts';
import { deadLettersByMethod, oldestPendingCreatedAt, undeliveredByMethod } from '../src/outbox/oldest-pending.ts';
import { root } from './bench/common.ts';

const PAGE = 100;
const CALL = 1000;

export async function runOperateBench(argv: string[]): Promise<number> {
  const { values: opt } = parseArgs({
    args: argv,
    options: {
      total: { type: 'string', default: '20000' },
      runs: { type: 'string', default: '3' },
      out: { type: 'string', default: 'bench-results' },
    },
  });
  const total = Number(opt.total);
  const runs = Number(opt.runs);
  const driver = availableSqliteDrivers()[0]!;
  const open = await loadSqlite(driver);

  /** A fresh outbox of `total` notifications of two methods, in `state`, each with its alarm and an attempt row. */
  const fresh = (state: 'dead' | 'pending') => {
    const dir = mkdtempSync(join(tmpdir(), 'tocsin-bench-op-'));
    const conn: OpenDatabase = open(join(dir, 'tocsin.db'));
    applyPragmas(conn.db, 'NORMAL');
    migrate(conn.db, Date.now());
    const ids = idGenerator(() => Date.now(), (n) => randomBytes(n));
    const alarm = conn.raw.prepare(
      `INSERT INTO alarms (id, source, name, severity, status, labels, annotations, occurred_at, received_at, dedup_key, routed_to)
       VALUES (?, 'generic', 'BenchAlarm', 'warning', 'firing', '{"phase":"bench"}', '{}', ?, ?, ?, 1)`,
    );
    const notification = conn.raw.prepare(
      `INSERT INTO notifications (id, alarm_id, method, state, attempts, created_at, next_attempt_at, last_status, last_error, dead_reason, dead_at)
       VALUES (?, ?, ?, ?, 5, ?, ?, 503, 'HTTP 503', ?, ?)`,
    );
    const attempt = conn.raw.prepare(`INSERT INTO attempts (notification_id, attempt, at, outcome, status, latency_ms, error) VALUES (?, 5, ?, 'retry', 503, 12, 'HTTP 503')`);
    conn.raw.prepare('BEGIN').run();
    const t = Date.now() - 3_600_000;
    for (let i = 0; i < total; i++) {
      const a = ids.alarm();
      const n = ids.notification();
      alarm.run(a, t + i, t + i, `k${i}`);
      const dead = state === 'dead';
      notification.run(n, a, i % 2 ? 'hook' : 'pager', state, t + i, t + i, dead ? 'gave up after 5 attempts (max_attempts): HTTP 503' : null, dead ? t + i : null);
      attempt.run(n, t + i);
    }
    conn.raw.prepare('COMMIT').run();
    return { conn, done: () => (conn.close(), rmSync(dir, { recursive: true, force: true })) };
  };
  const inTransaction = <T>(conn: OpenDatabase, fn: () => T): T => {
    conn.raw.prepare('BEGIN IMMEDIATE').run();
    try {
      const r = fn();
      conn.raw.prepare('COMMIT').run();
      return r;
    } catch (e) {
      conn.raw.prepare('ROLLBACK').run();
      throw e;
    }
  };
  const median = (xs: number[]) => Math.round(xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]! * 10) / 10;
  /** CPU µs per item (or per call with `per: 1`) of `work` on a fresh outbox in `state`. */
  const measure = (state: 'dead' | 'pending', work: (conn: OpenDatabase) => number): number => {
    const samples: number[] = [];
    for (let run = 0; run < runs; run++) {
      const r = fresh(state);
      try {
        const t0 = process.cpuUsage();
        const items = work(r.conn);
        const u = process.cpuUsage(t0);
        samples.push((u.user + u.system) / items);
      } finally {
        r.done();
      }
    }
    return median(samples);
  };

  const methods = ['hook', 'pager'];
  const deadLetters = {
    list_pages_of_100: measure('dead', (conn) => {
      const d = new DeadLetters(conn);
      let after: DeadLetterPosition | undefined;
      let n = 0;
      for (;;) {
        const page = d.list({}, after, PAGE);
        n += page.length;
        if (page.length < PAGE) break;
        const last = page.at(-1)!;
        after = [last.deadAt, last.id];
      }
      if (n !== total) throw new Error(`listed ${n} of ${total}`);
      return n;
    }),
    replay_all_by_filter: measure('dead', (conn) => {
      const d = new DeadLetters(conn);
      let n = 0;
      for (;;) {
        const r = inTransaction(conn, () => d.replay({ filter: {} }, { limit: CALL, by: 'bench', now: Date.now(), methods }));
        n += r.replayed;
        if (r.remaining === 0 || r.replayed === 0) break;
      }
      if (n !== total) throw new Error(`replayed ${n} of ${total}`);
      return n;
    }),
    discard_all_by_filter: measure('dead', (conn) => {
      const d = new DeadLetters(conn);
      let n = 0;
      for (;;) {
        const r = inTransaction(conn, () => d.discard({ filter: {} }, { limit: CALL, methods }));
        n += r.discarded;
        if (r.remaining === 0 || r.discarded === 0) break;
      }
      if (n !== total) throw new Error(`discarded ${n} of ${total}`);
      return n;
    }),
  };
  const SCRAPES = 20;
  const scrape = (work: (conn: OpenDatabase) => void) =>
    Math.round(measure('pending', (conn) => {
      for (let i = 0; i < SCRAPES; i++) work(conn);
      return SCRAPES;
    }) / 10) / 100;
  const scrapeMs = {
    oldest_undelivered_age: scrape((c) => void oldestPendingCreatedAt(c.db)),
    undelivered_by_method: scrape((c) => void undeliveredByMethod(c.db)),
    dead_letters_by_method: scrape((c) => void deadLettersByMethod(c.db)),
  };

  const result = {
    settings: { total, runs, page: PAGE, call: CALL, runtime: runtimeName(), sqlite: driver, cpus: cpus().length },
    dead_letters_cpu_us_per_item: deadLetters,
    scrape_cpu_ms_per_gauge: scrapeMs,
  };
  console.log(`operating cost (${runtimeName()}, ${driver}; CPU, median of ${runs} runs, ${total} dead letters or undelivered notifications)`);
  const table = (title: string, unit: string, rows: Record<string, number>) => {
    console.log(`| ${title.padEnd(42)} | ${unit.padStart(6)} |\n|${'-'.repeat(44)}|-------:|`);
    for (const [k, v] of Object.entries(rows)) console.log(`| ${k.replaceAll('_', ' ').padEnd(42)} | ${String(v).padStart(6)} |`);
  };
  table('dead letters, per dead letter', 'µs', deadLetters);
  table('a /metrics scrape, per gauge', 'ms', scrapeMs);
  const out = join(root, opt.out);
  mkdirSync(out, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const text = JSON.stringify(result, null, 2);
  writeFileSync(join(out, `bench-operate-${stamp}.json`), text);
  writeFileSync(join(out, 'latest-operate.json'), text);
  console.log(`written to ${join(opt.out, `bench-operate-${stamp}.json`)}`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(await runOperateBench(process.argv.slice(2)));
