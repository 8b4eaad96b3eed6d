/**
 * @module canary/status-command
 * `tocsin canary status`: each heartbeat canary's last runs (issue #10), read from `canary_runs` in the
 * relay's database. It works while tocsin runs: it only reads. The runtime's SQLite opener has no
 * read-only mode, so the database is opened as usual, the connection is switched to `query_only` and
 * sends nothing but SELECTs; nothing is created (a missing database is reported, not made), nothing
 * is migrated. WAL readers do not block the relay's writers, and the relay's writes do not block this.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { defaultConfig } from '../config/defaults.ts';
import type { CanaryConfig, Config } from '../config/types.ts';
import { coerceError } from '../lib/errors.ts';
import { CanaryRuns, type CanaryRunRow } from '../outbox/canary-runs.ts';
import type { OpenDatabase, SyncDb } from '../outbox/db.ts';
import { hasTable, readDatabase } from '../outbox/read-only.ts';
import { loadPlatform } from '../runtime/detect.ts';

/** Runs per canary when --limit is not given. */
export const DEFAULT_LIMIT = 10;
/** The most characters of a fail reason on one line of the text output. */
export const REASON_WIDTH = 120;

export interface CanaryStatusOptions {
  /** The config file (undefined: the built-in defaults, as `serve`). */
  readonly configPath: string | undefined;
  /** Runs per canary, newest first. */
  readonly limit?: number;
  /** JSON instead of the text columns. */
  readonly json?: boolean;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
}

/** One canary as printed: configured (with its settings) or only found in the database. */
export interface CanaryStatus {
  readonly name: string;
  readonly config: CanaryConfig | undefined;
  readonly runs: readonly CanaryRunRow[];
}

export interface StatusReport {
  readonly database: string;
  /** False on a database older than the canaries (no `canary_runs` table). */
  readonly hasTable: boolean;
  /** The configured canaries in config order, then those only in the database by name. */
  readonly canaries: readonly CanaryStatus[];
}

/** Prints the status; returns the exit code (a bad config throws the ConfigError, as check-config does). */
export async function canaryStatus(opts: CanaryStatusOptions): Promise<number> {
  const out = opts.stdout ?? ((t) => void process.stdout.write(t));
  const err = opts.stderr ?? ((t) => void process.stderr.write(t));
  const config = opts.configPath === undefined ? defaultConfig() : (await import('../config/load.ts')).loadConfig(opts.configPath);
  const file = join(config.dataDir, 'tocsin.db'); // as app/open-outbox's databaseFile
  if (!existsSync(file)) {
    err(`tocsin canary status: no database at ${file}${missingHint(config)}\n`);
    return 1;
  }
  const open = await (await loadPlatform()).loadSqlite();
  const report = readStatus(open, file, config, opts.limit ?? DEFAULT_LIMIT);
  out(opts.json ? renderJson(report) : renderText(report));
  return 0;
}

function missingHint(config: Config): string {
  const old = config.dataDirFromCwd;
  if (old !== undefined && existsSync(join(old, 'tocsin.db'))) {
    return ` (data_dir resolves against the config file's directory; ${old}, the same path from the working directory, has one)`;
  }
  return ' (tocsin has not run with this data_dir yet)';
}

/** Opens `file` with `open`, reads every canary's last `limit` runs, closes it. SELECTs only. */
export function readStatus(open: (file: string) => OpenDatabase, file: string, config: Config, limit: number): StatusReport {
  return readDatabase(open, file, (conn) => {
    try {
      const { db } = conn;
      const known = hasTable(conn, 'canary_runs');
      const configured = config.canaries.map((c) => c.name);
      const others = known ? canaryNames(db).filter((n) => !configured.includes(n)) : [];
      const runs = new CanaryRuns(db);
      const recent = (name: string) => (known ? runs.recent(name, limit) : []);
      const canaries: CanaryStatus[] = [
        ...config.canaries.map((c) => ({ name: c.name, config: c, runs: recent(c.name) })),
        ...others.map((name) => ({ name, config: undefined, runs: recent(name) })),
      ];
      return { database: file, hasTable: known, canaries };
    } catch (e) {
      throw new Error(`cannot read the canary runs in ${file}: ${coerceError(e).message}`);
    }
  });
}

