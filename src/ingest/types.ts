/**
 * @module ingest/types
 * What every source parser returns: alarms with their natural idempotency key, or a reason to ignore the request.
 */
import type { AlarmInput } from '../domain/alarm.ts';

export interface ParsedAlarm {
  readonly alarm: AlarmInput;
  /** The source's own idempotency key for this occurrence, if it has one (a repeat within the TTL is not enqueued again). */
  readonly naturalKey?: string;
}

export type ParseOutcome =
  | { readonly kind: 'alarms'; readonly items: readonly ParsedAlarm[] }
  | { readonly kind: 'ignored'; readonly reason: string };
