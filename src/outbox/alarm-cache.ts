/**
 * @module outbox/alarm-cache
 * Alarms enqueued by this process, kept until their notifications are claimed, so the delivery fast path
 * need not read them back. Bounded by count and by approximate size. When it is full, new alarms are not
 * cached (they are read from the database when claimed): delivery takes the oldest first, so those already
 * cached are the ones needed next, and a full cache costs nothing per alarm (evicting the oldest did: a
 * Map's first key is slow to find after many deletions, which made a lagging relay slower still).
 */
import type { Alarm } from '../domain/alarm.ts';

const MAX_ENTRIES = 20_000;
const MAX_BYTES = 64 * 1024 * 1024;

interface Entry {
  readonly alarm: Alarm;
  /** Notifications of this alarm not yet claimed. */
  remaining: number;
  readonly bytes: number;
}

/** Rough size of an alarm in memory (its strings dominate). */
function approxBytes(a: Alarm): number {
  let n = 256 + (a.summary?.length ?? 0) + (a.description?.length ?? 0);
  for (const [k, v] of Object.entries(a.labels)) n += k.length + v.length;
  for (const [k, v] of Object.entries(a.annotations)) n += k.length + v.length;
  if (a.details !== undefined) n += JSON.stringify(a.details).length;
  return 2 * n;
}

export class AlarmCache {
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  readonly #maxEntries: number;
  readonly #maxBytes: number;

  constructor(limits: { readonly maxEntries?: number; readonly maxBytes?: number } = {}) {
    this.#maxEntries = limits.maxEntries ?? MAX_ENTRIES;
    this.#maxBytes = limits.maxBytes ?? MAX_BYTES;
  }

  /** Keep `alarm` until `notifications` claims have taken it. */
  add(alarm: Alarm, notifications: number): void {
    if (this.#entries.size >= this.#maxEntries) return;
    const entry: Entry = { alarm, remaining: notifications, bytes: approxBytes(alarm) };
    // A huge alarm is read back when claimed.
    if (entry.bytes > this.#maxBytes / 16 || this.#bytes + entry.bytes > this.#maxBytes) return;
    this.#entries.set(alarm.id, entry);
    this.#bytes += entry.bytes;
  }

  /** The alarm for one claimed notification (released after its last notification is claimed). */
  take(id: string): Alarm | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    if (--entry.remaining <= 0) this.#drop(id);
    return entry.alarm;
  }

  /** Forgets every alarm (they are read from the database when claimed). */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  #drop(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    this.#bytes -= entry.bytes;
  }
}
