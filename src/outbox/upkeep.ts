/**
 * @module outbox/upkeep
 * Housekeeping of the outbox: pruning history past its retention, and the write probe behind /readyz.
 */
import { lte, sql } from 'drizzle-orm';
import type { SyncDb } from './db.ts';
import { attempts, deliveries, idempotencyKeys } from './schema.ts';
import { withLock, type WriteLock } from './write-lock.ts';

export class OutboxUpkeep {
  readonly #db: SyncDb;
  readonly #lock: WriteLock | undefined;

  constructor(db: SyncDb, lock?: WriteLock) {
    this.#db = db;
    this.#lock = lock;
  }


  /**
   * Deletes history older than the retention: delivery log, attempts, dead letters (by when they died),
   * expired idempotency keys, the member lists of notifications that are gone, resolved alarm states,
   * ended silences, idle groups, and alarms with nothing left to deliver, show or remember. Remote references stay until their channel removes them.
   */
  prune(now: number, retentionMs: number, idempotencyTtlMs: number): void {
    const horizon = now - retentionMs;
    withLock(this.#lock, () => this.#db.transaction((tx) => {
      tx.delete(deliveries).where(lte(deliveries.sentAt, horizon)).run();
      tx.delete(attempts).where(lte(attempts.at, horizon)).run();
      tx.run(sql`DELETE FROM notifications WHERE state = 'dead' AND dead_at <= ${horizon}`);
      tx.delete(idempotencyKeys).where(lte(idempotencyKeys.createdAt, now - idempotencyTtlMs)).run();
      tx.run(sql`DELETE FROM notification_alarms
        WHERE NOT EXISTS (SELECT 1 FROM notifications n WHERE n.id = notification_alarms.notification_id)
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = notification_alarms.notification_id)`);
      // The lifecycle: resolved alarms' states, ended silences, groups idle past the retention.
      tx.run(sql`DELETE FROM alarm_states WHERE status = 'resolved' AND last_seen <= ${horizon}`);
      tx.run(sql`DELETE FROM silences WHERE ends_at <= ${horizon}`);
      tx.run(sql`DELETE FROM alarm_groups WHERE flush_at IS NULL AND (last_flush_at IS NULL OR last_flush_at <= ${horizon})`);
      // An alarm that is the latest occurrence of a state, or waits in a group, is still needed.
      tx.run(sql`DELETE FROM alarms WHERE received_at <= ${horizon}
        AND id NOT IN (SELECT alarm_id FROM alarm_states)
        AND id NOT IN (SELECT alarm_id FROM alarm_group_members)
        AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.alarm_id = alarms.id)
        AND NOT EXISTS (SELECT 1 FROM notification_alarms na WHERE na.alarm_id = alarms.id)
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.alarm_id = alarms.id)`);
    }));
  }

  /**
   * A real write for /readyz: a row written and removed again in one committed transaction, so a page
   * goes to the WAL and is synced as an ingest commit's would (a BEGIN and ROLLBACK alone write
   * nothing and succeed on a full disk). Throws what the commit would.
   */
  probeWritable(now: number): void {
    withLock(this.#lock, () =>
      this.#db.transaction((tx) => {
        tx.run(sql`INSERT OR REPLACE INTO idempotency_keys (key, alarm_ids, notification_ids, created_at) VALUES (${PROBE_KEY}, '[]', '[]', ${now})`);
        tx.run(sql`DELETE FROM idempotency_keys WHERE key = ${PROBE_KEY}`);
      }),
    );
  }
}

/** No client key looks like this (theirs are prefixed h: or n:, see ingest/accept). */
const PROBE_KEY = 'probe:readyz';
