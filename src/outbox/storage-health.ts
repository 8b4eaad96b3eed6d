/**
 * @module outbox/storage-health
 * Whether an ingest commit can succeed now, from what the commits and a write probe met: the database
 * locked by another process, a full disk, an I/O error, or the database file deleted or replaced under
 * the running relay. /readyz reports it, ingest refuses (503) while the file is gone, and each change is
 * logged once (not once per request).
 */
import type { Logger } from '../lib/logger.ts';
import { coerceError } from '../lib/errors.ts';
import { storageFault, StorageUnavailableError, type StorageFault } from './storage-fault.ts';

export type StorageProblem = StorageFault | 'gone';

export interface StorageHealthDeps {
  /** The database file, for messages. */
  readonly file: string;
  /** A real write (see OutboxUpkeep.probeWritable); throws what a commit would. */
  readonly probe: () => void;
  /** The database file's identity now (device and inode), undefined if it is missing. */
  readonly identity: () => string | undefined;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  readonly logger: Logger;
  /** Space kept back for a full disk (see app/storage-reserve): freed when the disk fills, taken back before ingest resumes. */
  readonly reserve?: { ensure(): boolean; release(): boolean };
}

/** How old the last verdict may be before /readyz probes again. */
export const PROBE_MAX_AGE_MS = 1000;
/** How often the commit path looks at the file's identity (a stat). */
const IDENTITY_EVERY_MS = 250;
/** What ingest tells clients to wait, by problem. */
const RETRY_AFTER_SEC: Record<StorageProblem, number> = { locked: 5, full: 30, io: 30, gone: 60 };

export class StorageHealth {
  readonly #deps: StorageHealthDeps;
  readonly #identity: string | undefined;
  #problem: { kind: StorageProblem; reason: string } | undefined;
  #verdictAt = -Infinity;
  #identityAt = -Infinity;

  constructor(deps: StorageHealthDeps) {
    this.#deps = deps;
    this.#identity = deps.identity();
  }

  /** What is wrong now (undefined: commits can succeed as far as we know). */
  get problem(): StorageProblem | undefined {
    return this.#problem?.kind;
  }

  /** The reason /readyz gives, undefined when ready. */
  get reason(): string | undefined {
    return this.#problem?.reason;
  }

  /** A commit went through. */
  committed(): void {
    this.#verdictAt = this.#deps.now();
    if (this.#problem && this.#problem.kind !== 'gone') this.#set(undefined);
  }

  /** A commit failed with `e`; returns the storage fault it was, if any (undefined: not the storage's doing). */
  failed(e: unknown): StorageFault | undefined {
    const fault = storageFault(e);
    if (fault && this.#problem?.kind !== 'gone') {
      this.#verdictAt = this.#deps.now();
      this.#set({ kind: fault, reason: describe(fault, coerceError(e).message) });
    }
    return fault;
  }

  /** Found full before any commit (opening the database needed the reserve). */
  noteDiskFull(): void {
    this.#verdictAt = this.#deps.now();
    this.#set({ kind: 'full', reason: describe('full', '') });
  }

  /**
   * For the commit path: throws StorageUnavailableError while the database file is gone (a stat every
   * 250 ms at most), and while the disk is full (the space left is for delivering what was accepted).
   */
  assertUsable(): void {
    const t = this.#deps.now();
    if (t - this.#identityAt >= IDENTITY_EVERY_MS) this.#checkIdentity(t);
    const kind = this.#problem?.kind;
    if (kind === 'gone' || (kind === 'full' && this.#deps.reserve)) throw this.unavailable();
  }

  /** The error ingest answers with (503) for the current problem. */
  unavailable(): StorageUnavailableError {
    const p = this.#problem;
    return new StorageUnavailableError(
      p ? `cannot store the alarm now: ${p.reason}; nothing was accepted, retry later` : 'cannot store the alarm now; nothing was accepted, retry later',
      p ? RETRY_AFTER_SEC[p.kind] : 5,
    );
  }

  /**
   * For /readyz and the watch timer: the file's identity, and a write probe when the last verdict (a
   * commit or a probe) is older than `maxAgeMs`. Returns the reason it is not ready, if any.
   */
  check(maxAgeMs = PROBE_MAX_AGE_MS): string | undefined {
    const t = this.#deps.now();
    this.#checkIdentity(t);
    if (this.#problem?.kind !== 'gone' && t - this.#verdictAt >= maxAgeMs) {
      // Full: ingest resumes only once the space kept back is back.
      if (this.#problem?.kind === 'full' && this.#deps.reserve && !this.#deps.reserve.ensure()) {
        this.#verdictAt = t;
        return this.reason;
      }
      try {
        this.#deps.probe();
        this.committed();
      } catch (e) {
        const fault = this.failed(e);
        if (!fault) throw e;
        // Still full although the reserve was written back: free it again, delivery needs it more.
        if (fault === 'full') this.#deps.reserve?.release();
      }
    }
    return this.reason;
  }

  #checkIdentity(t: number): void {
    this.#identityAt = t;
    if (this.#problem?.kind === 'gone' || this.#identity === undefined) return;
    let now: string | undefined;
    try {
      now = this.#deps.identity();
    } catch {
      return; // cannot tell (a transient stat error): the commits will say
    }
    if (now === this.#identity) return;
    this.#set({
      kind: 'gone',
      reason: `database file ${this.#deps.file} was ${now === undefined ? 'deleted' : 'replaced'} while tocsin was running`,
    });
  }

  #set(next: { kind: StorageProblem; reason: string } | undefined): void {
    const before = this.#problem;
    if (before?.kind === next?.kind) {
      if (next) this.#problem = next;
      return;
    }
    this.#problem = next;
    const { logger } = this.#deps;
    if (!next) logger.info({ was: before?.reason }, 'database writable again: ingest accepts alarms');
    else if (next.kind === 'gone')
      logger.error(
        { reason: next.reason },
        'database file gone: ingest answers 503 and /readyz fails; notifications already taken keep going out from the open file; restart tocsin to start a new database',
      );
    // A lock held elsewhere usually passes (a backup, a sqlite3 shell): warn; the rest needs someone.
    else if (next.kind === 'locked') logger.warn({ reason: next.reason }, 'cannot write the database: ingest waits, then answers 503, until it can');
    else logger.error({ reason: next.reason }, 'cannot write the database: ingest waits, then answers 503, until it can');
    if (next?.kind === 'full' && this.#deps.reserve?.release()) {
      logger.warn({}, 'disk full: freed the space tocsin keeps in reserve, so that accepted notifications are delivered and recorded; ingest answers 503 until space is freed');
    }
  }
}

function describe(fault: StorageFault, message: string): string {
  switch (fault) {
    case 'locked':
      return 'database locked by another process';
    case 'full':
      return 'disk full';
    case 'io':
      return `database not writable (${message})`;
  }
}
