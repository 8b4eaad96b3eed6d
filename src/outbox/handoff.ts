/**
 * @module outbox/handoff
 * Notifications leaving this outbox for another store, and arriving from one (Kafka cluster mode: a
 * notification whose attempt failed waits on the retry topic, where any instance can take it).
 *
 * Leaving: pending notifications that failed at least once are leased (state inflight, so delivery
 * cannot claim them) with their alarms read; once the other store holds them, they are removed (only
 * while still under that lease); if it could not take them, the lease is given back. Arriving: a
 * notification is inserted with its own id, attempts and times (its alarms too, if this outbox lacks
 * them), unless this outbox already has it, pending, dead or sent.
 *
 * Every method runs inside the caller's transaction (the group committer's), under the write lock.
 */
import type { Alarm } from '../domain/alarm.ts';
import type { Connection } from './db.ts';
import { ALARM_COLUMNS, ALARM_PLACEHOLDERS, alarmToValues, rowFromValues, rowToAlarm } from './rows.ts';

/** A notification with everything another instance needs to deliver it. */
export interface HandoffRecord {
  readonly id: string;
  readonly method: string;
  readonly attempts: number;
  readonly createdAt: number;
  readonly nextAttemptAt: number;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  /** Its alarms, in order. */
  readonly alarms: readonly Alarm[];
  /** The notification it is delivered after (see outbox/schema notifications.after_id), if any. */
  readonly afterId?: string;
  /** Its repeat number (0: a state change). */
  readonly repeat?: number;
}

/** A leased notification: its id, and how many attempts it had. */
export interface HandoffCandidate {
  readonly id: string;
  readonly attempts: number;
}

export class Handoff {
  readonly #q;

