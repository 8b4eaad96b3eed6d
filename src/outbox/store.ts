/**
 * @module outbox/store
 * The outbox, by role: `enqueue` (ingest writes), `delivery` (claim with a lease, complete, leases,
 * remote references), `queries` (reads) and `upkeep` (prune, write probe), sharing the in-memory count
 * of undelivered notifications and the cache of alarms waiting to be claimed.
 * Synchronous (every SQLite driver we use is); hot statements are prepared once.
 * A notification moves pending → inflight (leased) → sent (moved to `deliveries`) | pending again | dead.
 *
 * Two connections: ingest writes go through `db` (the configured synchronous level); delivery
 * bookkeeping may use a second one at synchronous=NORMAL (see outbox/delivery).
 */
import type { Alarm } from '../domain/alarm.ts';
import { AlarmCache } from './alarm-cache.ts';
import type { SyncDb } from './db.ts';
import { DeliveryLedger } from './delivery.ts';
import { Enqueuer } from './enqueue.ts';
import { PendingCount } from './pending.ts';
import { OutboxQueries } from './queries.ts';
import { OutboxUpkeep } from './upkeep.ts';

export type { Claimed, Completion, AttemptRecord } from './delivery.ts';
export type { NewNotification, IdempotencyRecord } from './enqueue.ts';

export class OutboxStore {
  readonly enqueue: Enqueuer;
  readonly delivery: DeliveryLedger;
  readonly queries: OutboxQueries;
  readonly upkeep: OutboxUpkeep;
  readonly #pending = new PendingCount();
  readonly #cache = new AlarmCache();

  constructor(db: SyncDb, deliveryDb: SyncDb = db) {
    this.enqueue = new Enqueuer(db);
    this.delivery = new DeliveryLedger(deliveryDb, this.#cache, this.#pending);
    this.queries = new OutboxQueries(db);
    this.upkeep = new OutboxUpkeep(db);
  }

  /** Undelivered (pending or in flight) notifications, maintained in memory (0 until `countPending` ran). */
  get pendingCount(): number {
    return this.#pending.value;
  }

  /** Counts the undelivered notifications (time grows with the backlog: the app runs it after listening). */
  countPending(): number {
    return this.setPendingCount(this.queries.countUndelivered());
  }

  /** Sets the in-memory count from a count just taken (see PendingCount.counted); returns it. */
  setPendingCount(total: number): number {
    this.#pending.counted(total);
    return this.#pending.value;
  }

  /** After an enqueue transaction committed: count its notifications and cache its alarms until claimed. */
  noteCommitted(committed: readonly { readonly alarm: Alarm; readonly notifications: number }[]): void {
    for (const { alarm, notifications } of committed) {
      this.#pending.add(notifications);
      if (notifications > 0) this.#cache.add(alarm, notifications);
    }
  }
}
