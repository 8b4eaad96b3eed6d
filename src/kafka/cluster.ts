/**
 * @module kafka/cluster
 * Cluster mode (`durability: cluster`): Kafka holds what would otherwise wait on one host's disk.
 *
 * - The commit gate: a message's offset is committed only once each notification it produced is sent,
 *   dead, or on the retry topic. Batches wait in order per partition; the gate commits the offset of the
 *   last batch whose notifications (and every earlier batch's) are all settled.
 * - The hand-off: a notification whose attempt here failed is produced to the retry topic (acknowledged
 *   by every in-sync replica) and then removed from this outbox; any instance of the group consumes the
 *   topic, keeps the notification (same id, attempts and times) until it is delivered, dead or handed
 *   off again, and only then commits that retry message.
 */
import type { Logger } from '../lib/logger.ts';
import { coerceError } from '../lib/errors.ts';
import type { HandoffRecord, Handoff } from '../outbox/handoff.ts';

export interface OffsetCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

type Waiting = { offset: string; ids: Set<string> };

/**
 * Batches waiting for their notifications, per partition, in consumption order. A notification handed
 * to the retry topic no longer holds up the batches that were waiting for it when it was leased (it may
 * come back from the retry topic: then the retry message's batch waits for it, not those).
 */
export class CommitGate {
  readonly #waiting = new Map<string, { topic: string; partition: number; batches: Waiting[] }>();
  /** Offsets ready but not yet committed (a commit that failed is tried again). */
  readonly #ready = new Map<string, OffsetCommit>();

  add(topic: string, partition: number, offset: string, ids: readonly string[]): void {
    const k = `${topic}:${partition}`;
    const q = this.#waiting.get(k) ?? { topic, partition, batches: [] };
    q.batches.push({ offset, ids: new Set(ids) });
    this.#waiting.set(k, q);
  }

  /** A partition this instance no longer holds: what waited for it is someone else's to consume again. */
  drop(topic: string, partition: number): void {
    this.#waiting.delete(`${topic}:${partition}`);
    this.#ready.delete(`${topic}:${partition}`);
  }

