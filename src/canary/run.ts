/**
 * @module canary/run
 * Pure: the state machine of one heartbeat-canary run (issue #10). No I/O, no clock, no imports: the
 * caller passes `now` (epoch ms) and performs the actions returned.
 *
 * A run: start ping → inject the firing TocsinCanary alarm through the real HTTP ingest → wait until every
 * notification it produced is sent → (with `resolve`) inject the resolved alarm (same dedup key) and wait
 * for its notifications too → one final ping: success (latency per method) or fail (the reason).
 *
 * ```
 *  startRun ─▶ injecting-firing ─injected─▶ firing ─all sent─▶ injecting-resolved ─injected─▶ resolving
 *                                              │   (resolve: true)                               │
 *                                              └──────────── all sent (resolve: false) ──────────┴─▶ reporting ─reported─▶ done
 *  any open stage ── injection failed / 0 notifications / dead-lettered / not routed / max_latency ──▶ reporting
 * ```
 *
 * How the caller (the canary service) drives it:
 * - Every `interval`: `startRun(spec, newUuid, now, runsInMemory)`. `skipped` means the overlap limit
 *   (`maxOpenRuns`) is reached: nothing is saved, injected or pinged; log it (warn) and count it.
 * - Every second, for each run with `outcome: 'open'`: read the notifications `watchedNotificationIds(run)`
 *   names (state, last error, dead reason, sent time; in flight counts as pending) and call
 *   `tick(spec, run, views, now)`. Runs still injecting are ticked too, with `[]` (max_latency covers them).
 * - When an injection answers: `injected` (any 2xx, including an idempotent repeat's 200) or
 *   `injectionFailed` (no 2xx, a network error, a timeout), with the reason text redacted beforehand.
 * - At start-up: `recovered(run, now)` for every run loaded from the database that is not `done`.
 * - After the final ping has been answered (or its retries given up): `reported(run, now)`.
 * Every function returns `{ run, actions }`; perform the actions in order:
 * - `save`: upsert the run by rid (the object is plain JSON: `JSON.parse(JSON.stringify(run))` is the same run).
 * - `ping`: `<ping_url>/start?rid=`, `<ping_url>?rid=` or `<ping_url>/fail?rid=` with `body`. Pings may go
 *   out asynchronously (the injection need not wait for the start ping), but a run's pings in order.
 * - `inject`: POST the alarm (name `CANARY_ALARM_NAME`, `status`, `dedup_key: dedupKey`) with the header
 *   `Idempotency-Key: idempotencyKey`, so that re-sending it after a restart cannot enqueue it twice.
 *
 * Guarantees: a run reaches exactly one outcome and returns exactly one final ping action; after that every
 * call returns no actions, except `recovered` of a run whose final ping was decided (saved as `reporting`)
 * but not confirmed by `reported`, which returns that same ping again (so across a crash in that window the
 * final ping is at-least-once, never lost). A restart alone never fails a run: an open run keeps its
 * deadline (startedAt + max_latency); an injection in flight at the crash is sent again (idempotent).
 */

export const CANARY_ALARM_NAME = 'TocsinCanary';
/** The most bytes (UTF-8) a ping body carries (10 kB). */
export const MAX_BODY_BYTES = 10_000;
/** The most bytes (UTF-8) of one outside text (an injection error, a notification's last error) in a body. */
export const MAX_QUOTED_BYTES = 2_000;
const TRUNCATED = '… (truncated)';

export interface CanarySpec {
  readonly name: string;
  readonly intervalMs: number;
  readonly maxLatencyMs: number;
  /** After the firing alarm is delivered, inject its resolve and wait for that too. */
  readonly resolve: boolean;
  /** Methods that must each get a notification of the canary alarm (non-empty); also the order of the success text. */
  readonly methods: readonly string[];
}

/** A notification of the run as the database shows it. */
export interface NotificationView {
  readonly id: string;
  readonly method: string;
  /** `pending` covers pending and in flight. */
  readonly state: 'pending' | 'sent' | 'dead';
  readonly lastError?: string;
  readonly deadReason?: string;
  /** Epoch ms; when missing on a sent notification, the time it was seen sent. */
  readonly sentAt?: number;
}

export type CanaryStatus = 'firing' | 'resolved';
export type RunStage = 'injecting-firing' | 'firing' | 'injecting-resolved' | 'resolving' | 'reporting' | 'done';
export type RunOutcome = 'open' | 'succeeded' | 'failed';

