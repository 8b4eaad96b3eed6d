/**
 * @module ingest/silences
 * The silences in memory, compiled, as every accepted alarm is matched against them; the database
 * (outbox/lifecycle-store) holds them across restarts. Changed only after the change committed.
 */
import { compileMatcher } from '../config/matcher.ts';
import type { RouteConfig } from '../config/types.ts';
import type { Silence } from '../lifecycle/silence.ts';
import type { SilenceRow } from '../outbox/lifecycle-store.ts';

const FIELDS = ['source', 'name', 'severity', 'status'] as const;

/**
 * A stored match, compiled (it was validated with the config's schema when the silence was made: see
 * config/match; that module is not loaded here, so a relay without silences never loads the schema).
 */
function compileStored(text: string): RouteConfig['match'] {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const out: { -readonly [K in keyof RouteConfig['match']]: RouteConfig['match'][K] } = { labels: {} };
  for (const f of FIELDS) if (typeof raw[f] === 'string') out[f] = compileMatcher(raw[f]);
  const labels = raw.labels && typeof raw.labels === 'object' ? (raw.labels as Record<string, unknown>) : {};
  out.labels = Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, compileMatcher(String(v))]));
  return out;
}

/** A stored silence, compiled; undefined if its match no longer compiles (said by the caller). */
export function compileSilence(row: SilenceRow): Silence | undefined {
  try {
    return { ...row, match: compileStored(row.match), matchText: row.match };
  } catch {
    return undefined;
  }
}

export class SilenceBook {
  #list: readonly Silence[] = [];
  #staged: readonly Silence[] | undefined;
  #dirty = false;

  /**
   * Active and future silences, oldest first: a change being committed included (what runs in the same
   * transaction, or after it, must see it; see stage).
   */
  get list(): readonly Silence[] {
    return this.#staged ?? this.#list;
  }

  /** The committed list (without a staged change). */
  get committed(): readonly Silence[] {
    return this.#list;
  }

  /** A change about to be committed: `list` returns it until `set` (committed) or `unstage` (failed). */
  stage(list: readonly Silence[]): void {
    this.#staged = list;
  }

  /**
   * The staged change failed. Jobs that ran meanwhile may have recorded alarms as muted by a silence
   * that does not exist: `dirty` asks for a sweep, which sets every firing alarm right again.
   */
  unstage(): void {
    this.#staged = undefined;
    this.#dirty = true;
  }

  /** A sweep is owed (see unstage) until `swept`. */
  get dirty(): boolean {
    return this.#dirty;
  }

  swept(): void {
    this.#dirty = false;
  }

  /** Replaces the list (at start: the stored silences that have not ended). Returns the rows that did not compile. */
  load(rows: readonly SilenceRow[]): SilenceRow[] {
    const bad: SilenceRow[] = [];
    const list: Silence[] = [];
    for (const row of rows) {
      const s = compileSilence(row);
      if (s) list.push(s);
      else bad.push(row);
    }
    this.#list = list;
    return bad;
  }

  /** The list with `s` added (not stored here: see set). */
  with(s: Silence): Silence[] {
    return [...this.list, s];
  }

  /** The list with silence `id` ended at `now`. */
  ending(id: string, now: number): Silence[] {
    return this.list.map((s) => (s.id === id && s.endsAt > now ? { ...s, endsAt: now, updatedAt: now } : s));
  }

  set(list: readonly Silence[], now: number): void {
    // Ended silences leave memory (the database keeps them for the retention).
    this.#list = list.filter((s) => s.endsAt > now);
    this.#staged = undefined;
  }

  /** Ended silences leave memory. */
  prune(now: number): void {
    this.#list = this.#list.filter((s) => s.endsAt > now);
  }
}