  /** The notification ids the first `lookahead` waiting batches of each partition still wait for. */
  waitedFor(lookahead: number): string[] {
    return [...this.#waiting.values()].flatMap((q) => q.batches.slice(0, lookahead).flatMap((b) => [...b.ids]));
  }

  /**
   * The batches waiting for these notifications now; the function it returns makes them stop waiting for
   * them (call it once the notifications are on the retry topic). Batches added meanwhile keep waiting.
   */
  holding(ids: readonly string[]): () => void {
    const wanted = new Set(ids);
    const held: [Waiting, string][] = [];
    for (const q of this.#waiting.values()) for (const b of q.batches) for (const id of b.ids) if (wanted.has(id)) held.push([b, id]);
    return () => {
      for (const [b, id] of held) b.ids.delete(id);
    };
  }

  /**
   * Moves the batches whose notifications are settled (in order, at most `lookahead` per partition: the
   * batches whose ids `waitedFor(lookahead)` gave, the only ones `unsettled` was asked about) to the
   * offsets to commit; returns those.
   */
  settle(unsettled: ReadonlySet<string>, lookahead: number): OffsetCommit[] {
    for (const [k, q] of this.#waiting) {
      let n = 0;
      while (n++ < lookahead && q.batches.length > 0 && ![...q.batches[0]!.ids].some((id) => unsettled.has(id))) {
        this.#ready.set(k, { topic: q.topic, partition: q.partition, offset: q.batches.shift()!.offset });
      }
      if (q.batches.length === 0) this.#waiting.delete(k);
    }
    return [...this.#ready.values()];
  }

  /** These offsets are committed. */
  committed(commits: readonly OffsetCommit[]): void {
    for (const c of commits) {
      const k = `${c.topic}:${c.partition}`;
      if (this.#ready.get(k) === c) this.#ready.delete(k);
    }
  }

  get size(): number {
    return this.#waiting.size + this.#ready.size;
  }
}

export interface HandoffDeps {
  /** Runs fn in a write transaction of the outbox (the group committer). */
  readonly transact: <T>(fn: () => T) => Promise<T>;
  readonly handoff: Handoff;
  /** Produces the records to the retry topic; resolves once the brokers acknowledged them all. */
  readonly produce: (records: readonly HandoffRecord[]) => Promise<void>;
  /** Notifications that left this outbox (no longer undelivered here). */
  readonly left: (n: number) => void;
  /** Called when notifications are leased for the hand-off; what it returns is called once they left. */
  readonly leasing?: (ids: readonly string[]) => () => void;
  readonly now: () => number;
  readonly logger: Logger;
}

/** How long a notification being handed off is leased (far beyond a produce's timeout). */
export const HANDOFF_LEASE_MS = 5 * 60_000;
const HANDOFF_BATCH = 500;

/**
 * The hand-off of failed notifications. `arrivedWith(id)`: the attempts a notification had when it came
 * from the retry topic (it leaves again only after failing here too); 0 for this instance's own.
 */
export function createHandoff(deps: HandoffDeps) {
  const arrived = new Map<string, number>();
  /** Notifications being handed off now, with their lease. */
  const leaving = new Map<string, number>();
  let running = false;

  /** One pass: lease what failed here, produce it, remove it. Returns how many left. */
  const pass = async (): Promise<number> => {
    if (running) return 0;
    running = true;
    const leaseUntil = deps.now() + HANDOFF_LEASE_MS;
    let records: HandoffRecord[] = [];
    try {
      // A read first: most passes find nothing, and then no write transaction (no fsync) is made.
      // Those that arrived and have not failed here are skipped, after the LIMIT: it leaves room for all of them.
      const keep = (c: { id: string; attempts: number }) => c.attempts > (arrived.get(c.id) ?? 0);
      const pick = () => deps.handoff.candidates(HANDOFF_BATCH + arrived.size, keep).slice(0, HANDOFF_BATCH).map((c) => c.id);
      if (pick().length === 0) return 0;
      records = await deps.transact(() => deps.handoff.lease(pick(), leaseUntil));
      if (records.length === 0) return 0;
      const ids = records.map((r) => r.id);
      for (const id of ids) leaving.set(id, leaseUntil);
      const gone = deps.leasing?.(ids);
      let removed: string[];
      try {
        try {
          await deps.produce(records);
        } catch (e) {
          await deps.transact(() => deps.handoff.unlease(ids, leaseUntil));
          throw e;
        }
        removed = await deps.transact(() => deps.handoff.remove(ids, leaseUntil));
      } finally {
        for (const id of ids) leaving.delete(id);
      }
      // Those whose record came back meanwhile stay here (see Handoff.arrive): no longer counted as leaving.
      for (const id of removed) arrived.delete(id);
      gone?.();
      deps.left(removed.length);
      deps.logger.debug({ notifications: removed.length }, 'failed notifications handed to the retry topic');
      return removed.length;
    } catch (e) {
      deps.logger.warn({ notifications: records.length, err: coerceError(e).message }, 'could not hand failed notifications to the retry topic; they stay here and are tried again');
      return 0;
    } finally {
      running = false;
    }
  };

  return {
    pass,
    /** The lease under which this notification is being handed off now, if it is. */
    leavingUnder(id: string): number | undefined {
      return leaving.get(id);
    },
    /** A notification from the retry topic, with the attempts it had. */
    arrivedWith(id: string, attempts: number): void {
      arrived.set(id, attempts);
    },
    /** Forget notifications that are settled here (sent or dead). */
    forget(settled: (id: string) => boolean): void {
      for (const id of arrived.keys()) if (settled(id)) arrived.delete(id);
    },
  };
}

export type HandoffService = ReturnType<typeof createHandoff>;
