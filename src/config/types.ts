/**
 * @module config/types
 * The parsed, validated, frozen configuration. Durations are milliseconds.
 */
import type { Secret } from '../lib/secret.ts';

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly maxAgeMs: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  /** Upper bound on a server's Retry-After. */
  readonly retryAfterCapMs: number;
}

export interface DeliverySettings extends RetryPolicy {
  readonly concurrency: number;
  readonly timeoutMs: number;
}

export interface SourceConfig {
  readonly name: string;
  readonly token: Secret;
}

export interface LogMethodConfig {
  readonly type: 'log';
}

export interface WebhookMethodConfig {
  readonly type: 'webhook';
  readonly url: Secret;
  readonly headers: Readonly<Record<string, string>>;
  readonly bearerToken?: Secret;
  readonly signingSecret?: Secret;
}

export type MethodSettings = LogMethodConfig | WebhookMethodConfig;

export interface MethodConfig {
  readonly name: string;
  readonly settings: MethodSettings;
  readonly delivery: DeliverySettings;
}

/** A label/field matcher: exact value, "~regex" (anchored), "!value" (not equal), "!~regex" (no match). */
export interface Matcher {
  readonly source: string;
  test(value: string | undefined): boolean;
}

export interface RouteConfig {
  readonly match: {
    readonly source?: Matcher;
    readonly name?: Matcher;
    readonly severity?: Matcher;
    readonly status?: Matcher;
    readonly labels: Readonly<Record<string, Matcher>>;
  };
  readonly methods: readonly string[];
  readonly continue: boolean;
}

export type Synchronous = 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';

export interface Config {
  readonly listen: { readonly host: string; readonly port: number };
  readonly dataDir: string;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  readonly sources: readonly SourceConfig[];
  readonly methods: Readonly<Record<string, MethodConfig>>;
  readonly routes: readonly RouteConfig[];
  readonly ingest: {
    readonly maxBodyBytes: number;
    readonly maxBatch: number;
    readonly maxPending: number;
    readonly idempotencyTtlMs: number;
    /** Severity given to Zeebe incidents. */
    readonly zeebeSeverity: 'critical' | 'error' | 'warning' | 'info';
  };
  readonly database: {
    readonly synchronous: Synchronous;
    /** Delivery log and attempt history retention. */
    readonly retentionMs: number;
  };
  readonly delivery: DeliverySettings & {
    readonly batchSize: number;
    readonly pollIntervalMs: number;
    readonly shutdownGraceMs: number;
  };
}
