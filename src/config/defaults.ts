/**
 * @module config/defaults
 * The configuration used when no file is given, as a frozen value: starting with no config file loads
 * neither the YAML parser nor the schema. It must equal what an empty document parses to; the config
 * tests check that it does.
 */
import { deepFreeze } from '../lib/freeze.ts';
import type { Config, DeliverySettings } from './types.ts';

const RETRY: DeliverySettings = Object.freeze({
  concurrency: 64,
  timeoutMs: 10_000,
  maxAttempts: 20,
  maxAgeMs: 86_400_000,
  backoffBaseMs: 1000,
  backoffCapMs: 600_000,
  retryAfterCapMs: 3_600_000,
});

const DEFAULT_CONFIG: Config = deepFreeze({
  listen: { host: '127.0.0.1', port: 9095 },
  dataDir: './data',
  logLevel: 'info',
  sources: [],
  methods: { log: { name: 'log', type: 'log', settings: {}, delivery: RETRY } },
  routes: [{ match: { labels: {} }, methods: ['log'], continue: false }],
  ingest: {
    maxBodyBytes: 1_048_576,
    maxBatch: 1000,
    maxPending: 1_000_000,
    idempotencyTtlMs: 86_400_000,
    formats: { generic: {}, zeebe: { severity: 'error' }, monasca: { undetermined: 'firing', alarm_ttl: 14_400_000 }, prometheus: {}, alertmanager: {}, grafana: {}, cloudevents: {} },
  },
  database: { synchronous: 'FULL', retentionMs: 604_800_000 },
  delivery: { ...RETRY, batchSize: 256, pollIntervalMs: 1000, shutdownGraceMs: 10_000, thread: true },
  canaries: [],
  checks: [],
  pings: { bodyLimitBytes: 100_000, afterDowntime: 'restart_grace', rateLimit: { perSecond: 5, burst: 5 } },
  lifecycle: { notifyUnknownResolved: false },
  admin: { tokens: [] },
  metrics: {},
  externalMethodRefs: [],
});

/** The configuration of an empty document. */
export function defaultConfig(): Config {
  return DEFAULT_CONFIG;
}
