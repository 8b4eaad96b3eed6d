/**
 * @module canary/service
 * The heartbeat canaries: every `interval` each canary runs once (canary/run decides, this performs):
 * ping `/start`, POST the TocsinCanary alarm to the relay's own ingest listener with the relay's own
 * credential (the real path: socket, auth, group commit, outbox, delivery), watch its notifications in
 * the database every second, and ping success or `/fail`. Runs live in SQLite (outbox/canary-runs), so
 * a restart picks them up where they were and never fails one by itself.
 *
 * Nothing here can hold up ingest or delivery: pings and injections are asynchronous, and a failure of
 * either only shows in the canary's own pings, metrics, log and readiness check.
 */
import type { CanaryConfig } from '../config/types.ts';
import type { HttpClient } from '../channels/types.ts';
import { every, type Clock, type Scheduler, type Timer } from '../lib/clock.ts';
import { coerceError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Service } from '../lib/service.ts';
import type { CanaryRunRow, CanaryRuns } from '../outbox/canary-runs.ts';
import type { Pinger } from './ping.ts';
import {
  type Action,
  CANARY_ALARM_NAME,
  type CanarySpec,
  type CanaryStatus,
  injected,
  injectionFailed,
  type NotificationView,
  recovered,
  reported,
  type Run,
  type Step,
  startRun,
  tick,
  watchedNotificationIds,
} from './run.ts';

/** How often open runs are looked at (their notifications read from the database). */
export const CANARY_TICK_MS = 1000;
/** How long a stop waits for final pings under way (then they are cut short and sent again at the next start). */
const FINAL_PING_GRACE_MS = 3000;
/** While delivery starts, how often the first run looks whether it may go. */
const FIRST_RUN_POLL_MS = 100;
/** How long an injection may take before it counts as failed. */
export const INJECT_TIMEOUT_MS = 10_000;
/** Finished runs are kept this long for `tocsin canary status` (and pruned every hour). */
const PRUNE_EVERY_MS = 60 * 60_000;

/** Why a run failed, for the metric's `reason` label. */
export type FailureReason = 'injection' | 'dead' | 'max_latency' | 'not_routed';

export interface CanaryObserver {
  succeeded(canary: string, latencyMs: number, at: number): void;
  failed(canary: string, reason: FailureReason): void;
  pingFailed(canary: string, kind: string): void;
  skipped(canary: string): void;
}

export interface CanaryServiceDeps {
  /** The canaries now (read at every run: a reload may change them). */
  readonly canaries: () => readonly CanaryConfig[];
  readonly runs: CanaryRuns;
  readonly pinger: Pinger;
  readonly http: HttpClient;
  /** Where the relay's ingest listener is reached (undefined until it listens). */
  readonly ingestUrl: () => string | undefined;
  /** The relay's own credential (sent as a bearer token; never logged). */
  readonly token: string;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** A new run id (a UUID). */
  readonly newRid: () => string;
  /** Redacts secrets from a text that leaves the relay (a fail reason). */
  readonly redact: (text: string) => string;
  /** How long finished runs are kept. */
  readonly retentionMs: () => number;
  /** Is delivery running (the first run waits for it: a run during start-up would measure the start)? */
  readonly deliveryReady?: () => boolean;
  /** May this canary's first run go (a canary via kafka: is the consumer in its group)? */
  readonly mayStart?: (c: CanaryConfig) => boolean;
  /** Can the database be written now (runs are saved only then)? */
  readonly writable?: () => boolean;
  readonly logger: Logger;
  readonly observer?: CanaryObserver;
  /**
   * For canaries `via: kafka`: produces the canary alarm to its topic and resolves with the ids its alarm
   * got once the relay's Kafka consumer accepted it (a stalled consumer fails the run).
   */
  readonly viaKafka?: (m: KafkaCanaryMessage, signal: AbortSignal) => Promise<{ alarmId: string; notificationIds: readonly string[] }>;
}

