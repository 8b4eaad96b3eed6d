/**
 * @module app/statsd
 * The optional StatsD client (`statsd:` in the config), emitting monasca-notification's metric names so
 * that monasca dashboards keep working: with monasca's prefix `monasca.notification.`,
 *
 * - counters `alarms_finished_count` (alarms accepted), `alarms_failed_parse_count` (requests or messages
 *   rejected as invalid), `alarms_no_notification_count` (alarms that matched no method, or were skipped),
 *   `created_count` (notifications created), `sent_failed_count` (failed delivery attempts),
 *   `invalid_type_count` (notifications left for a method that is no longer configured), and
 *   `sent_<name>_count` per channel type, named as monasca names them (`sent_smtp_count` for email,
 *   `sent_webhook_count`, `sent_pagerduty_count`, `sent_slack_count`; any other type by its name);
 * - timers `config_db_time` (one ingest commit: routing the alarms and storing them with their
 *   notifications, where monasca read its notification config from its database) and `<type>_time`
 *   (one delivery attempt, by channel type: `webhook_time`, `email_time`, ...).
 *
 * It hears the same hooks as the Prometheus metrics (http/metrics MonascaSink). Metrics are sent over UDP
 * in packets of up to ~1.4 kB, at least once a second; a send never blocks nor throws, and errors are
 * logged at most once a minute. The client (hot-shots) is loaded only when `statsd:` is configured; what
 * happens while it loads is kept (up to MAX_EARLY) and sent once it is there.
 */
import type { StatsdConfig } from '../config/types.ts';
import type { MonascaSink } from '../http/metrics.ts';
import { coerceError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';

/** What the reporter needs of a StatsD client (hot-shots' StatsD has it). */
export interface StatsdClient {
  increment(name: string, value: number): void;
  timing(name: string, ms: number): void;
  close(callback: (error?: Error) => void): void;
}

export interface StatsdReporter extends MonascaSink {
  /** Sends what is buffered and closes the socket. */
  close(): Promise<void>;
}

export interface StatsdDeps {
  readonly logger: Logger;
  /** For the pace of error logs (ms). */
  readonly now?: () => number;
  /** Makes the client (tests); default: hot-shots over UDP. */
  readonly client?: (options: StatsdClientOptions) => StatsdClient;
}

type HotShots = typeof import('hot-shots').default;

export interface StatsdClientOptions extends StatsdConfig {
  readonly errorHandler: (e: Error) => void;
}

/** At most one error line per this long; the ones in between are counted. */
export const STATSD_ERROR_LOG_MS = 60_000;
/** One UDP packet holds this much at most (under a 1500-byte MTU with IP and UDP headers). */
const MAX_PACKET_BYTES = 1432;
const FLUSH_MS = 1000;
/** Metrics recorded while the client loads, at most (the rest are dropped). */
export const MAX_EARLY = 10_000;

/** monasca-notification's names of the sent counters where they differ from `sent_<type>_count`. */
const SENT_NAMES: Readonly<Record<string, string>> = { email: 'sent_smtp_count' };

/** The counter of notifications sent by a channel type, as monasca-notification names it. */
export function sentCounterName(type: string): string {
  return Object.hasOwn(SENT_NAMES, type) ? SENT_NAMES[type]! : `sent_${type}_count`;
}

function hotShots(StatsD: HotShots, o: StatsdClientOptions): StatsdClient {
  return new StatsD({
    host: o.host,
    port: o.port,
    prefix: o.prefix,
    globalTags: { ...o.tags },
    protocol: 'udp',
    maxBufferSize: MAX_PACKET_BYTES,
    bufferFlushInterval: FLUSH_MS,
    errorHandler: o.errorHandler,
    // Only what the config says: no tags, modes or addresses taken from DD_* environment variables.
    includeDataDogTags: false,
    datadog: false,
    originDetection: false,
  });
}

/**
 * @example
 * const statsd = config.statsd && createStatsd(config.statsd, { logger });
 * const metrics = createMetrics(pending, logger, { statsd, methodType: (m) => live.config.methods[m]?.type });
 */
export function createStatsd(config: StatsdConfig, deps: StatsdDeps): StatsdReporter {
  const { logger } = deps;
  const now = deps.now ?? (() => Date.now());
  let lastLogged: number | undefined;
  let unlogged = 0;
  const errorHandler = (e: Error) => {
    const at = now();
    if (lastLogged !== undefined && at - lastLogged < STATSD_ERROR_LOG_MS) {
      unlogged++;
      return;
    }
    logger.warn(
      { host: config.host, port: config.port, err: coerceError(e).message, ...(unlogged > 0 && { errors_since_last_log: unlogged }) },
      'statsd: could not send metrics; they are dropped',
    );
    lastLogged = at;
    unlogged = 0;
  };
  const options = { ...config, errorHandler };
  let client: StatsdClient | undefined;
  let unavailable = false;
  let early: ((c: StatsdClient) => void)[] = [];
  // Never throws into ingest or delivery: a failure is an error like any other.
  const safely = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      errorHandler(coerceError(e));
    }
  };
  const started = (c: StatsdClient) => {
    client = c;
    for (const fn of early) safely(() => fn(c));
    early = [];
  };
  const loaded: Promise<void> = deps.client
    ? Promise.resolve(safely(() => started(deps.client!(options))))
    : import('hot-shots').then(
        (m) => safely(() => started(hotShots(m.default, options))),
        (e: unknown) => {
          unavailable = true;
          early = [];
          logger.error({ err: coerceError(e).message }, 'statsd: the client could not be loaded; no StatsD metrics are sent');
        },
      );
  const use = (fn: (c: StatsdClient) => void) => {
    if (client) safely(() => fn(client!));
    else if (!unavailable && early.length < MAX_EARLY) early.push(fn);
  };
  const count = (name: string, n: number) => n > 0 && use((c) => c.increment(name, n));
  const time = (name: string, ms: number) => use((c) => c.timing(name, Math.max(0, Math.round(ms))));
  let closed: Promise<void> | undefined;
  return {
    alarmsFinished: (n) => count('alarms_finished_count', n),
    alarmsFailedParse: (n) => count('alarms_failed_parse_count', n),
    alarmsNoNotification: (n) => count('alarms_no_notification_count', n),
    created: (n) => count('created_count', n),
    sent: (type) => count(sentCounterName(type), 1),
    sentFailed: () => count('sent_failed_count', 1),
    invalidType: (n) => count('invalid_type_count', n),
    deliveryTime: (type, ms) => time(`${type}_time`, ms),
    configDbTime: (ms) => time('config_db_time', ms),
    close: () =>
      (closed ??= loaded.then(
        () =>
          new Promise<void>((resolve) => {
            if (!client) return resolve();
            try {
              client.close((e) => {
                if (e) errorHandler(e);
                resolve();
              });
            } catch (e) {
              errorHandler(coerceError(e));
              resolve();
            }
          }),
      )),
  };
}
