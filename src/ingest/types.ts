/**
 * @module ingest/types
 * What every source parser returns: alarms with their natural idempotency key, or a reason to ignore the request.
 */
import type { AlarmInput } from '../domain/alarm.ts';

/**
 * Why a message was not notified, as counted (metric `reason`): `ttl`, older than the format's alarm TTL
 * (dropped); `actions_disabled`, its source disabled notifications for it (recorded, not notified);
 * `undetermined`, a state the config says to ignore (dropped); `invalid`, an alert of a batch that a
 * best-effort format (Prometheus' Alertmanager API) could not read, while the others were stored.
 */
export type SkipReason = 'ttl' | 'actions_disabled' | 'undetermined' | 'invalid';

export interface ParsedAlarm {
  readonly alarm: AlarmInput;
  /** The source's own idempotency key for this occurrence, if it has one (a repeat within the TTL is not enqueued again). */
  readonly naturalKey?: string;
  /** Recorded but not notified (no method gets it), for this reason. */
  readonly quiet?: SkipReason;
  /** Injected by the relay itself (the heartbeat canary): its methods are the canary's, never the routes'. */
  readonly internal?: boolean;
}

export type ParseOutcome =
  | {
      readonly kind: 'alarms';
      readonly items: readonly ParsedAlarm[];
      /** Messages of the request that were dropped, by reason (a monasca array mixing old and new transitions). */
      readonly skipped?: Readonly<Partial<Record<SkipReason, number>>>;
    }
  | { readonly kind: 'ignored'; readonly reason: string; readonly skipped?: Readonly<Partial<Record<SkipReason, number>>> };
