/**
 * @module outbox/oldest-pending
 * The questions the metrics ask of the outbox at each scrape: when the oldest undelivered (pending or in
 * flight) notification was created, the undelivered notifications and the dead letters by method. Read-only;
 * each goes through an index, so that a scrape stays cheap however deep the backlog is.
 */
import { sql } from 'drizzle-orm';
import type { SyncDb } from './db.ts';

/**
 * The creation time (outbox clock, ms) of the oldest notification still pending or in flight; undefined
 * when there is none. A backlog that only grows older is a receiver that stopped taking them. Exact,
 * through the partial index on created_at of the undelivered (a replayed notification counts from its
 * replay, which starts its new series).
 */
export function oldestPendingCreatedAt(db: SyncDb): number | undefined {
  const row = db.get<{ t: number | null }>(sql`SELECT min(created_at) AS t FROM notifications WHERE state <> 'dead'`);
  return row?.t ?? undefined;
}

/** Undelivered (pending or in flight) notifications per method, through the due and lease indexes. */
export function undeliveredByMethod(db: SyncDb): Map<string, number> {
  const out = new Map<string, number>();
  for (const state of ['pending', 'inflight'] as const) {
    const rows = db.all<{ method: string; c: number }>(sql`SELECT method, count(*) AS c FROM notifications WHERE state = ${state} GROUP BY method`);
    for (const r of rows) out.set(r.method, (out.get(r.method) ?? 0) + r.c);
  }
  return out;
}

/** Dead letters in the outbox now, by method (through the dead-letter index). */
export function deadLettersByMethod(db: SyncDb): Map<string, number> {
  const rows = db.all<{ method: string; c: number }>(sql`SELECT method, count(*) AS c FROM notifications WHERE state = 'dead' GROUP BY method`);
  return new Map(rows.map((r) => [r.method, r.c]));
}
