/**
 * @module kafka/client
 * The kafkajs client from the config: brokers, TLS, SASL, and kafkajs' own log lines routed into the
 * relay's logger (warnings and errors as warnings, the rest at debug), with every secret redacted.
 */
import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../config/types.ts';
import type { Logger } from '../lib/logger.ts';
import { redact, secretsIn } from '../lib/secret.ts';

/** The fields of a kafkajs log entry worth keeping (the rest can be large, or hold request detail). */
const KEPT = ['broker', 'groupId', 'memberId', 'topic', 'partition', 'retryCount', 'retryTime', 'error', 'clientId'] as const;

export function kafkaClient(config: KafkaConfig, logger: Logger): Kafka {
  const secrets = secretsIn(config);
  const clean = (text: string) => redact(text, secrets);
  const options: KafkaJsConfig = {
    clientId: config.clientId,
    brokers: [...config.brokers],
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    // A few quick retries (about 10 s in all), then the service restarts the consumer with its own backoff:
    // a broker that cannot be reached shows in the log and /readyz within seconds.
    retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: 5 },
    logLevel: logLevel.INFO,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      const fields: Record<string, unknown> = { kafka: entry.namespace };
      for (const k of KEPT) if (rest[k] !== undefined) fields[k] = typeof rest[k] === 'string' ? clean(rest[k] as string) : rest[k];
      const text = `kafka: ${clean(String(message))}`;
      if (entry.level === logLevel.ERROR || entry.level === logLevel.WARN) logger.warn(fields, text);
      else logger.debug(fields, text);
    },
  };
  if (config.tls) {
    const t = config.tls;
    options.ssl = {
      rejectUnauthorized: t.verify,
      ...(t.ca !== undefined && { ca: [t.ca] }),
      ...(t.cert !== undefined && { cert: t.cert }),
      ...(t.key !== undefined && { key: t.key.reveal() }),
    };
  }
  if (config.sasl) {
    const { mechanism, username, password } = config.sasl;
    options.sasl = { mechanism, username, password: password.reveal() } as SASLOptions;
  }
  return new Kafka(options);
}