/** One run, plain JSON (one database row). */
export interface Run {
  readonly rid: string;
  readonly canary: string;
  /** Epoch ms; the firing injection is requested at this time. */
  readonly startedAt: number;
  /** max_latency and resolve as they were when the run started (a reload does not move a run's deadline). */
  readonly maxLatencyMs: number;
  readonly resolve: boolean;
  readonly stage: RunStage;
  readonly outcome: RunOutcome;
  readonly firingAlarmId?: string;
  readonly firingNotificationIds?: readonly string[];
  /** When the last firing notification was sent. */
  readonly firingSentAt?: number;
  /** Latency of each method's firing notification (from startedAt). */
  readonly firingLatencyMs?: Readonly<Record<string, number>>;
  readonly resolveRequestedAt?: number;
  readonly resolvedAlarmId?: string;
  readonly resolvedNotificationIds?: readonly string[];
  /** The final ping's body (the success text or the fail reason), set with the outcome. */
  readonly report?: string;
  readonly decidedAt?: number;
  /** When the final ping was confirmed. */
  readonly reportedAt?: number;
  /** How many restarts the run has lived through. */
  readonly restarts: number;
}

export type Action =
  | { readonly type: 'save'; readonly run: Run }
  | { readonly type: 'ping'; readonly canary: string; readonly kind: 'start' | 'success' | 'fail'; readonly rid: string; readonly body: string }
  | {
      readonly type: 'inject';
      readonly canary: string;
      readonly rid: string;
      readonly status: CanaryStatus;
      readonly dedupKey: string;
      readonly idempotencyKey: string;
    };

export interface Step {
  readonly run: Run;
  readonly actions: readonly Action[];
}

export type StartResult =
  | { readonly kind: 'started'; readonly run: Run; readonly actions: readonly Action[] }
  | { readonly kind: 'skipped'; readonly reason: string };

/** What a 2xx ingest answer says about the one alarm injected. */
export interface InjectionAnswer {
  readonly alarmId: string;
  readonly notificationIds: readonly string[];
}

/**
 * The most runs of one canary open at once. A run is open at most max_latency (plus up to one tick), so
 * ceil(max_latency / interval) runs overlap in normal operation; one more leaves room for the tick's lag.
 */
export function maxOpenRuns(spec: Pick<CanarySpec, 'intervalMs' | 'maxLatencyMs'>): number {
  return Math.ceil(spec.maxLatencyMs / spec.intervalMs) + 1;
}

/**
 * A new run, unless `maxOpenRuns` runs of this canary are still open (outcome `open`; runs only waiting for
 * their final ping do not count) among `runs`, the caller's runs (other canaries' are ignored).
 */
export function startRun(spec: CanarySpec, rid: string, now: number, runs: readonly Run[]): StartResult {
  const open = runs.filter((r) => r.canary === spec.name && r.outcome === 'open').length;
  const limit = maxOpenRuns(spec);
  if (open >= limit) {
    return {
      kind: 'skipped',
      reason: `run skipped: ${open} runs of canary ${spec.name} still open, the limit (ceil(max_latency ${human(spec.maxLatencyMs)} / interval ${human(spec.intervalMs)}) + 1 = ${limit})`,
    };
  }
  const run: Run = {
    rid,
    canary: spec.name,
    startedAt: now,
    maxLatencyMs: spec.maxLatencyMs,
    resolve: spec.resolve,
    stage: 'injecting-firing',
    outcome: 'open',
    restarts: 0,
  };
  return {
    kind: 'started',
    run,
    actions: [{ type: 'save', run }, { type: 'ping', canary: run.canary, kind: 'start', rid, body: '' }, inject(run, 'firing')],
  };
}

/** The dedup key both alarms of a run share (one per run, so a resolve only ever resolves its own firing). */
export function canaryDedupKey(canary: string, rid: string): string {
  return `tocsin-canary:${canary}:${rid}`;
}

/** The notifications whose state `tick` needs now: those of the phase being waited for (none while injecting). */
export function watchedNotificationIds(run: Run): readonly string[] {
  if (run.outcome !== 'open') return [];
  if (run.stage === 'firing') return run.firingNotificationIds ?? [];
  if (run.stage === 'resolving') return run.resolvedNotificationIds ?? [];
  return [];
}

