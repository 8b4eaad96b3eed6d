/**
 * @module kafka/service
 * The Kafka consumer as a service of the app (loaded only when `kafka:` is configured).
 *
 * At least once: kafkajs runs with autoCommit off; each batch of a topic-partition goes through
 * kafka/batch (one outbox transaction), and only after that commit is its offset committed, explicitly
 * (the last message's offset + 1: kafkajs' commitOffsetsIfNecessary() with no argument commits nothing
 * when autoCommit is off). A batch that fails before that (the outbox over ingest.max_pending, the
 * database unwritable, the dead-letter topic unreachable) is neither resolved nor committed: its
 * partition is paused and consumed again from the same offset once the cause is gone (resumed below
 * 90 % of max_pending, or after a short wait).
 *
 * A stop finishes the batch under way, commits it and leaves the group (kafkajs' disconnect waits for
 * the batch). A broker that cannot be reached at start, or a consumer that crashes, is retried with
 * backoff; HTTP ingest goes on meanwhile, and the `kafka` readiness check (reported, not failing
 * /readyz) says why.
 */
import { Partitioners, type Admin, type Consumer, type EachBatchPayload, type Kafka, type Producer } from 'kafkajs';
import type { KafkaConfig, KafkaTopicConfig } from '../config/types.ts';
import { BackpressureError, type Acceptor } from '../ingest/accept.ts';
import { every, type Scheduler, type Timer } from '../lib/clock.ts';
import { coerceError } from '../lib/errors.ts';
import { redact, secretsIn } from '../lib/secret.ts';
import type { Logger } from '../lib/logger.ts';
import type { Service } from '../lib/service.ts';
import { handleBatch, type UnparseableMessage } from './batch.ts';
import { CommitGate, createHandoff } from './cluster.ts';
import { decodeRetryRecord, encodeRetryRecord } from './retry-record.ts';
import type { Handoff, HandoffRecord } from '../outbox/handoff.ts';
import { kafkaClient } from './client.ts';
import { CANARY_HEADER, CANARY_KEY_HEADER, type CanaryMark, type KafkaMessage } from './messages.ts';
import type { KafkaObserver } from './metrics.ts';

/** Resume a paused partition below this share of ingest.max_pending. */
const RESUME_BELOW = 0.9;
/** How often paused partitions are looked at, and how long a failed batch waits before it is tried again. */
const HOLD_CHECK_MS = 500;
const FAILED_BATCH_WAIT_MS = 2000;
/** How often the lag of the partitions held is refreshed (batches refresh it too). */
const LAG_EVERY_MS = 5000;
/** Cluster mode: how often failed notifications are handed off and settled batches committed. */
const CLUSTER_EVERY_MS = 250;
/** The commit gate looks at this many waiting batches per partition at a time. */
const GATE_LOOKAHEAD = 16;
/** Restarting a consumer that could not connect or crashed: backoff bounds. */
const RESTART_MIN_MS = 1000;
const RESTART_MAX_MS = 30_000;

export interface KafkaServiceDeps {
  readonly config: KafkaConfig;
  readonly accept: Acceptor;
  /** Each ingest format's options by name (config ingest.formats). */
  readonly formatOptions: () => Readonly<Record<string, unknown>>;
  readonly now: () => number;
  readonly hash: (text: string) => string;
  /** Is this a canary configured `via: kafka`? */
  readonly isKafkaCanary: (name: string) => boolean;
  /** Undelivered notifications now, and the limit (ingest.max_pending). */
  readonly pending: () => number;
  readonly maxPending: number;
  readonly scheduler: Scheduler;
  readonly random: () => number;
  readonly logger: Logger;
  readonly observer?: KafkaObserver;
  /** For tests: a client of its own (default: from the config). */
  readonly client?: Kafka;
  /** With durability: cluster: the outbox's side of the hand-off (see kafka/cluster). */
  readonly cluster?: ClusterDeps;
}

