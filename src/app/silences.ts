/**
 * @module app/silences
 * Silences as the admin API and the CLI manage them: create, list, expire. A change is stored and
 * applied to every firing alarm in one transaction (a new silence mutes them at once; an expired one
 * releases those still firing, notified then), and reaches the in-memory book once committed.
 */
import type { Clock } from '../lib/clock.ts';
import type { Issue } from '../config/schema.ts';
import type { GroupCommitter } from '../outbox/group-commit.ts';
import type { LifecycleStore, SilenceRow } from '../outbox/lifecycle-store.ts';
import type { Lifecycle } from '../ingest/lifecycle.ts';
import type { SilenceBook } from '../ingest/silences.ts';
import { isActive, type Silence } from '../lifecycle/silence.ts';

export type SilenceState = 'active' | 'pending' | 'expired';

/** A silence as the API shows it. */
export interface SilenceView {
  readonly id: string;
  readonly match: unknown;
  readonly starts_at: string;
  readonly ends_at: string;
  readonly comment: string;
  readonly created_by: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly state: SilenceState;
}

export interface NewSilence {
  readonly match: unknown;
  /** Epoch ms; default now. */
  readonly startsAt?: number;
  readonly endsAt: number;
  readonly comment: string;
  readonly createdBy: string;
}

export interface SilenceService {
  /** The new silence, or the problems with the request (field paths like "match.labels.host"). */
  create(input: NewSilence): Promise<{ ok: true; silence: SilenceView } | { ok: false; issues: Issue[] }>;
  list(state?: SilenceState): SilenceView[];
  get(id: string): SilenceView | undefined;
  /** Ends it now: `expired`; `unknown`: no such silence; `ended`: it had already ended. */
  expire(id: string): Promise<'expired' | 'unknown' | 'ended'>;
}

export interface SilenceServiceDeps {
  readonly states: LifecycleStore;
  readonly lifecycle: Lifecycle;
  readonly book: SilenceBook;
  readonly committer: GroupCommitter;
  readonly clock: Clock;
  readonly newId: () => string;
  /** Notifications were enqueued (a silence that ended released firing alarms). */
  readonly enqueued: (n: number) => void;
}

function stateOf(s: { startsAt: number; endsAt: number }, now: number): SilenceState {
  return s.endsAt <= now ? 'expired' : isActive(s as Silence, now) ? 'active' : 'pending';
}

function view(s: SilenceRow, now: number): SilenceView {
  const iso = (t: number) => new Date(t).toISOString();
  let match: unknown;
  try {
    match = JSON.parse(s.match);
  } catch {
    match = s.match;
  }
  return {
    id: s.id, match, starts_at: iso(s.startsAt), ends_at: iso(s.endsAt), comment: s.comment, created_by: s.createdBy,
    created_at: iso(s.createdAt), updated_at: iso(s.updatedAt), state: stateOf(s, now),
  };
}

export function silenceService(deps: SilenceServiceDeps): SilenceService {
  const { states, lifecycle, book, committer, clock } = deps;
  // One change at a time: each sweeps with the list the previous change left (two in one transaction
  // would each miss the other's silence).
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn, fn);
    queue = p.catch(() => undefined);
    return p;
  };
  return {
    create: (input) => serial(async () => {
      // Loaded when a silence is made: a relay that never gets one never loads the config schema.
      const { parseMatch } = await import('../config/match.ts');
      const labels = (input.match as { labels?: unknown } | undefined)?.labels;
      if (labels !== null && typeof labels === 'object' && Object.hasOwn(labels, '__proto__')) {
        return { ok: false, issues: [{ path: 'match.labels.__proto__', message: 'is a reserved name and cannot be a label' }] };
      }
      const parsed = parseMatch(input.match);
      if (!parsed.ok) return parsed;
      const { labels: compiled, ...fields } = parsed.match;
      if (Object.keys(compiled).length === 0 && Object.keys(fields).length === 0) {
        return { ok: false, issues: [{ path: 'match', message: 'would silence every alarm; give at least one matcher (source, name, severity, status or labels)' }] };
      }
      const now = clock.now();
      const startsAt = input.startsAt ?? now;
      if (input.endsAt <= startsAt) return { ok: false, issues: [{ path: 'ends_at', message: 'must be after starts_at' }] };
      if (input.endsAt <= now) return { ok: false, issues: [{ path: 'ends_at', message: 'must be in the future' }] };
      const row: SilenceRow = {
        id: deps.newId(), match: JSON.stringify(input.match ?? {}), startsAt, endsAt: input.endsAt, comment: input.comment,
        createdBy: input.createdBy, createdAt: now, updatedAt: now,
      };
      const silence: Silence = { ...row, match: parsed.match, matchText: row.match };
      const next = book.with(silence);
      book.stage(next);
      let n: number;
      try {
        n = await committer.submit(() => {
          states.insertSilence(row);
          return lifecycle.sweep(now, next);
        });
      } catch (e) {
        book.unstage();
        throw e;
      }
      book.set(next, now);
      if (n > 0) deps.enqueued(n);
      return { ok: true as const, silence: view(row, now) };
    }),
    list(state) {
      const now = clock.now();
      return states.allSilences().map((s) => view(s, now)).filter((v) => state === undefined || v.state === state);
    },
    get(id) {
      const row = states.getSilence(id);
      return row && view(row, clock.now());
    },
    expire: (id) => serial(async () => {
      const now = clock.now();
      const next = book.ending(id, now);
      book.stage(next);
      let r: { outcome: 'expired' | 'unknown' | 'ended'; n: number };
      try {
        r = await committer.submit(() => {
          if (!states.getSilence(id)) return { outcome: 'unknown' as const, n: 0 };
          if (!states.expireSilence(id, now)) return { outcome: 'ended' as const, n: 0 };
          return { outcome: 'expired' as const, n: lifecycle.sweep(now, next) };
        });
      } catch (e) {
        book.unstage();
        throw e;
      }
      if (r.outcome === 'expired') book.set(next, now);
      else book.set(book.committed, now);
      if (r.n > 0) deps.enqueued(r.n);
      return r.outcome;
    }),
  };
}