/** A 2xx answer to the run's injection of `status`. An answer the run no longer waits for is ignored. */
export function injected(run: Run, status: CanaryStatus, answer: InjectionAnswer, now: number): Step {
  if (run.outcome !== 'open' || run.stage !== injectingStage(status)) return unchanged(run);
  if (answer.notificationIds.length === 0) {
    return fail(run, `injection produced no notifications${tag(status)}: alarm ${answer.alarmId} matched no route`, now);
  }
  const next: Run =
    status === 'firing'
      ? { ...run, stage: 'firing', firingAlarmId: answer.alarmId, firingNotificationIds: [...answer.notificationIds] }
      : { ...run, stage: 'resolving', resolvedAlarmId: answer.alarmId, resolvedNotificationIds: [...answer.notificationIds] };
  return { run: next, actions: [{ type: 'save', run: next }] };
}

/** The run's injection of `status` failed (no 2xx); `reason` is redacted by the caller, e.g. "503 disk full". */
export function injectionFailed(run: Run, status: CanaryStatus, reason: string, now: number): Step {
  if (run.outcome !== 'open' || run.stage !== injectingStage(status)) return unchanged(run);
  return fail(run, `injection failed${tag(status)}: ${quote(reason)}`, now);
}

/**
 * Every second, for every open run, with what the database shows of its notifications (views of other
 * notifications are ignored). Decides, in this order: a notification dead-lettered, or an expected method
 * without a notification → fail at once; every notification sent → the resolve, or success (fail when the
 * last one was sent after the deadline); max_latency passed (now > startedAt + max_latency) → fail, naming
 * what is still pending and its last error.
 */
export function tick(spec: CanarySpec, run: Run, notifications: readonly NotificationView[], now: number): Step {
  if (run.outcome !== 'open') return unchanged(run);
  const deadline = run.startedAt + run.maxLatencyMs;
  if (run.stage === 'injecting-firing' || run.stage === 'injecting-resolved') {
    const status: CanaryStatus = run.stage === 'injecting-firing' ? 'firing' : 'resolved';
    return now > deadline ? fail(run, `${latencyPrefix(run, status)}the injection got no answer`, now) : unchanged(run);
  }
  const status: CanaryStatus = run.stage === 'firing' ? 'firing' : 'resolved';
  const ids = (status === 'firing' ? run.firingNotificationIds : run.resolvedNotificationIds) ?? [];
  const from = (status === 'firing' ? run.startedAt : run.resolveRequestedAt) ?? run.startedAt;
  const byId = new Map(notifications.map((n) => [n.id, n] as const));
  const seen = ids.flatMap((id) => byId.get(id) ?? []);

  const problems = seen
    .filter((n) => n.state === 'dead')
    .map((n) => `${n.method}: dead-lettered${tag(status)}: ${quote(n.deadReason ?? n.lastError ?? 'no reason recorded')}`);
  if (seen.length === ids.length) {
    const routed = new Set(seen.map((n) => n.method));
    for (const m of spec.methods) {
      if (!routed.has(m)) problems.push(`no notification for ${m}${tag(status)}: the canary alarm is not routed to it`);
    }
  }
  if (problems.length > 0) return fail(run, problems.join('; '), now);

  if (seen.length === ids.length && seen.every((n) => n.state === 'sent')) {
    const sentAt = (n: NotificationView) => n.sentAt ?? now;
    const late = seen.filter((n) => sentAt(n) > deadline);
    if (late.length > 0) {
      const what = late.map((n) => `${n.method} sent only ${sentAt(n) - run.startedAt} ms after the run started`);
      return fail(run, latencyPrefix(run, status) + what.join('; '), now);
    }
    const latencies: Record<string, number> = {};
    for (const n of seen) latencies[n.method] = Math.max(latencies[n.method] ?? 0, sentAt(n) - from);
    const lastSentAt = Math.max(...seen.map(sentAt));
    if (status === 'firing' && run.resolve) {
      const next: Run = { ...run, stage: 'injecting-resolved', firingSentAt: lastSentAt, firingLatencyMs: latencies, resolveRequestedAt: now };
      return { run: next, actions: [{ type: 'save', run: next }, inject(next, 'resolved')] };
    }
    const body =
      status === 'firing'
        ? latencyText(spec, latencies)
        : `firing: ${latencyText(spec, run.firingLatencyMs ?? {})}; resolved: ${latencyText(spec, latencies)}`;
    const base: Run = status === 'firing' ? { ...run, firingSentAt: lastSentAt, firingLatencyMs: latencies } : run;
    return decide(base, 'succeeded', body, now);
  }

  if (now > deadline) {
    const pending = ids.flatMap((id) => {
      const n = byId.get(id);
      if (n === undefined) return [`${id} not found in the database`];
      if (n.state !== 'pending') return [];
      return [`${n.method} still pending${n.lastError === undefined ? '' : ` (last error: ${quote(n.lastError)})`}`];
    });
    return fail(run, latencyPrefix(run, status) + pending.join('; '), now);
  }
  return unchanged(run);
}