/** What cluster mode needs of the outbox. */
export interface ClusterDeps {
  /** Runs fn in a write transaction of the outbox (the group committer). */
  readonly transact: <T>(fn: () => T) => Promise<T>;
  readonly handoff: Handoff;
  /** Notifications that arrived from the retry topic (undelivered here now; delivery is woken). */
  readonly arrived: (n: number) => void;
  /** Notifications handed to the retry topic (no longer undelivered here). */
  readonly left: (n: number) => void;
}

/** A canary alarm to produce (kafka/messages recognises it by its headers). */
export interface CanaryMessage {
  readonly canary: string;
  readonly topic: string;
  readonly key: string;
  readonly body: string;
  readonly idempotencyKey: string;
}

export interface KafkaService extends Service {
  stop(): Promise<void>;
  /** Undefined while the consumer is in its group; else why not. */
  ready(): string | undefined;
  /**
   * Produces a canary alarm to a partition this instance consumes and resolves with the ids its alarm
   * got once the consumer accepted it. Rejects when this instance holds no partition of the topic.
   */
  injectCanary(m: CanaryMessage, signal: AbortSignal): Promise<{ alarmId: string; notificationIds: readonly string[] }>;
}

type Held = { topic: string; partition: number; until?: number; backpressure: boolean };

