/**
 * @module outbox/store
 * The outbox, by role: `enqueue` (ingest writes), `delivery` (claim with a lease, complete, leases,
 * remote references), `queries` (reads), `upkeep` (prune, write probe) and `states` (the alarm lifecycle), sharing the in-memory count
 * of undelivered notifications and the cache of alarms waiting to be claimed.
 * Synchronous (every SQLite driver we use is); hot statements are prepared once.
 * A notification moves pending → inflight (leased) → sent (moved to `deliveries`) | pending again | dead.
 *
 * Two connections: ingest writes go through `db` (the configured synchronous level); delivery
 * bookkeeping may use a second one at synchronous=NORMAL (see outbox/delivery).
 */
import type { Alarm } from '../domain/alarm.ts';
import { AlarmCache } from './alarm-cache.ts';
import type { Connection } from './db.ts';
import { DeliveryLedger } from './delivery.ts';
import { Enqueuer } from './enqueue.ts';
import { LifecycleStore } from './lifecycle-store.ts';
import { ChecksStore } from './checks-store.ts';
import { PendingCount } from './pending.ts';
import { OutboxQueries } from './queries.ts';
import { OutboxUpkeep } from './upkeep.ts';
import type { WriteLock } from './write-lock.ts';

export type { Claimed, Completion, AttemptRecord } from './delivery.ts';
export type { NewNotification, IdempotencyRecord } from './enqueue.ts';

/** An alarm just committed and how many notifications it got. */
export interface CommittedAlarm {
  readonly alarm: Alarm;
  readonly notifications: number;
}

export class OutboxStore {
  readonly enqueue: Enqueuer;
  readonly delivery: DeliveryLedger;
  readonly queries: OutboxQueries;
  readonly upkeep: OutboxUpkeep;
  /** Alarm states, silences and groups (written inside the enqueue transactions). */
  readonly states: LifecycleStore;
  /** The heartbeat checks: runtime checks and every check's state (written inside the enqueue transactions). */
  readonly checks: ChecksStore;
  readonly #pending = new PendingCount();
  readonly #cache = new AlarmCache();

  readonly #handOver: ((committed: readonly CommittedAlarm[]) => void) | undefined;

  /**
   * `handOver`, when another thread delivers: the alarms just committed go to it (for its cache) instead
   * of this one's, which nothing here would take.
   */
  constructor(
    main: Connection,
    delivery: Connection = main,
    opts: { readonly handOver?: (committed: readonly CommittedAlarm[]) => void; readonly lock?: WriteLock } = {},
  ) {
    this.#handOver = opts.handOver;
    this.enqueue = new Enqueuer(main, opts.lock);
    this.delivery = new DeliveryLedger(delivery, this.#cache, this.#pending, opts.lock);
    this.queries = new OutboxQueries(main.db);
    this.states = new LifecycleStore(main);
    this.checks = new ChecksStore(main);
    this.upkeep = new OutboxUpkeep(main.db, opts.lock);
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
  noteCommitted(committed: readonly CommittedAlarm[]): void {
    for (const { alarm, notifications } of committed) {
      this.#pending.add(notifications);
      if (notifications > 0 && !this.#handOver) this.#cache.add(alarm, notifications);
    }
    this.#handOver?.(committed);
  }

  /** Notifications that arrived from another store (Kafka cluster mode's retry topic): undelivered here now. */
  noteArrived(n: number): void {
    this.#pending.add(n);
  }

  /** Notifications another thread's ledger sent or dead-lettered (it reports them here), or that left for another store. */
  noteSettled(n: number): void {
    this.#pending.add(-n);
  }
}