  constructor({ raw }: Connection) {
    this.#q = {
      candidates: raw.prepare(
        `SELECT id, attempts FROM notifications WHERE state = 'pending' AND attempts >= 1 ORDER BY next_attempt_at LIMIT ?`,
      ),
      lease: raw.prepare(`UPDATE notifications SET state = 'inflight', lease_until = ? WHERE id = ? AND state = 'pending'`),
      load: raw.prepare(
        `SELECT id, alarm_id, alarm_count, method, attempts, created_at, next_attempt_at, last_status, last_error, after_id, repeat FROM notifications WHERE id = ?`,
      ),
      members: raw.prepare('SELECT alarm_id FROM notification_alarms WHERE notification_id = ? ORDER BY position'),
      alarm: raw.prepare(`SELECT ${ALARM_COLUMNS} FROM alarms WHERE id = ?`),
      remove: raw.prepare(`DELETE FROM notifications WHERE id = ? AND state = 'inflight' AND lease_until = ?`),
      removeMembers: raw.prepare('DELETE FROM notification_alarms WHERE notification_id = ?'),
      unlease: raw.prepare(`UPDATE notifications SET state = 'pending', lease_until = NULL WHERE id = ? AND state = 'inflight' AND lease_until = ?`),
      takeOver: raw.prepare(
        `UPDATE notifications SET state = 'pending', lease_until = NULL, attempts = ?, next_attempt_at = ?, last_status = ?, last_error = ?
         WHERE id = ? AND state = 'inflight' AND lease_until = ?`,
      ),
      known: raw.prepare(
        'SELECT 1 FROM notifications WHERE id = ? UNION ALL SELECT 1 FROM deliveries WHERE notification_id = ? LIMIT 1',
      ),
      hasAlarm: raw.prepare('SELECT 1 FROM alarms WHERE id = ?'),
      insertAlarm: raw.prepare(`INSERT INTO alarms (${ALARM_COLUMNS}) VALUES (${ALARM_PLACEHOLDERS})`),
      insert: raw.prepare(
        `INSERT INTO notifications (id, alarm_id, alarm_count, method, state, attempts, created_at, next_attempt_at, last_status, last_error, after_id, repeat)
         VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertMember: raw.prepare('INSERT INTO notification_alarms (notification_id, position, alarm_id) VALUES (?, ?, ?)'),
      unsettled: raw.prepare(
        `SELECT id FROM notifications WHERE state != 'dead' AND id IN (SELECT value FROM json_each(?))`,
      ),
    };
  }

  /** Pending notifications that failed at least once, oldest due first; `keep` filters them further. */
  candidates(limit: number, keep: (c: HandoffCandidate) => boolean): HandoffCandidate[] {
    return this.#q.candidates.values(limit).map((r) => ({ id: String(r[0]), attempts: Number(r[1]) })).filter(keep);
  }

  /** Leases the candidates until `leaseUntil` and reads them whole; those delivery took meanwhile are left out. */
  lease(ids: readonly string[], leaseUntil: number): HandoffRecord[] {
    const out: HandoffRecord[] = [];
    for (const id of ids) {
      if (Number(this.#q.lease.run(leaseUntil, id).changes) === 0) continue;
      // id, alarm_id, alarm_count, method, attempts, created_at, next_attempt_at, last_status, last_error
      const n = this.#q.load.values(id)[0]!;
      const alarmIds = Number(n[2]) > 1 ? this.#q.members.values(id).map((m) => String(m[0])) : [String(n[1])];
      const alarms = alarmIds.map((a) => {
        const row = this.#q.alarm.values(a)[0];
        if (!row) throw new Error(`notification ${id}: its alarm ${a} is not in the outbox`);
        return rowToAlarm(rowFromValues(row));
      });
      out.push({
        id, method: String(n[3]), attempts: Number(n[4]), createdAt: Number(n[5]), nextAttemptAt: Number(n[6]),
        lastStatus: n[7] === null ? null : Number(n[7]), lastError: n[8] === null ? null : String(n[8]), alarms,
        ...(n[9] !== null && { afterId: String(n[9]) }),
        ...(Number(n[10]) > 0 && { repeat: Number(n[10]) }),
      });
    }
    return out;
  }

  /** Removes notifications still under `leaseUntil` (another store holds them now); returns those removed. */
  remove(ids: readonly string[], leaseUntil: number): string[] {
    const removed: string[] = [];
    for (const id of ids) {
      if (Number(this.#q.remove.run(id, leaseUntil).changes) === 0) continue;
      this.#q.removeMembers.run(id);
      removed.push(id);
    }
    return removed;
  }

  /** Gives back the lease of notifications the other store did not take: pending again, as they were. */
  unlease(ids: readonly string[], leaseUntil: number): void {
    for (const id of ids) this.#q.unlease.run(id, leaseUntil);
  }

  /**
   * Inserts a notification from another store: `inserted`; `known` when this outbox already has it
   * (pending, in flight, dead or sent). `leaving`: the lease under which this outbox is handing the same
   * notification off right now (its record came back before the hand-off removed it here): the arrival
   * takes the row over (`taken`), pending again as the record says, and the hand-off leaves it here.
   */
  arrive(r: HandoffRecord, leaving?: number): 'inserted' | 'taken' | 'known' {
    if (leaving !== undefined && Number(this.#q.takeOver.run(r.attempts, r.nextAttemptAt, r.lastStatus, r.lastError, r.id, leaving).changes) > 0) return 'taken';
    if (this.#q.known.values(r.id, r.id).length > 0) return 'known';
    const first = r.alarms[0];
    if (!first) throw new Error(`notification ${r.id} carries no alarm`);
    for (const a of r.alarms) if (this.#q.hasAlarm.values(a.id).length === 0) this.#q.insertAlarm.run(...alarmToValues(a, 1));
    this.#q.insert.run(r.id, first.id, r.alarms.length, r.method, r.attempts, r.createdAt, r.nextAttemptAt, r.lastStatus, r.lastError, r.afterId ?? null, r.repeat ?? 0);
    if (r.alarms.length > 1) r.alarms.forEach((a, i) => this.#q.insertMember.run(r.id, i, a.id));
    return 'inserted';
  }

  /** Which of these notifications are still to be delivered here (pending or in flight). */
  unsettled(ids: readonly string[]): Set<string> {
    if (ids.length === 0) return new Set();
    return new Set(this.#q.unsettled.values(JSON.stringify(ids)).map((r) => String(r[0])));
  }
}
