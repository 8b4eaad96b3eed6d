/**
 * @module config/kafka-schema
 * The zod schema of the `kafka:` section (issue #11): brokers, client and group ids, TLS, SASL, the
 * topics consumed and their formats, the dead-letter topic, and durability (local | cluster).
 * Secrets (`password` / `password_file`, `key` / `key_file`) and files are read afterwards (config/kafka).
 */
import * as z from 'zod';
import { parseDuration } from '../lib/duration.ts';

/** Kafka's own rule for topic names. */
export const TOPIC_RE = /^[A-Za-z0-9._-]{1,249}$/;
/** The formats a topic can carry: `alarm` is tocsin's own schema (`generic` is accepted as its other name). */
export const KAFKA_FORMATS = ['monasca', 'alarm', 'zeebe', 'generic'] as const;
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export const DURABILITIES = ['local', 'cluster'] as const;

const oneOf = (values: readonly string[]) => `must be one of: ${values.join(', ')}`;
const topic = z.string({ error: 'must be a topic name' }).regex(TOPIC_RE, { error: 'must be a Kafka topic name: 1 to 249 of letters, digits, ".", "_" and "-"' });
const text = z.string().min(1, { error: 'must not be empty' });

/** host:port, as kafkajs takes it. */
const broker = z.string({ error: 'must be host:port' }).regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/, { error: 'must be host:port, like 127.0.0.1:9092' });

const DURATION_MSG = 'must be a duration like "6s" or "500ms"';
const duration = (min: number, minText: string) =>
  z.union([z.number(), z.string()], { error: DURATION_MSG }).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) ctx.addIssue({ code: 'custom', message: DURATION_MSG });
    else if (ms < min) ctx.addIssue({ code: 'custom', message: `must be at least ${minText}` });
    else return ms;
    return z.NEVER;
  });

const tls = z.union(
  [
    z.boolean(),
    z.strictObject({
      ca_file: text.optional(),
      cert_file: text.optional(),
      key: z.string().optional(),
      key_file: z.string().optional(),
      /** false: accept any server certificate (testing only). */
      verify: z.boolean({ error: 'must be true or false' }).prefault(true),
    }),
  ],
  { error: 'must be false, true, or { ca_file, cert_file, key_file }' },
);

const sasl = z.strictObject({
  mechanism: z.enum(SASL_MECHANISMS, { error: oneOf(SASL_MECHANISMS) }),
  username: text,
  password: z.string().optional(),
  password_file: z.string().optional(),
});

export const kafkaSchema = z.strictObject({
  brokers: z.array(broker, { error: (iss) => (iss.input === undefined ? 'required: a list of host:port, like [127.0.0.1:9092]' : 'must be a list of host:port') }).min(1, { error: 'must list at least one broker' }),
  client_id: text.prefault('tocsin'),
  group_id: text.prefault('tocsin'),
  tls: tls.prefault(false),
  sasl: sasl.optional(),
  topics: z
    .array(
      z.strictObject({
        name: topic,
        format: z.enum(KAFKA_FORMATS, { error: oneOf(KAFKA_FORMATS.filter((f) => f !== 'generic')) }),
        /** The source name of its alarms (default: the format's: monasca, zeebe, generic). */
        source: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { error: 'invalid name; use letters, digits, "_", "." or "-"' }).optional(),
      }),
      { error: (iss) => (iss.input === undefined ? 'required: a list of { name, format }' : 'must be a list of { name, format }') },
    )
    .min(1, { error: 'must list at least one topic' }),
  dead_letter_topic: topic.optional(),
  durability: z.enum(DURABILITIES, { error: oneOf(DURABILITIES) }).prefault('local'),
  retry_topic: topic.optional(),
  /**
   * A member that stops heartbeating is replaced after this (kafkajs' own default, 30 s, is long for
   * alerts); brokers refuse less than their group.min.session.timeout.ms, 6 s by default.
   */
  session_timeout: duration(6000, "6s (the brokers' group.min.session.timeout.ms default)").prefault('6s'),
});

export type RawKafka = z.output<typeof kafkaSchema>;