/**
 * A run loaded from the database at start-up. Never fails it: an open run keeps its deadline and `tick`
 * decides as usual; an injection that was in flight is sent again (same idempotency key: a repeat answers
 * with the original ids) unless max_latency has already passed (then the next tick fails the run); a
 * decided run whose final ping was not confirmed gets that ping again.
 */
export function recovered(run: Run, now: number): Step {
  if (run.stage === 'done') return unchanged(run);
  if (run.stage === 'reporting') return { run, actions: [finalPing(run)] };
  const next: Run = { ...run, restarts: run.restarts + 1 };
  const actions: Action[] = [{ type: 'save', run: next }];
  const deadline = run.startedAt + run.maxLatencyMs;
  if (now <= deadline && run.stage === 'injecting-firing') actions.push(inject(next, 'firing'));
  if (now <= deadline && run.stage === 'injecting-resolved') actions.push(inject(next, 'resolved'));
  return { run: next, actions };
}

/** The final ping was answered (or the caller gave up retrying it): the run is done for good. */
export function reported(run: Run, now: number): Step {
  if (run.stage !== 'reporting') return unchanged(run);
  const next: Run = { ...run, stage: 'done', reportedAt: now };
  return { run: next, actions: [{ type: 'save', run: next }] };
}

/** "ops-hook 412 ms, log 3 ms": the spec's methods in its order, then any other method by name. */
export function latencyText(spec: Pick<CanarySpec, 'methods'>, latencies: Readonly<Record<string, number>>): string {
  const known = spec.methods.filter((m) => m in latencies);
  const others = Object.keys(latencies)
    .filter((m) => !spec.methods.includes(m))
    .sort();
  return [...known, ...others].map((m) => `${m} ${Math.max(0, Math.round(latencies[m]!))} ms`).join(', ');
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes (ending in "… (truncated)"), never inside a character. */
export function capBody(text: string, maxBytes: number = MAX_BODY_BYTES): string {
  if (utf8Length(text) <= maxBytes) return text;
  const budget = Math.max(0, maxBytes - utf8Length(TRUNCATED));
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const n = utf8Length(ch);
    if (bytes + n > budget) break;
    bytes += n;
    end += ch.length;
  }
  return text.slice(0, end) + TRUNCATED;
}

function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    // A lone surrogate is encoded as U+FFFD: 3 bytes, as TextEncoder does.
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

function quote(outside: string): string {
  return capBody(outside, MAX_QUOTED_BYTES);
}

function human(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function tag(status: CanaryStatus): string {
  return status === 'resolved' ? ' (resolved alarm)' : '';
}

function latencyPrefix(run: Run, status: CanaryStatus): string {
  return `max_latency ${human(run.maxLatencyMs)} passed${tag(status)}: `;
}

function injectingStage(status: CanaryStatus): RunStage {
  return status === 'firing' ? 'injecting-firing' : 'injecting-resolved';
}

function inject(run: Run, status: CanaryStatus): Action {
  return {
    type: 'inject',
    canary: run.canary,
    rid: run.rid,
    status,
    dedupKey: canaryDedupKey(run.canary, run.rid),
    idempotencyKey: `tocsin-canary-${run.rid}-${status}`,
  };
}

function unchanged(run: Run): Step {
  return { run, actions: [] };
}

function fail(run: Run, reason: string, now: number): Step {
  const restarted = run.restarts > 0 ? ' (tocsin restarted during this run)' : '';
  return decide(run, 'failed', capBody(reason, MAX_BODY_BYTES - utf8Length(restarted)) + restarted, now);
}

/** The one place a run gets its outcome and its final ping. */
function decide(run: Run, outcome: 'succeeded' | 'failed', text: string, now: number): Step {
  const next: Run = { ...run, stage: 'reporting', outcome, report: capBody(text), decidedAt: now };
  return { run: next, actions: [{ type: 'save', run: next }, finalPing(next)] };
}

function finalPing(run: Run): Action {
  return { type: 'ping', canary: run.canary, kind: run.outcome === 'succeeded' ? 'success' : 'fail', rid: run.rid, body: run.report ?? '' };
}