function canaryNames(db: SyncDb): string[] {
  return db.all<{ canary: string }>(sql`SELECT DISTINCT canary FROM canary_runs ORDER BY canary`).map((r) => r.canary);
}

// ---- text ------------------------------------------------------------------------------------

/**
 * Per canary (a blank line between two) a header line, then its runs as aligned columns: started (UTC,
 * seconds), rid, outcome, and the latency (succeeded), the reason (failed, on one line, cut to
 * REASON_WIDTH) or the stage (open). Without a canary_runs table, or with nothing to list: one line.
 */
export function renderText(report: StatusReport): string {
  if (!report.hasTable || report.canaries.length === 0) return 'no canary runs yet\n';
  const cells = report.canaries.map((c) => c.runs.map((r) => [isoSeconds(r.startedAt), r.rid, r.outcome, lastColumn(r)]));
  const widths = [0, 1, 2].map((i) => Math.max(0, ...cells.flat().map((row) => row[i]!.length)));
  const lines: string[] = [];
  report.canaries.forEach((c, i) => {
    if (i > 0) lines.push('');
    lines.push(header(c));
    if (c.runs.length === 0) lines.push('  no runs yet');
    for (const row of cells[i]!) lines.push(`  ${row.map((cell, j) => (j < 3 ? cell.padEnd(widths[j]!) : cell)).join('  ')}`.trimEnd());
  });
  return `${lines.join('\n')}\n`;
}

function header(c: CanaryStatus): string {
  if (c.config === undefined) return `canary ${c.name}: (not configured)`;
  const { intervalMs, maxLatencyMs, methods } = c.config;
  return `canary ${c.name}: every ${duration(intervalMs)}, max_latency ${duration(maxLatencyMs)}, methods ${methods.join(', ')}`;
}

function lastColumn(r: CanaryRunRow): string {
  switch (r.outcome) {
    case 'succeeded':
      return r.latencyMs === null ? '' : `${r.latencyMs} ms`;
    case 'failed':
      return oneLine(r.reason ?? '', REASON_WIDTH);
    case 'open':
      return r.stage;
    default:
      return '';
  }
}

/** Whitespace and control characters (a receiver's error text may hold terminal escapes) become one space; cut to `width`. */
export function oneLine(text: string, width: number): string {
  const chars = [...text.replace(/[\s\p{Cc}]+/gu, ' ').trim()];
  return chars.length <= width ? chars.join('') : `${chars.slice(0, width - 1).join('')}…`;
}

/** "2026-11-22T02:47:40Z" */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** "1m", "30s", "1500ms": the largest unit that divides it (as canary/run words its fail reasons). */
export function duration(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

// ---- JSON ------------------------------------------------------------------------------------

/** The canaries in the order of the text output, each with its runs: the table's columns (but `detail`), times in RFC 3339 UTC. */
export function renderJson(report: StatusReport): string {
  const canaries = report.canaries.map((c) => ({
    name: c.name,
    configured: c.config !== undefined,
    ...(c.config && { interval_ms: c.config.intervalMs, max_latency_ms: c.config.maxLatencyMs, methods: c.config.methods }),
    runs: c.runs.map((r) => ({
      rid: r.rid,
      started_at: new Date(r.startedAt).toISOString(),
      outcome: r.outcome,
      stage: r.stage,
      latency_ms: r.latencyMs,
      reason: r.reason,
      finished_at: r.finishedAt === null ? null : new Date(r.finishedAt).toISOString(),
      firing_alarm_id: r.firingAlarmId,
      resolved_alarm_id: r.resolvedAlarmId,
    })),
  }));
  return `${JSON.stringify({ database: report.database, canaries }, null, 2)}\n`;
}
