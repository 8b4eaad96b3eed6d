/**
 * @module config/types
 * The parsed, validated, frozen configuration. Durations are milliseconds.
 */
import type { Secret } from '../lib/secret.ts';
import type { AfterDowntime, CheckSchedule } from '../checks/types.ts';

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
  /** Sends per second and burst (a token bucket); absent: no limit but `concurrency`. */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
}

export interface SourceConfig {
  readonly name: string;
  /** `Authorization: Bearer <token>`. */
  readonly token?: Secret;
  /** `Authorization: Basic` (what Prometheus and Alertmanager can send). */
  readonly basicAuth?: { readonly username: string; readonly password: Secret };
  /** Standard Webhooks signatures over the body are verified with these (the current one first). */
  readonly signingSecrets: readonly Secret[];
}

/** A configured method: a named instance of a channel (channels/registry.ts knows the types). */
export interface MethodConfig {
  readonly name: string;
  /** The channel type (`webhook`, `log`, ...). */
  readonly type: string;
  /** The channel's own settings, as its descriptor built them (secrets are Secret instances). */
  readonly settings: unknown;
  readonly delivery: DeliverySettings;
  /** Its `template:` overrides (eta sources by part; files already read), checked at startup. */
  readonly template?: Readonly<Partial<Record<'title' | 'text' | 'html' | 'body', string>>>;
  /** The time zone of the `time` helper (config templates.timezone). */
  readonly timezone?: string;
  /** Remind every so often while an alarm fires (a route's repeat_interval overrides it). */
  readonly repeatIntervalMs?: number;
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
  /** Remind every so often while an alarm fires (overrides the methods' repeat_interval). */
  readonly repeatIntervalMs?: number;
  /** Flap damping: at least this long between two state-change notifications of one alarm per method. */
  readonly minStateIntervalMs?: number;
  /** Grouping: alarms with equal values of these labels, arriving within the window, go as one notification. */
  readonly group?: { readonly by: readonly string[]; readonly waitMs: number; readonly intervalMs: number };
}

/** A heartbeat canary (issue #10): a synthetic alarm injected every interval and followed through delivery. */
export interface CanaryConfig {
  readonly name: string;
  readonly intervalMs: number;
  /** Where its notifications go: configured method names (or `log`). */
  readonly methods: readonly string[];
  /** The dead man's switch pinged after each successful run. */
  readonly pingUrl: Secret;
  /** Injection → every delivery done, at most. */
  readonly maxLatencyMs: number;
  /** Follow each firing canary alarm with its resolved one. */
  readonly resolve: boolean;
  /** Extra labels on the canary alarm. */
  readonly labels: Readonly<Record<string, string>>;
  /** /readyz answers 503 while this canary fails. */
  readonly affectsReadiness: boolean;
  /** How the canary alarm enters: POSTed to the relay's own listener, or produced to a Kafka topic. */
  readonly via: 'http' | 'kafka';
  /** With via kafka: the topic (of format `alarm`) it is produced to. */
  readonly topic?: string;
}

/** A heartbeat check of the config file (issue #15): read-only at runtime. */
export interface CheckConfig {
  readonly name: string;
  /** A fixed UUID; absent: one is generated once and kept in the database. */
  readonly uuid?: string;
  readonly schedule: CheckSchedule;
  readonly graceMs: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** The ping API's settings, shared by every check (`pings:`). */
export interface PingsConfig {
  /** The key of `/ping/<ping-key>/<slug>` URLs; absent: only `/ping/<uuid>` URLs work. */
  readonly pingKey?: Secret;
  /** A POST body is kept up to this many bytes (the rest is cut off). */
  readonly bodyLimitBytes: number;
  /** A deadline that passed while the relay was down: the grace time starts over, or the check fires. */
  readonly afterDowntime: AfterDowntime;
  /** Pings per check: a token bucket (faster pings get 429). */
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
}

/** A topic the Kafka consumer reads. */
export interface KafkaTopicConfig {
  readonly name: string;
  /** The ingest format of its messages (ingest/formats names: monasca, generic, zeebe). */
  readonly format: string;
  /** The source name of its alarms. */
  readonly source: string;
}

/** The optional Kafka consumer (issue #11). */
export interface KafkaConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly groupId: string;
  /** Absent: plaintext. */
  readonly tls?: {
    /** PEM texts read from the files at startup. */
    readonly ca?: string;
    readonly cert?: string;
    readonly key?: Secret;
    readonly verify: boolean;
  };
  readonly sasl?: { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: Secret };
  readonly topics: readonly KafkaTopicConfig[];
  readonly deadLetterTopic?: string;
  /** local: pending retries live in this instance's outbox; cluster: on the retry topic. */
  readonly durability: 'local' | 'cluster';
  readonly retryTopic?: string;
  readonly sessionTimeoutMs: number;
}

export type Synchronous = 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';

/** The optional StatsD client (`statsd:`): monasca-notification's metric names, sent over UDP. */
export interface StatsdConfig {
  readonly host: string;
  readonly port: number;
  /** Put before every metric name, as written (monasca's is "monasca.notification.", the dot included). */
  readonly prefix: string;
  /** Tags (monasca dimensions) sent with every metric. */
  readonly tags: Readonly<Record<string, string>>;
}

/** A method named by a route or a canary that the file does not define (parseConfig's `externalMethods`). */
export interface ExternalMethodRef {
  /** Where it is named, e.g. `routes[1].methods[0]`. */
  readonly path: string;
  readonly name: string;
}

export interface Config {
  readonly listen: { readonly host: string; readonly port: number };
  readonly dataDir: string;
  /**
   * Where a relative data_dir pointed before relative paths resolved against the config file (from the
   * working directory), when that is somewhere else: the relay refuses to start on an empty data_dir
   * while a database sits there (see app/open-outbox).
   */
  readonly dataDirFromCwd?: string;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  readonly sources: readonly SourceConfig[];
  readonly methods: Readonly<Record<string, MethodConfig>>;
  readonly routes: readonly RouteConfig[];
  readonly ingest: {
    readonly maxBodyBytes: number;
    readonly maxBatch: number;
    readonly maxPending: number;
    readonly idempotencyTtlMs: number;
    /** Each ingest format's own options by format name (see ingest/formats.ts), validated by the format. */
    readonly formats: Readonly<Record<string, unknown>>;
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
    /** Deliver on a thread of its own (when the runtime can start one). */
    readonly thread: boolean;
  };
  /** Heartbeat canaries, in the order written (none by default). */
  readonly canaries: readonly CanaryConfig[];
  /** Heartbeat checks of the config file, in the order written (none by default). */
  readonly checks: readonly CheckConfig[];
  readonly pings: PingsConfig;
  /** The Kafka consumer; absent: none (no Kafka code is loaded). */
  readonly kafka?: KafkaConfig;
  readonly lifecycle: {
    /** Notify the first resolved of an alarm never seen (default false: recorded only). */
    readonly notifyUnknownResolved: boolean;
  };
  /** The admin API (silences): its bearer tokens; none: the admin API answers 403 to everyone. */
  readonly admin: { readonly tokens: readonly Secret[] };
  /** `/metrics`: with a token, scrapes must send `Authorization: Bearer <token>`; without, it is open. */
  readonly metrics: { readonly token?: Secret };
  /** StatsD; absent: none. */
  readonly statsd?: StatsdConfig;
  /**
   * Methods that routes and canaries name but the file does not define, when parsed with
   * `externalMethods` (they may be defined elsewhere, e.g. through the admin API); empty otherwise.
   */
  readonly externalMethodRefs: readonly ExternalMethodRef[];
}