export function createKafkaService(deps: KafkaServiceDeps): KafkaService {
  const { config, logger, scheduler } = deps;
  const kafka = deps.client ?? kafkaClient(config, logger);
  const topics = new Map<string, KafkaTopicConfig>(config.topics.map((t) => [t.name, t]));
  const cluster = config.durability === 'cluster' && config.retryTopic !== undefined ? deps.cluster : undefined;
  const retryTopic = cluster ? config.retryTopic : undefined;
  const needsProducer = cluster !== undefined || config.deadLetterTopic !== undefined || [...topics.values()].some((t) => t.format === 'generic');
  const gate = new CommitGate();
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  let admin: Admin | undefined;
  let stopped = false;
  let state: string | undefined = 'connecting to the Kafka brokers';
  /** Partitions held, by topic. */
  let assignment = new Map<string, number[]>();
  /** The offset committed last, per `topic:partition`. */
  const committed = new Map<string, bigint>();
  const held = new Map<string, Held>();
  const waiters = new Map<string, (ids: { alarmId: string; notificationIds: readonly string[] }) => void>();
  const timers: Timer[] = [];
  let running: Promise<void> | undefined;
  let restartTimer: Timer | undefined;
  let failures = 0;

  const key = (topic: string, partition: number) => `${topic}:${partition}`;
  const secrets = secretsIn(config);
  /** An error text from kafkajs or the brokers, without any secret of the config. */
  const clean = (text: string) => redact(text, secrets);

  const handoff =
    cluster &&
    createHandoff({
      transact: cluster.transact,
      handoff: cluster.handoff,
      produce: async (records) => {
        if (!producer) throw new Error('no Kafka producer');
        await producer.send({ topic: retryTopic!, acks: -1, messages: records.map(encodeRetryRecord) });
      },
      left: cluster.left,
      leasing: (ids) => gate.holding(ids),
      now: deps.now,
      logger,
    });

  /** Cluster mode: hand off what failed here, then commit the batches whose notifications are all settled. */
  let settling: Promise<void> | undefined;
  const settle = (): Promise<void> => (settling ??= settleOnce().finally(() => (settling = undefined)));
  const settleOnce = async () => {
    if (!cluster || !handoff) return;
    try {
      await handoff.pass();
      if (gate.size === 0 || !consumer) return;
      const ids = gate.waitedFor(GATE_LOOKAHEAD);
      const unsettled = cluster.handoff.unsettled(ids);
      const checked = new Set(ids);
      handoff.forget((id) => checked.has(id) && !unsettled.has(id));
      const commits = gate.settle(unsettled, GATE_LOOKAHEAD);
      if (commits.length === 0) return;
      await consumer.commitOffsets([...commits]);
      gate.committed(commits);
      for (const c of commits) committed.set(key(c.topic, c.partition), BigInt(c.offset));
    } catch (e) {
      logger.warn({ err: clean(coerceError(e).message) }, 'could not commit settled Kafka offsets; trying again');
    }
  };

  /** Cluster mode: a batch of the retry topic → its notifications into this outbox (unless already here). */
  const arrive = async (messages: readonly KafkaMessage[]): Promise<{ ids: string[]; bad: UnparseableMessage[] }> => {
    const records: HandoffRecord[] = [];
    const bad: UnparseableMessage[] = [];
    for (const m of messages) {
      const r = m.value === null ? { error: 'empty message (no value)' } : decodeRetryRecord(new TextDecoder().decode(m.value));
      if ('error' in r) {
        bad.push({ message: m, field: 'value', error: r.error });
        // Not written by a tocsin of this cluster (whose records this one reads): nothing to deliver.
        logger.error({ topic: m.topic, partition: m.partition, offset: m.offset, err: r.error }, 'unreadable retry-topic record: skipped (copied to the dead-letter topic when one is set)');
      } else records.push(r);
    }
    if (bad.length > 0 && config.deadLetterTopic !== undefined) await deadLetter(bad);
    const n = await cluster!.transact(() => records.filter((r) => cluster!.handoff.arrive(r, handoff!.leavingUnder(r.id)) === 'inserted').length);
    for (const r of records) handoff!.arrivedWith(r.id, r.attempts);
    if (n > 0) cluster!.arrived(n);
    return { ids: records.map((r) => r.id), bad };
  };

  const deadLetter = async (messages: readonly UnparseableMessage[]) => {
    if (!producer || config.deadLetterTopic === undefined) throw new Error('no producer for the dead-letter topic');
    await producer.send({
      topic: config.deadLetterTopic,
      acks: -1,
      messages: messages.map(({ message: m, field, error }) => ({
        key: m.key === null ? null : Buffer.from(m.key),
        value: m.value === null ? null : Buffer.from(m.value),
        headers: {
          ...Object.fromEntries(Object.entries(m.headers).filter((e): e is [string, string] => e[1] !== undefined)),
          'tocsin-error': `${field}: ${error}`.slice(0, 1000),
          'tocsin-topic': m.topic,
          'tocsin-partition': String(m.partition),
          'tocsin-offset': m.offset,
        },
      })),
    });
  };

  const canaryAccepted = (mark: CanaryMark, ids: { alarmId: string; notificationIds: readonly string[] }) => {
    const w = mark.idempotencyKey === undefined ? undefined : waiters.get(`${mark.canary}:${mark.idempotencyKey}`);
    w?.(ids);
  };

  /** Runs a kafkajs call that may throw while its consumer restarts; false when it threw. */
  const safely = (what: string, fn: () => void): boolean => {
    try {
      fn();
      return true;
    } catch (e) {
      logger.debug({ err: clean(coerceError(e).message) }, `Kafka ${what} refused; tried again later`);
      return false;
    }
  };

  /** Hold a partition: not fetched until its cause is gone (its batch, unresolved, is fetched again). */
  const hold = (topic: string, partition: number, backpressure: boolean) => {
    safely('pause', () => consumer?.pause([{ topic, partitions: [partition] }]));
    held.set(key(topic, partition), { topic, partition, backpressure, ...(!backpressure && { until: performance.now() + FAILED_BATCH_WAIT_MS }) });
    deps.observer?.paused(held.size);
  };
  const checkHeld = () => {
    if (held.size === 0 || !consumer) return;
    const relieved = deps.pending() < deps.maxPending * RESUME_BELOW;
    for (const [k, h] of held) {
      if (h.backpressure ? !relieved : performance.now() < (h.until ?? 0)) continue;
      // kafkajs refuses while its consumer restarts: tried again at the next check.
      if (!safely('resume', () => consumer?.resume([{ topic: h.topic, partitions: [h.partition] }]))) continue;
      held.delete(k);
      logger.info({ topic: h.topic, partition: h.partition }, 'Kafka partition resumed');
    }
    deps.observer?.paused(held.size);
  };

  const toMessage = (topic: string, partition: number, m: EachBatchPayload['batch']['messages'][number]): KafkaMessage => {
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(m.headers ?? {})) {
      const one = Array.isArray(v) ? v[0] : v;
      if (one !== undefined) headers[k.toLowerCase()] = typeof one === 'string' ? one : one.toString('utf8');
    }
    return { topic, partition, offset: m.offset, key: m.key, value: m.value, headers };
  };

  /** Batches being taken now (a stop waits for them, so that their offsets are committed). */
  const inFlight = new Set<Promise<void>>();
  /** A stop began: batches fetched from now on are left for the next consumer (nothing stored, nothing committed). */
  let draining = false;
  const eachBatch = (payload: EachBatchPayload): Promise<void> => {
    if (draining) return Promise.resolve();
    const p = takeBatch(payload).finally(() => inFlight.delete(p));
    inFlight.add(p);
    return p;
  };

  const takeBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const { topic, partition } = batch;
    const t = topics.get(topic);
    if (!t && topic !== retryTopic) return;
    if (deps.pending() >= deps.maxPending) {
      logger.warn({ topic, partition, undelivered: deps.pending(), max_pending: deps.maxPending }, 'outbox over ingest.max_pending: Kafka partition paused');
      return hold(topic, partition, true);
    }
    const messages = batch.messages.map((m) => toMessage(topic, partition, m));
    let result;
    try {
      if (!t) {
        // The retry topic (cluster mode): its notifications wait here until sent, dead or handed off again.
        const { ids, bad } = await arrive(messages);
        gate.add(topic, partition, (BigInt(batch.lastOffset()) + 1n).toString(), ids);
        resolveOffset(batch.lastOffset());
        deps.observer?.messages(topic, 'accepted', messages.length - bad.length);
        if (bad.length > 0) deps.observer?.messages(topic, 'unparseable', bad.length);
        return void (await heartbeat());
      }
      result = await handleBatch(
        messages,
        { topic: t, formatOptions: deps.formatOptions(), now: deps.now(), hash: deps.hash, isKafkaCanary: deps.isKafkaCanary },
        { accept: deps.accept, ...(config.deadLetterTopic !== undefined && { deadLetter }), canaryAccepted, logger },
      );
    } catch (e) {
      // Nothing of this batch is committed: it is consumed again once the partition resumes.
      const backpressure = e instanceof BackpressureError && deps.pending() >= deps.maxPending;
      logger.warn({ topic, partition, from: batch.firstOffset(), err: coerceError(e).message }, 'Kafka batch not taken; its partition is paused and the batch will be consumed again');
      return hold(topic, partition, backpressure);
    }
    if (!result) return;
    if (cluster) {
      // Committed once each of its notifications is sent, dead or on the retry topic (see settle).
      gate.add(topic, partition, result.commitOffset, result.notificationIds);
      resolveOffset(batch.lastOffset());
      for (const [outcome, n] of result.outcomes) deps.observer?.messages(topic, outcome, n);
      return void (await heartbeat());
    }
    try {
      await consumer!.commitOffsets([{ topic, partition, offset: result.commitOffset }]);
    } catch (e) {
      // The alarms are stored; the offset is not committed: after a rebalance another member takes the
      // batch again (a duplicate, never a loss); here, the idempotency keys make it a repeat.
      logger.warn({ topic, partition, offset: result.commitOffset, err: coerceError(e).message }, 'could not commit a Kafka offset; the batch may be consumed again');
      return;
    }
    resolveOffset(batch.lastOffset());
    committed.set(key(topic, partition), BigInt(result.commitOffset));
    for (const [outcome, n] of result.outcomes) deps.observer?.messages(topic, outcome, n);
    const high = BigInt(batch.highWatermark);
    deps.observer?.lag(topic, partition, Number(high > BigInt(result.commitOffset) ? high - BigInt(result.commitOffset) : 0n));
    await heartbeat();
  };

  const refreshLag = async () => {
    if (!admin || assignment.size === 0) return;
    try {
      for (const [topic, partitions] of assignment) {
        const highs = await admin.fetchTopicOffsets(topic);
        for (const p of partitions) {
          const high = highs.find((h) => h.partition === p);
          const done = committed.get(key(topic, p));
          if (!high || done === undefined) continue;
          const lag = BigInt(high.high) - done;
          deps.observer?.lag(topic, p, Number(lag > 0n ? lag : 0n));
        }
      }
    } catch (e) {
      logger.debug({ err: coerceError(e).message }, 'could not read Kafka high watermarks');
    }
  };

  const rebalanced = (next: Map<string, number[]>) => {
    const gained: string[] = [];
    const lost: string[] = [];
    for (const [topic, ps] of next) for (const p of ps) if (!assignment.get(topic)?.includes(p)) gained.push(key(topic, p));
    for (const [topic, ps] of assignment) {
      for (const p of ps) {
        if (next.get(topic)?.includes(p)) continue;
        lost.push(key(topic, p));
        committed.delete(key(topic, p));
        held.delete(key(topic, p));
        gate.drop(topic, p);
        deps.observer?.released(topic, p);
      }
    }
    assignment = next;
    // kafkajs keeps a partition paused across rebalances: one held before it went away is not held now.
    for (const [topic, ps] of next) {
      const free = ps.filter((p) => !held.has(key(topic, p)));
      if (free.length > 0) safely('resume', () => consumer?.resume([{ topic, partitions: free }]));
    }
    deps.observer?.rebalanced();
    deps.observer?.paused(held.size);
    logger.info({ group: config.groupId, gained, lost, holding: [...next].flatMap(([t, ps]) => ps.map((p) => key(t, p))) }, 'Kafka consumer group rebalanced');
  };

  const connect = async () => {
    const c = kafka.consumer({
      groupId: config.groupId,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(config.sessionTimeoutMs / 3)),
      rebalanceTimeout: Math.max(config.sessionTimeoutMs, 10_000),
      maxWaitTimeInMs: 500,
      // Batches of a few thousand alarms (not kafkajs' 1 MiB per partition, some 14,000 of them): each is one
      // outbox transaction, and a smaller one lets delivery (which shares the write lock) go on meanwhile.
      maxBytesPerPartition: 256 * 1024,
      allowAutoTopicCreation: false,
    });
    consumer = c;
    c.on(c.events.GROUP_JOIN, (e) => {
      state = undefined;
      failures = 0;
      const next = new Map<string, number[]>();
      for (const [topic, ps] of Object.entries(e.payload.memberAssignment)) next.set(topic, [...ps].sort((a, b) => a - b));
      rebalanced(next);
    });
    c.on(c.events.CRASH, (e) => {
      const err = clean(coerceError(e.payload.error).message);
      state = `Kafka consumer crashed: ${err}`;
      logger.error({ err, restart: e.payload.restart }, 'Kafka consumer crashed');
      if (!e.payload.restart && !stopped) restart();
    });
    // Each client is kept only once connected (a failed connect is tried again at the next start), and
    // one that connects after a stop is disconnected at once.
    const connected = async <T extends { connect(): Promise<void>; disconnect(): Promise<void> }>(client: T): Promise<T | undefined> => {
      await client.connect();
      if (!stopped) return client;
      await client.disconnect().catch(() => {});
      return undefined;
    };
    if (needsProducer && !producer) producer = await connected(kafka.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner }));
    if (!admin && !stopped) admin = await connected(kafka.admin());
    if (stopped || !(await connected(c))) return;
    // A group without committed offsets starts at the earliest message: nothing produced before the
    // relay first joined is skipped (monasca's alarm_ttl drops old transitions).
    await c.subscribe({ topics: [...topics.keys(), ...(retryTopic ? [retryTopic] : [])], fromBeginning: true });
    if (stopped) return void (await c.disconnect().catch(() => {}));
    await c.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: Math.min(4, Math.max(1, config.topics.length * 3)), eachBatch });
    logger.info({ brokers: config.brokers, group: config.groupId, topics: [...topics.keys()] }, 'Kafka consumer started');
  };

  const restart = () => {
    if (stopped || restartTimer) return;
    const wait = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** Math.min(failures, 5)) * (0.8 + 0.4 * deps.random());
    failures++;
    restartTimer = scheduler.after(
      wait,
      () => {
        restartTimer = undefined;
        void begin();
      },
      { background: true },
    );
  };

  const begin = async () => {
    if (stopped) return;
    const old = consumer;
    consumer = undefined;
    if (old) await old.disconnect().catch(() => {});
    held.clear();
    deps.observer?.paused(0);
    running = connect().catch((e) => {
      const err = clean(coerceError(e).message);
      state = `cannot reach the Kafka brokers: ${err}`;
      logger.warn({ brokers: config.brokers, err }, 'Kafka consumer could not start; trying again');
      restart();
    });
    await running;
  };

  return {
    name: 'kafka',
    start() {
      timers.push(every(scheduler, HOLD_CHECK_MS, checkHeld, { background: true }));
      timers.push(every(scheduler, LAG_EVERY_MS, () => void refreshLag(), { background: true }));
      if (cluster) timers.push(every(scheduler, CLUSTER_EVERY_MS, () => void settle(), { background: true }));
      // Not awaited: the relay serves HTTP while the brokers are reached (or retried).
      void begin();
    },
    async stop() {
      stopped = true;
      restartTimer?.cancel();
      for (const t of timers) t.cancel();
      // A connection still being tried is not waited for long (its consumer is disconnected below).
      await Promise.race([running, new Promise<void>((r) => scheduler.after(5000, r, { background: true }))]);
      // Stop fetching, let the batches under way finish (and commit: kafkajs drops a commit once its
      // runner stops), commit what cluster mode has settled, then leave the group.
      draining = true;
      if (consumer) {
        safely('pause', () => consumer?.pause([...topics.keys(), ...(retryTopic ? [retryTopic] : [])].map((topic) => ({ topic }))));
        await Promise.all([...inFlight]);
        if (cluster) {
          await settling;
          await settle();
        }
      }
      await consumer?.disconnect().catch((e) => logger.warn({ err: clean(coerceError(e).message) }, 'Kafka consumer did not disconnect cleanly'));
      await producer?.disconnect().catch(() => {});
      await admin?.disconnect().catch(() => {});
      waiters.clear();
    },
    ready: () => state,
    async injectCanary(m, signal) {
      const partitions = assignment.get(m.topic) ?? [];
      if (partitions.length === 0) throw new Error(`this instance consumes no partition of ${m.topic} now (group ${config.groupId})`);
      if (!producer) throw new Error('no Kafka producer');
      const partition = partitions[Math.floor(deps.random() * partitions.length)]!;
      const wkey = `${m.canary}:${m.idempotencyKey}`;
      const accepted = new Promise<{ alarmId: string; notificationIds: readonly string[] }>((resolve, reject) => {
        waiters.set(wkey, resolve);
        signal.addEventListener('abort', () => reject(coerceError(signal.reason)), { once: true });
      });
      // Aborted while the produce is still under way: the rejection is the produce's caller's, not unhandled.
      accepted.catch(() => {});
      try {
        await producer.send({
          topic: m.topic,
          acks: -1,
          messages: [{ partition, key: m.key, value: m.body, headers: { [CANARY_HEADER]: m.canary, [CANARY_KEY_HEADER]: m.idempotencyKey } }],
        });
        return await accepted;
      } finally {
        waiters.delete(wkey);
      }
    },
  };
}