/** A canary alarm as produced to Kafka. */
export interface KafkaCanaryMessage {
  readonly canary: string;
  readonly topic: string;
  /** The message key (the alarm's dedup key). */
  readonly key: string;
  readonly body: string;
  /** The run's key for this injection: produced again after a restart, it is one alarm. */
  readonly idempotencyKey: string;
}

export interface CanaryService extends Service {
  stop(): Promise<void>;
  /** Per canary: `ok`, `failing: <reason>`, or `unknown` (no run has ended since start). */
  state(canary: string): string;
  /** The outbox's times moved by `stepMs` (a wall-clock step, see app/clock-watch): the runs' move with them. */
  shift(stepMs: number): void;
}

const specOf = (c: CanaryConfig): CanarySpec => ({ name: c.name, intervalMs: c.intervalMs, maxLatencyMs: c.maxLatencyMs, resolve: c.resolve, methods: c.methods });

/** The run as a row: the columns tocsin canary status reads, and the whole run (JSON) in `detail`. */
function toRow(run: Run): CanaryRunRow {
  const failed = run.outcome === 'failed';
  return {
    rid: run.rid,
    canary: run.canary,
    startedAt: run.startedAt,
    stage: run.stage,
    firingAlarmId: run.firingAlarmId ?? null,
    resolvedAlarmId: run.resolvedAlarmId ?? null,
    outcome: run.outcome,
    reason: failed ? (run.report ?? null) : null,
    finishedAt: run.decidedAt ?? null,
    latencyMs: run.outcome === 'succeeded' && run.decidedAt !== undefined ? latencyOf(run) : null,
    detail: JSON.stringify(run),
  };
}

/** Injection → the last notification sent. */
function latencyOf(run: Run): number {
  const all = Object.values(run.firingLatencyMs ?? {});
  const firing = all.length > 0 ? Math.max(...all) : 0;
  if (!run.resolve || run.resolveRequestedAt === undefined || run.decidedAt === undefined) return firing;
  return run.decidedAt - run.startedAt;
}

function fromRow(row: CanaryRunRow): Run | undefined {
  try {
    const run = JSON.parse(row.detail ?? '') as Run;
    return run.rid === row.rid ? run : undefined;
  } catch {
    return undefined;
  }
}

/** The metric label of a fail text (see canary/run's texts). */
export function failureReason(report: string): FailureReason {
  if (report.startsWith('injection produced no notifications') || report.startsWith('no notification for')) return 'not_routed';
  if (report.startsWith('injection')) return 'injection';
  if (report.startsWith('max_latency')) return 'max_latency';
  return /dead-lettered/.test(report) ? 'dead' : 'max_latency';
}

