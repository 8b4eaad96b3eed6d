/**
 * @module kafka/batch
 * One batch of one topic-partition, at least once: parse every message; accept all their alarms into
 * the outbox in one transaction (the same acceptor as HTTP ingest); copy unparseable messages to the
 * dead-letter topic; and only then say which offset may be committed (the last message's + 1).
 * Any failure before that throws, and nothing is committed: the batch is consumed again.
 */
import type { Acceptor } from '../ingest/accept.ts';
import type { ParsedAlarm, SkipReason } from '../ingest/types.ts';
import type { Logger } from '../lib/logger.ts';
import { parseKafkaMessage, positionOf, type CanaryMark, type KafkaMessage, type MessageContext } from './messages.ts';

/** What a message came to, for the `tocsin_kafka_messages_total{outcome}` metric. */
export type MessageOutcome = 'accepted' | 'dropped' | 'unparseable' | `skipped_${SkipReason}`;

export interface UnparseableMessage {
  readonly message: KafkaMessage;
  readonly field: string;
  readonly error: string;
}

export interface BatchDeps {
  readonly accept: Acceptor;
  /** Copies unparseable messages to the dead-letter topic (acknowledged by the brokers), if one is configured. */
  readonly deadLetter?: (messages: readonly UnparseableMessage[]) => Promise<void>;
  /** The ids a canary message's alarm got (the canary waits for them). */
  readonly canaryAccepted?: (mark: CanaryMark, ids: { alarmId: string; notificationIds: readonly string[] }) => void;
  readonly logger: Logger;
}

export interface BatchResult {
  /** The offset to commit: the last message's + 1. */
  readonly commitOffset: string;
  readonly outcomes: ReadonlyMap<MessageOutcome, number>;
  readonly alarms: number;
  /** The notifications the batch's alarms have (new or, for a batch consumed again, the earlier ones). */
  readonly notificationIds: readonly string[];
}

export async function handleBatch(messages: readonly KafkaMessage[], ctx: MessageContext, deps: BatchDeps): Promise<BatchResult | undefined> {
  const last = messages.at(-1);
  if (!last) return undefined;
  const outcomes = new Map<MessageOutcome, number>();
  const count = (o: MessageOutcome, n = 1) => outcomes.set(o, (outcomes.get(o) ?? 0) + n);
  const items: ParsedAlarm[] = [];
  const canaries: { mark: CanaryMark; items: readonly ParsedAlarm[] }[] = [];
  const unparseable: UnparseableMessage[] = [];

  for (const m of messages) {
    const r = parseKafkaMessage(m, ctx);
    if (r.kind === 'unparseable') {
      count('unparseable');
      unparseable.push({ message: m, field: r.field, error: r.error });
      // Where it sits and what is wrong with it, never its content.
      deps.logger.warn({ topic: m.topic, partition: m.partition, offset: m.offset, field: r.field, err: r.error }, 'unparseable Kafka message: skipped');
      continue;
    }
    if (r.kind === 'dropped') {
      const reasons = Object.entries(r.skipped ?? {});
      if (reasons.length === 0) count('dropped');
      for (const [reason, n] of reasons) count(`skipped_${reason as SkipReason}`, n);
      deps.logger.debug({ position: positionOf(m), reason: r.reason }, 'Kafka message dropped');
      continue;
    }
    for (const [reason, n] of Object.entries(r.skipped ?? {})) count(`skipped_${reason as SkipReason}`, n);
    const quiet = r.items.filter((i) => i.quiet);
    for (const i of quiet) count(`skipped_${i.quiet!}`);
    if (quiet.length < r.items.length) count('accepted');
    if (r.canary) canaries.push({ mark: r.canary, items: r.items });
    else items.push(...r.items);
  }

  if (unparseable.length > 0 && deps.deadLetter) await deps.deadLetter(unparseable);
  const notificationIds: string[] = [];
  if (items.length > 0) notificationIds.push(...(await deps.accept({ source: ctx.topic.source, items, stateMayBeElsewhere: true })).notificationIds);
  // A canary message on its own (rare): its answer gives the ids its run waits for.
  for (const c of canaries) {
    const r = await deps.accept({ source: ctx.topic.source, items: c.items, stateMayBeElsewhere: true });
    notificationIds.push(...r.notificationIds);
    const alarmId = r.alarmIds[0];
    if (alarmId !== undefined) deps.canaryAccepted?.(c.mark, { alarmId, notificationIds: r.notificationIds });
  }
  const alarms = items.length + canaries.reduce((n, c) => n + c.items.length, 0);
  return { commitOffset: (BigInt(last.offset) + 1n).toString(), outcomes, alarms, notificationIds };
}
