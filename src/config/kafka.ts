/**
 * @module config/kafka
 * Builds the typed KafkaConfig from the validated `kafka:` section: reads the TLS files and the SASL
 * password (a secret), maps topic formats to ingest formats, and checks what the schema cannot see
 * (durability cluster needs a retry topic, topics are listed once and are not the relay's own topics).
 */
import { Secret } from '../lib/secret.ts';
import type { RawKafka } from './kafka-schema.ts';
import type { KafkaConfig, KafkaTopicConfig } from './types.ts';
import type { Path } from './schema.ts';

/** What building needs of the config parser: its secret reader, file reader and issue list. */
export interface KafkaBuildContext {
  secret(path: Path, obj: object, key: string, opts: { required: boolean }): Secret | undefined;
  /** A file's text (the path as written, resolved against the config's directory); undefined after adding an issue at `at`. */
  file(at: Path, path: string): string | undefined;
  add(path: Path, message: string): void;
}

/** Topic format → ingest format name (ingest/formats). */
const INGEST_FORMAT: Readonly<Record<RawKafka['topics'][number]['format'], string>> = { alarm: 'generic', generic: 'generic', monasca: 'monasca', zeebe: 'zeebe' };
/** The source name of a topic's alarms when it sets none: the ingest format's default source. */
const DEFAULT_SOURCE: Readonly<Record<string, string>> = { generic: 'generic', monasca: 'monasca', zeebe: 'zeebe' };

export function buildKafka(raw: RawKafka, ctx: KafkaBuildContext): KafkaConfig {
  const base = ['kafka'];
  const topics: KafkaTopicConfig[] = raw.topics.map((t, i) => {
    const format = INGEST_FORMAT[t.format];
    if (raw.topics.findIndex((x) => x.name === t.name) !== i) ctx.add([...base, 'topics', i, 'name'], `topic ${JSON.stringify(t.name)} is listed twice`);
    return { name: t.name, format, source: t.source ?? DEFAULT_SOURCE[format]! };
  });
  const consumed = new Set(topics.map((t) => t.name));
  if (raw.dead_letter_topic !== undefined && consumed.has(raw.dead_letter_topic)) {
    ctx.add([...base, 'dead_letter_topic'], 'must not be one of the topics consumed (an unparseable message would come back forever)');
  }
  if (raw.durability === 'cluster' && raw.retry_topic === undefined) {
    ctx.add([...base, 'retry_topic'], 'required with durability: cluster (failed notifications wait there)');
  } else if (raw.durability === 'local' && raw.retry_topic !== undefined) {
    ctx.add([...base, 'retry_topic'], 'is used with durability: cluster only; remove it or set durability: cluster');
  }
  if (raw.retry_topic !== undefined && (consumed.has(raw.retry_topic) || raw.retry_topic === raw.dead_letter_topic)) {
    ctx.add([...base, 'retry_topic'], 'must be a topic of its own (not consumed as alarms, not the dead-letter topic)');
  }

  let tls: KafkaConfig['tls'];
  if (raw.tls === true) tls = { verify: true };
  else if (raw.tls !== false) {
    const t = raw.tls;
    const ca = t.ca_file === undefined ? undefined : ctx.file([...base, 'tls', 'ca_file'], t.ca_file);
    const cert = t.cert_file === undefined ? undefined : ctx.file([...base, 'tls', 'cert_file'], t.cert_file);
    const key = ctx.secret([...base, 'tls'], t, 'key', { required: false });
    if ((t.cert_file !== undefined) !== (t.key !== undefined || t.key_file !== undefined)) {
      ctx.add([...base, 'tls'], 'set cert_file and key_file together (a client certificate needs its key)');
    }
    tls = { verify: t.verify, ...(ca !== undefined && { ca }), ...(cert !== undefined && { cert }), ...(key !== undefined && { key }) };
  }

  let sasl: KafkaConfig['sasl'];
  if (raw.sasl) {
    const password = ctx.secret([...base, 'sasl'], raw.sasl, 'password', { required: true });
    sasl = { mechanism: raw.sasl.mechanism, username: raw.sasl.username, password: password ?? new Secret('') };
  }

  return {
    brokers: raw.brokers,
    clientId: raw.client_id,
    groupId: raw.group_id,
    ...(tls && { tls }),
    ...(sasl && { sasl }),
    topics,
    ...(raw.dead_letter_topic !== undefined && { deadLetterTopic: raw.dead_letter_topic }),
    durability: raw.durability,
    ...(raw.retry_topic !== undefined && { retryTopic: raw.retry_topic }),
    sessionTimeoutMs: raw.session_timeout,
  };
}