export function createCanaryService(deps: CanaryServiceDeps): CanaryService {
  const { logger, clock } = deps;
  /** Runs not yet done, by rid. */
  const live = new Map<string, Run>();
  /** The last ended run's verdict, per canary. */
  const verdicts = new Map<string, string>();
  const timers: Timer[] = [];
  const injections = new Set<AbortController>();
  let stopped = false;

  const spec = (name: string) => {
    const c = deps.canaries().find((x) => x.name === name);
    return c ? { config: c, spec: specOf(c) } : undefined;
  };

  /** Runs whose latest state is not saved yet (the database could not be written). */
  const unsaved = new Set<string>();
  let saveFailureLogged = false;
  const save = (run: Run) => {
    // Not while the database cannot be written (a full disk: the space left is for delivery).
    if (deps.writable && !deps.writable()) return void unsaved.add(run.rid);
    try {
      deps.runs.save(toRow(run));
      unsaved.delete(run.rid);
      saveFailureLogged = false;
    } catch (e) {
      unsaved.add(run.rid);
      // The run goes on in memory; it is saved again at its next step, or by the tick.
      if (!saveFailureLogged) logger.warn({ canary: run.canary, rid: run.rid, err: coerceError(e).message }, 'could not save a canary run; it goes on in memory');
      saveFailureLogged = true;
    }
  };
  const saveUnsaved = () => {
    for (const rid of [...unsaved]) {
      const run = live.get(rid);
      if (run) save(run);
      else unsaved.delete(rid);
    }
  };

  const apply = (step: Step) => {
    const { run } = step;
    if (run.stage === 'done') live.delete(run.rid);
    else live.set(run.rid, run);
    for (const a of step.actions) perform(a, run);
  };

  const perform = (a: Action, run: Run) => {
    if (stopped && a.type !== 'save') return;
    switch (a.type) {
      case 'save':
        return save(a.run);
      case 'ping':
        return void ping(a, run);
      case 'inject':
        return void inject(a.rid, a.status, a.dedupKey, a.idempotencyKey);
    }
  };

  /** Final pings under way: a stop waits for them (and /start pings) a little, so that one just sent is confirmed, not sent again. */
  const finals = new Set<Promise<void>>();
  let stopping: Promise<void> | undefined;
  /** Each run's start ping, so that its final ping goes after it (healthchecks pairs them in order). */
  const starts = new Map<string, Promise<unknown>>();

  const ping = async (a: Extract<Action, { type: 'ping' }>, run: Run) => {
    const c = spec(a.canary);
    if (a.kind !== 'start') finished(run, a.kind === 'success', a.body);
    if (!c) {
      // Removed from the config: no URL to ping; the run is over.
      if (a.kind !== 'start') settle(a.rid);
      return;
    }
    if (a.kind === 'start') {
      const p = deps.pinger.ping(c.config.pingUrl, 'start', a.rid, a.body).then((r) => report(a, r));
      starts.set(a.rid, p);
      return;
    }
    const final = (async () => {
      await starts.get(a.rid);
      starts.delete(a.rid);
      if (stopped) return; // not sent: the run stays reporting, and the next start pings again
      const r = await deps.pinger.ping(c.config.pingUrl, a.kind, a.rid, a.body);
      if (stopped && !r.ok) return; // cut short by the stop: likewise
      report(a, r);
      settle(a.rid);
    })();
    finals.add(final);
    await final;
    finals.delete(final);
  };

  const report = (a: Extract<Action, { type: 'ping' }>, r: { ok: boolean; error?: string }) => {
    if (r.ok || stopped) return;
    deps.observer?.pingFailed(a.canary, a.kind);
    logger.warn({ canary: a.canary, rid: a.rid, kind: a.kind, err: r.error }, 'canary ping failed');
  };

  /** The final ping was answered or given up: the run is done. */
  const settle = (rid: string) => {
    const run = live.get(rid);
    if (run) apply(reported(run, clock.now()));
  };

  const finished = (run: Run, success: boolean, body: string) => {
    if (success) {
      verdicts.set(run.canary, 'ok');
      deps.observer?.succeeded(run.canary, latencyOf(run), clock.now());
      return;
    }
    const reason = failureReason(body);
    verdicts.set(run.canary, `failing: ${body.split('\n')[0]!.slice(0, 300)}`);
    deps.observer?.failed(run.canary, reason);
    logger.warn({ canary: run.canary, rid: run.rid, reason: body }, 'canary run failed');
  };

  const inject = async (rid: string, status: CanaryStatus, dedupKey: string, idempotencyKey: string) => {
    const answer = (step: (run: Run) => Step) => {
      // Stopping: the run stays injecting, and the next start posts it again (same Idempotency-Key).
      if (stopped) return;
      const run = live.get(rid);
      if (run) apply(step(run));
    };
    const url = deps.ingestUrl();
    const c = spec(live.get(rid)?.canary ?? '');
    if (!c) return answer((run) => injectionFailed(run, status, 'the canary is no longer configured', clock.now()));
    if (url === undefined && c.config.via === 'http') return answer((run) => injectionFailed(run, status, 'the relay is not listening yet', clock.now()));
    const body = JSON.stringify({
      name: CANARY_ALARM_NAME,
      severity: 'info',
      status,
      dedup_key: dedupKey,
      summary: `tocsin heartbeat canary ${c.config.name}`,
      labels: { ...c.config.labels, tocsin_canary: c.config.name, tocsin_canary_run: rid },
    });
    const controller = new AbortController();
    injections.add(controller);
    const deadline = deps.scheduler.after(INJECT_TIMEOUT_MS, () => controller.abort(new Error(`no answer within ${INJECT_TIMEOUT_MS / 1000} s`)), { background: true });
    try {
      if (c.config.via === 'kafka') {
        if (!deps.viaKafka || c.config.topic === undefined) return answer((run) => injectionFailed(run, status, 'no Kafka consumer is configured', clock.now()));
        const ids = await deps.viaKafka({ canary: c.config.name, topic: c.config.topic, key: dedupKey, body, idempotencyKey }, controller.signal);
        return answer((run) => injected(run, status, { alarmId: ids.alarmId, notificationIds: [...ids.notificationIds] }, clock.now()));
      }
      const res = await deps.http(
        {
          url: `${url}/v1/alarms`,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${deps.token}`, 'idempotency-key': idempotencyKey },
          body,
        },
        controller.signal,
      );
      if (res.status >= 200 && res.status < 300) {
        const parsed = parseAnswer(res.bodyExcerpt);
        if (parsed) return answer((run) => injected(run, status, parsed, clock.now()));
        return answer((run) => injectionFailed(run, status, `${res.status}: an answer tocsin could not read`, clock.now()));
      }
      const detail = errorText(res.bodyExcerpt);
      return answer((run) => injectionFailed(run, status, deps.redact(`${res.status}${detail ? ` ${detail}` : ''}`), clock.now()));
    } catch (e) {
      const why = controller.signal.aborted ? coerceError(controller.signal.reason).message : coerceError(e).message;
      return answer((run) => injectionFailed(run, status, deps.redact(why), clock.now()));
    } finally {
      deadline.cancel();
      injections.delete(controller);
    }
  };

  const begin = (c: CanaryConfig) => {
    if (stopped) return;
    const started = startRun(specOf(c), deps.newRid(), clock.now(), [...live.values()]);
    if (started.kind === 'skipped') {
      deps.observer?.skipped(c.name);
      logger.warn({ canary: c.name }, `canary ${started.reason}`);
      return;
    }
    apply({ run: started.run, actions: started.actions });
  };

  const look = () => {
    if (unsaved.size > 0) saveUnsaved();
    for (const run of [...live.values()]) {
      if (run.outcome !== 'open') continue;
      const c = spec(run.canary);
      if (!c) continue; // removed by a reload: its runs wait for a restart to be reported (see README)
      const ids = watchedNotificationIds(run);
      let views: NotificationView[] = [];
      if (ids.length > 0) {
        try {
          const wanted = new Set(ids);
          const alarmIds = [run.firingAlarmId, run.resolvedAlarmId].filter((x): x is string => x !== undefined);
          views = deps.runs
            .notificationsOf(alarmIds)
            .filter((n) => wanted.has(n.id))
            .map((n) => ({
              id: n.id,
              method: n.method,
              state: n.state,
              ...(n.lastError !== null && { lastError: deps.redact(n.lastError) }),
              ...(n.deadReason !== null && { deadReason: deps.redact(n.deadReason) }),
              ...(n.sentAt !== null && { sentAt: n.sentAt }),
            }));
        } catch (e) {
          logger.warn({ canary: run.canary, err: coerceError(e).message }, 'could not read the canary run\'s notifications');
          continue;
        }
      }
      apply(tick(c.spec, run, views, clock.now()));
    }
  };

  return {
    name: 'canaries',
    start() {
      // Runs a previous process left: they go on (a restart alone never fails one).
      let left: CanaryRunRow[] = [];
      try {
        left = deps.runs.unfinished();
      } catch (e) {
        logger.warn({ err: coerceError(e).message }, 'could not read the canary runs left by a previous run');
      }
      for (const row of left) {
        const run = fromRow(row);
        if (!run || run.stage === 'done') continue;
        // A canary removed from the config: nothing to ping; the run is closed as it is.
        if (!spec(run.canary)) save({ ...run, stage: 'done', ...(run.outcome === 'open' && { outcome: 'failed', report: 'the canary was removed from the configuration' }) } as Run);
        else apply(recovered(run, clock.now()));
      }
      // The first runs as soon as delivery runs (a relay that just started proves its path at once),
      // then every interval.
      // A canary via kafka also waits for the Kafka consumer to join its group (without holding up the others).
      const waiting = new Set(deps.canaries().map((c) => c.name));
      const first = () => {
        if (stopped) return;
        if (!deps.deliveryReady || deps.deliveryReady()) {
          for (const c of deps.canaries()) {
            if (!waiting.has(c.name) || (deps.mayStart && !deps.mayStart(c))) continue;
            waiting.delete(c.name);
            begin(c);
            timers.push(every(deps.scheduler, c.intervalMs, () => begin(c), { background: true }));
          }
        }
        if (waiting.size > 0) timers.push(deps.scheduler.after(FIRST_RUN_POLL_MS, first, { background: true }));
      };
      timers.push(deps.scheduler.after(0, first, { background: true }));
      timers.push(every(deps.scheduler, CANARY_TICK_MS, look, { background: true }));
      const prune = () => {
        try {
          deps.runs.prune(clock.now() - deps.retentionMs());
        } catch (e) {
          logger.warn({ err: coerceError(e).message }, 'could not prune old canary runs');
        }
      };
      prune();
      timers.push(every(deps.scheduler, PRUNE_EVERY_MS, prune, { background: true }));
    },
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        for (const t of timers) t.cancel();
        for (const c of injections) c.abort(new Error('tocsin is stopping'));
        // A /start under way is waited for too: cut short, it would never be sent again, and the run's
        // final ping (from the next process) would come without it.
        const underWay = [...finals, ...starts.values()];
        if (underWay.length > 0) {
          let timer: Timer | undefined;
          await Promise.race([Promise.all(underWay), new Promise<void>((r) => (timer = deps.scheduler.after(FINAL_PING_GRACE_MS, r, { background: true })))]);
          timer?.cancel();
        }
        deps.pinger.stop();
      })()),
    state(canary) {
      return verdicts.get(canary) ?? 'unknown';
    },
    shift(stepMs) {
      const by = (t: number | undefined) => (t === undefined ? undefined : t + stepMs);
      for (const run of [...live.values()]) {
        const moved = { ...run, startedAt: run.startedAt + stepMs, ...(run.resolveRequestedAt !== undefined && { resolveRequestedAt: by(run.resolveRequestedAt) }) } as Run;
        live.set(run.rid, moved);
        save(moved);
      }
    },
  };
}

/** The ids of a 2xx ingest answer (`{"alarm_ids":[…],"notification_ids":[…]}`). */
function parseAnswer(text: string): { alarmId: string; notificationIds: string[] } | undefined {
  try {
    const j = JSON.parse(text) as { alarm_ids?: unknown; notification_ids?: unknown };
    const alarmId = Array.isArray(j.alarm_ids) ? j.alarm_ids[0] : undefined;
    if (typeof alarmId !== 'string' || !Array.isArray(j.notification_ids)) return undefined;
    return { alarmId, notificationIds: j.notification_ids.filter((x): x is string => typeof x === 'string') };
  } catch {
    return undefined;
  }
}

/** The `error` of tocsin's error body, or the start of the text. */
function errorText(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: unknown };
    if (typeof j.error === 'string') return j.error;
  } catch {
    /* not JSON */
  }
  return text.slice(0, 200);
}
