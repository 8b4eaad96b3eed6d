/**
 * @module kafka/messages
 * One Kafka message → what it holds, with the topic's ingest format (pure): alarms (each with a natural
 * key made of topic, partition and offset, so a batch consumed again after a crash enqueues nothing
 * twice), a reason to drop it, or why it cannot be parsed. A message carrying the `tocsin-canary` header
 * of a canary configured `via: kafka` is the relay's own canary alarm: it goes to that canary's methods.
 */
import { IngestError } from '../ingest/errors.ts';
import { ingestFormat } from '../ingest/formats.ts';
import type { ParsedAlarm, SkipReason } from '../ingest/types.ts';
import type { KafkaTopicConfig } from '../config/types.ts';

/** Headers the relay's own canary messages carry. */
export const CANARY_HEADER = 'tocsin-canary';
export const CANARY_KEY_HEADER = 'tocsin-idempotency-key';
/** The source of the canary's alarms, as over HTTP (auth's internal source). */
export const CANARY_SOURCE = 'canary';

/** What the consumer hands over of a message. */
export interface KafkaMessage {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offsets are 64-bit: kept as decimal text. */
  readonly offset: string;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: Readonly<Record<string, string | undefined>>;
}

export type MessageResult =
  | { readonly kind: 'alarms'; readonly items: readonly ParsedAlarm[]; readonly skipped?: Readonly<Partial<Record<SkipReason, number>>>; readonly canary?: CanaryMark }
  | { readonly kind: 'dropped'; readonly reason: string; readonly skipped?: Readonly<Partial<Record<SkipReason, number>>> }
  | { readonly kind: 'unparseable'; readonly field: string; readonly error: string };

/** A canary message: which canary, and the key its run gave it (a run that produces again is one alarm). */
export interface CanaryMark {
  readonly canary: string;
  readonly idempotencyKey?: string;
}

export interface MessageContext {
  readonly topic: KafkaTopicConfig;
  /** Each format's options by format name (config ingest.formats). */
  readonly formatOptions: Readonly<Record<string, unknown>>;
  readonly now: number;
  readonly hash: (text: string) => string;
  /** Is this a canary configured `via: kafka`? */
  readonly isKafkaCanary: (name: string) => boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Where a message sits: `<topic>:<partition>:<offset>`. */
export const positionOf = (m: Pick<KafkaMessage, 'topic' | 'partition' | 'offset'>): string => `${m.topic}:${m.partition}:${m.offset}`;

export function parseKafkaMessage(msg: KafkaMessage, ctx: MessageContext): MessageResult {
  const format = ingestFormat(ctx.topic.format);
  if (!format) return { kind: 'unparseable', field: 'topic', error: `no ingest format ${JSON.stringify(ctx.topic.format)}` };
  if (msg.value === null || msg.value.length === 0) return { kind: 'unparseable', field: 'value', error: 'empty message (no value)' };
  let body: string;
  try {
    body = utf8.decode(msg.value);
  } catch {
    return { kind: 'unparseable', field: 'value', error: 'not UTF-8 text' };
  }
  const canaryName = msg.headers[CANARY_HEADER];
  const canary = canaryName !== undefined && ctx.topic.format === 'generic' && ctx.isKafkaCanary(canaryName) ? canaryName : undefined;
  const source = canary !== undefined ? CANARY_SOURCE : ctx.topic.source;
  try {
    const outcome = format.parse(
      body,
      {
        source,
        sourceIsAuthenticated: canary !== undefined,
        now: ctx.now,
        header: (name) => msg.headers[name.toLowerCase()],
        param: () => undefined,
        hash: ctx.hash,
      },
      ctx.formatOptions[format.name] ?? format.options.parse({}),
    );
    if (outcome.kind === 'ignored') return { kind: 'dropped', reason: outcome.reason, ...(outcome.skipped && { skipped: outcome.skipped }) };
    const position = positionOf(msg);
    const key = canary !== undefined ? msg.headers[CANARY_KEY_HEADER] : undefined;
    const items = outcome.items.map(
      (item, i): ParsedAlarm => ({
        ...item,
        // Its methods are those of the canary the checked header names, whatever the body's label says.
        ...(canary !== undefined && { alarm: { ...item.alarm, labels: { ...item.alarm.labels, tocsin_canary: canary } } }),
        // The position (or the canary run's key): a message consumed again is a repeat, not a new alarm.
        naturalKey: key !== undefined ? `canary:${canary}:${key}:${i}` : `kafka:${position}:${i}`,
        ...(canary !== undefined && { internal: true }),
      }),
    );
    return {
      kind: 'alarms',
      items,
      ...(outcome.skipped && { skipped: outcome.skipped }),
      ...(canary !== undefined && { canary: { canary, ...(key !== undefined && { idempotencyKey: key }) } }),
    };
  } catch (e) {
    if (e instanceof IngestError) return { kind: 'unparseable', field: e.field, error: e.message };
    return { kind: 'unparseable', field: 'value', error: e instanceof Error ? e.message : String(e) };
  }
}
