/**
 * @module app/canaries
 * Wires the heartbeat canaries (canary/service) into the app: the relay's own ingest credential, the
 * methods an alarm posted with it goes to (the canary's, never the routes'), the runs table, the pinger,
 * the metrics and a readiness check per canary.
 */
import type { HttpClient } from '../channels/types.ts';
import type { Config } from '../config/types.ts';
import type { Alarm } from '../domain/alarm.ts';
import type { Clock, Scheduler } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Readiness } from '../lib/readiness.ts';
import { redact, secretsIn } from '../lib/secret.ts';
import type { SyncDb } from '../outbox/db.ts';
import { CanaryRuns } from '../outbox/canary-runs.ts';
import type { WriteLock } from '../outbox/write-lock.ts';
import { canaryMetrics } from '../canary/metrics.ts';
import { createPinger } from '../canary/ping.ts';
import { createCanaryService, type CanaryService, type CanaryServiceDeps } from '../canary/service.ts';
import type Registry from 'prom-client/lib/registry.js';

export interface CanaryWiringDeps {
  /** The configuration now (canaries are restart-only; methods follow reloads). */
  readonly config: () => Config;
  /** Is this method configured now? */
  readonly hasMethod: (method: string) => boolean;
  readonly db: SyncDb;
  readonly lock: WriteLock | undefined;
  readonly http: HttpClient;
  readonly version: string;
  /** Where the relay's listener is reached locally (undefined until it listens). */
  readonly address: () => { readonly host: string; readonly port: number } | undefined;
  readonly randomBytes: (n: number) => Uint8Array;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Is delivery running (see CanaryServiceDeps.deliveryReady)? */
  readonly deliveryReady: () => boolean;
  /** Can the database be written now (see CanaryServiceDeps.writable)? */
  readonly writable: () => boolean;
  /** Canaries `via: kafka` inject through the Kafka consumer (see CanaryServiceDeps.viaKafka). */
  readonly viaKafka?: CanaryServiceDeps['viaKafka'];
  /** See CanaryServiceDeps.mayStart. */
  readonly mayStart?: CanaryServiceDeps['mayStart'];
}

export interface CanaryWiring {
  readonly service: CanaryService;
  /** The relay's own ingest credential (a bearer token nothing reveals). */
  readonly token: string;
  /** The methods of an alarm posted with it: its canary's (by the `tocsin_canary` label) that are configured. */
  internalMethods(alarm: Alarm): readonly string[];
  /** A readiness check per canary. */
  addReadiness(readiness: Readiness): void;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** Undefined when no canary is configured: then no credential exists either. */
export function wireCanaries(deps: CanaryWiringDeps): CanaryWiring | undefined {
  const canaries = () => deps.config().canaries;
  if (canaries().length === 0) return undefined;
  const token = hex(deps.randomBytes(32));
  const runs = new CanaryRuns(deps.db, deps.lock);
  const service = createCanaryService({
    canaries,
    runs,
    pinger: createPinger({ http: deps.http, version: deps.version, scheduler: deps.scheduler }),
    http: deps.http,
    ingestUrl: () => {
      const a = deps.address();
      return a && `http://${a.host.includes(':') && !a.host.startsWith('[') ? `[${a.host}]` : a.host}:${a.port}`;
    },
    token,
    clock: deps.clock,
    scheduler: deps.scheduler,
    newRid: () => globalThis.crypto.randomUUID(),
    // What leaves in a fail ping: no secret of any method, nor a ping URL, nor the credential.
    redact: (text) => redact(text, [...secretsIn(deps.config().methods), ...canaries().map((c) => c.pingUrl)]).split(token).join('<secret>'),
    retentionMs: () => deps.config().database.retentionMs,
    logger: deps.logger,
    observer: canaryMetrics(deps.registry, () => deps.clock.now(), {
      canaries: () => canaries().map((c) => c.name),
      lastSucceededAt: (canary) => runs.lastSucceededAt(canary),
    }),
    deliveryReady: deps.deliveryReady,
    writable: deps.writable,
    ...(deps.viaKafka && { viaKafka: deps.viaKafka }),
    ...(deps.mayStart && { mayStart: deps.mayStart }),
  });
  return {
    service,
    token,
    internalMethods(alarm) {
      const c = canaries().find((x) => x.name === alarm.labels.tocsin_canary);
      return c ? c.methods.filter((m) => deps.hasMethod(m)) : [];
    },
    addReadiness(readiness) {
      for (const c of canaries()) {
        readiness.add(
          `canary.${c.name}`,
          () => {
            const s = service.state(c.name);
            return s === 'ok' ? undefined : s;
          },
          { affectsReadiness: c.affectsReadiness ? (reason) => reason.startsWith('failing') : false },
        );
      }
    },
  };
}
