/**
 * The Kafka consumer against a real broker (scripts/kafka), in-process (the app and its log method):
 * alarm and monasca topics, offsets committed after the outbox commit, unparseable messages copied to
 * the dead-letter topic, the alarm TTL and actionsEnabled counted, a batch consumed again enqueues
 * nothing twice, pause and resume under backpressure, and two members of one group rebalancing while
 * they deliver.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHarness, type Harness } from './app-harness.ts';
import { acceptedLabels, startWebhookSink } from './webhook-sink.ts';
import { needs } from '../support/peers.ts';
import { kafkaBootstrap, kafkaMissing } from '../support/kafka-broker.ts';
import { testKafka, type TestKafka } from '../support/kafka-client.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/monasca/${name}`, import.meta.url), 'utf8');
const ZEEBE_CREATED = readFileSync(new URL('../fixtures/zeebe/incident-alerter-readme-created-0.22.json', import.meta.url), 'utf8');

async function until(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The kafka section for `topics` (name: format) with group `group`. */
function kafkaYaml(group: string, topics: Record<string, string>, extra: string[] = []): string {
  return [
    'kafka:',
    `  brokers: [${kafkaBootstrap()}]`,
    `  group_id: ${group}`,
    '  session_timeout: 6s',
    '  topics:',
    ...Object.entries(topics).map(([name, format]) => `    - { name: ${name}, format: ${format} }`),
    ...extra.map((l) => `  ${l}`),
  ].join('\n');
}

const metric = (text: string, name: string, labels: string) => {
  const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
};

async function allCommitted(k: TestKafka, group: string, topic: string): Promise<boolean> {
  const [done, highs] = await Promise.all([k.committed(group, topic), k.highs(topic)]);
  return [...highs].every(([p, high]) => high === 0n || done.get(p) === high);
}

test('alarm and monasca topics → the outbox; offsets committed after; unparseable → dead-letter topic; TTL and actionsEnabled counted; consumed again → nothing twice', async (t) => {
  if (!needs(t, kafkaMissing())) return;
  const k = await testKafka(kafkaBootstrap()!);
  const dataDir = mkdtempSync(join(tmpdir(), 'tocsin-kafka-'));
  let h: Harness | undefined;
  try {
    const alarms = k.unique('alarms');
    const monasca = k.unique('monasca');
    const dlt = k.unique('dead');
    const zeebe = k.unique('zeebe');
    const group = k.unique('group');
    await k.createTopic(alarms, 3);
    await k.createTopic(monasca, 1);
    await k.createTopic(dlt, 1);
    await k.createTopic(zeebe, 1);
    // A Zeebe INCIDENT CREATED record (an alarm) and a JOB record (not an incident: dropped).
    await k.produce(zeebe, [ZEEBE_CREATED, ZEEBE_CREATED.replace('"valueType": "INCIDENT"', '"valueType": "JOB"')]);
    const values = Array.from({ length: 30 }, (_, i) => ({ name: 'DiskFull', labels: { host: `h${i}` } }));
    await k.produce(alarms, values, { partitions: 3 });
    await k.produce(alarms, ['{"name": "broken"', '{"name": 5}']);
    const fresh = JSON.parse(fixture('webhook-test-alarm.json'));
    fresh['alarm-transitioned'].timestamp = Date.now();
    const off = structuredClone(fresh);
    off['alarm-transitioned'].alarmId = 'off';
    off['alarm-transitioned'].actionsEnabled = false;
    await k.produce(monasca, [fresh, fixture('alarm-example.json'), off]);

    const yaml = `data_dir: ${JSON.stringify(dataDir)}\n${kafkaYaml(group, { [alarms]: 'alarm', [monasca]: 'monasca', [zeebe]: 'zeebe' }, [`dead_letter_topic: ${dlt}`])}`;
    h = await createHarness({ yaml, start: true });
    const harness = h;
    await until(() => harness.lines.length >= 32, 30_000, '32 notifications');
    await until(() => allCommitted(k, group, alarms), 10_000, 'offsets committed');
    await until(() => allCommitted(k, group, monasca), 10_000, 'monasca offsets committed');
    await until(() => allCommitted(k, group, zeebe), 10_000, 'zeebe offsets committed');
    assert.equal(h.count('alarms'), 33, '30 alarms, the fresh monasca transition, the one with actions disabled (recorded), the Zeebe incident');
    assert.equal(h.count('notifications') + h.count('deliveries'), 32);
    const incident = harness.lines.map((l) => JSON.parse(l) as { alarm: { source: string; details?: { key?: unknown } } }).find((l) => l.alarm.source === 'zeebe');
    assert.equal(incident?.alarm.details?.key, '2251799813685263', 'the 64-bit key kept exactly');

    const dead = await k.readAll(dlt, 2);
    assert.deepEqual(dead.map((d) => d.value).sort(), ['{"name": "broken"', '{"name": 5}']);
    const broken = dead.find((d) => d.value === '{"name": "broken"')!;
    assert.equal(broken.headers['tocsin-topic'], alarms);
    assert.match(broken.headers['tocsin-error']!, /^body: invalid JSON/);
    assert.match(dead.find((d) => d.value === '{"name": 5}')!.headers['tocsin-error']!, /^name: /);

    const metrics = (await h.get('/metrics')).text;
    assert.equal(metric(metrics, 'tocsin_kafka_messages_total', `{topic="${alarms}",outcome="accepted"}`), 30);
    assert.equal(metric(metrics, 'tocsin_kafka_messages_total', `{topic="${alarms}",outcome="unparseable"}`), 2);
    assert.equal(metric(metrics, 'tocsin_kafka_messages_total', `{topic="${monasca}",outcome="accepted"}`), 1);
    assert.equal(metric(metrics, 'tocsin_kafka_messages_total', `{topic="${monasca}",outcome="skipped_ttl"}`), 1);
    assert.equal(metric(metrics, 'tocsin_kafka_messages_total', `{topic="${monasca}",outcome="skipped_actions_disabled"}`), 1);
    assert.equal(metric(metrics, 'tocsin_kafka_consumer_lag', `{topic="${monasca}",partition="0"}`), 0);
    assert.equal(metric(metrics, 'tocsin_kafka_messages_total', `{topic="${zeebe}",outcome="accepted"}`), 1);
    assert.equal(metric(metrics, 'tocsin_kafka_messages_total', `{topic="${zeebe}",outcome="dropped"}`), 1);
    const ready = (await h.get('/readyz')).json;
    assert.equal(ready.checks.kafka, 'ok', JSON.stringify(ready));

    // Stop (the consumer leaves the group), move the group back to the start, and consume it all again.
    await h.cleanup();
    const admin = k.kafka.admin();
    await admin.connect();
    try {
      await admin.resetOffsets({ groupId: group, topic: alarms, earliest: true });
      await admin.resetOffsets({ groupId: group, topic: monasca, earliest: true });
    } finally {
      await admin.disconnect();
    }
    h = await createHarness({ yaml, start: true });
    const again = h;
    await until(() => allCommitted(k, group, alarms), 30_000, 'offsets committed again');
    await until(async () => metric((await again.get('/metrics')).text, 'tocsin_kafka_messages_total', `{topic="${alarms}",outcome="accepted"}`) === 30, 10_000, 'the batch counted');
    assert.equal(h.count('alarms'), 33, 'a batch consumed again enqueues nothing twice');
    assert.equal(h.count('notifications') + h.count('deliveries'), 32, 'no notification twice');
    assert.equal(metric((await h.get('/metrics')).text, 'tocsin_alarms_duplicate_total', '{source="generic"}'), 30);
  } finally {
    await h?.cleanup();
    await k.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('backpressure: over ingest.max_pending the partition pauses (nothing committed past the outbox), and resumes below 90 % once delivered', async (t) => {
  if (!needs(t, kafkaMissing())) return;
  const k = await testKafka(kafkaBootstrap()!);
  const sink = await startWebhookSink({ behavior: () => 503 });
  let h: Harness | undefined;
  try {
    const topic = k.unique('pressure');
    const group = k.unique('group');
    await k.createTopic(topic, 1);
    await k.produce(topic, Array.from({ length: 20 }, (_, i) => ({ name: 'First', labels: { i: String(i) } })));
    const yaml = [
      'methods: { sink: { type: webhook, url: ' + JSON.stringify(sink.url) + ', backoff_base: 50ms, backoff_cap: 200ms } }',
      'routes: [{ methods: [sink] }]',
      'delivery: { poll_interval: 100ms }',
      'ingest: { max_pending: 10 }',
      kafkaYaml(group, { [topic]: 'alarm' }),
    ].join('\n');
    h = await createHarness({ yaml, start: true });
    const harness = h;
    await until(() => harness.count('alarms') === 20, 30_000, 'the first 20 alarms in the outbox');
    await until(() => allCommitted(k, group, topic), 10_000, 'the first batch committed');
    // 20 undelivered ≥ max_pending 10: the next messages wait in Kafka.
    await k.produce(topic, Array.from({ length: 5 }, (_, i) => ({ name: 'Second', labels: { i: String(i) } })));
    await until(async () => metric((await harness.get('/metrics')).text, 'tocsin_kafka_paused_partitions', '') === 1, 10_000, 'the partition paused');
    assert.equal(h.count('alarms'), 20);
    assert.equal((await k.committed(group, topic)).get(0), 20n, 'nothing committed past what the outbox holds');

    sink.setBehavior(() => 200);
    await until(() => harness.count('alarms') === 25, 30_000, 'the 5 held alarms taken once the outbox drained');
    await until(() => sink.counts().uniqueAlarms === 25, 30_000, 'all 25 delivered');
    await until(() => allCommitted(k, group, topic), 10_000, 'all committed');
    assert.equal(metric((await h.get('/metrics')).text, 'tocsin_kafka_paused_partitions', ''), 0);
    assert.ok(h.logger.records.some((e) => e.msg === 'Kafka partition resumed'), 'the resume is logged');
  } finally {
    await h?.cleanup();
    await sink.close();
    await k.close();
  }
});

test('two members of one group: a rebalance while delivering loses nothing; gained and lost partitions are logged', async (t) => {
  if (!needs(t, kafkaMissing())) return;
  const k = await testKafka(kafkaBootstrap()!);
  const sink = await startWebhookSink();
  const members: Harness[] = [];
  try {
    const topic = k.unique('rebalance');
    const group = k.unique('group');
    await k.createTopic(topic, 6);
    const yaml = [
      'methods: { sink: { type: webhook, url: ' + JSON.stringify(sink.url) + ' } }',
      'routes: [{ methods: [sink] }]',
      'delivery: { poll_interval: 100ms }',
      kafkaYaml(group, { [topic]: 'alarm' }),
    ].join('\n');
    members.push(await createHarness({ yaml, start: true }));
    await k.produce(topic, Array.from({ length: 1000 }, (_, i) => ({ name: 'Rebalance', labels: { i: String(i) } })), { partitions: 6 });
    await until(() => members[0]!.count('alarms') > 0, 30_000, 'the first member consuming');
    members.push(await createHarness({ yaml, start: true }));
    const joined = (m: Harness) => m.logger.records.some((e) => e.msg === 'Kafka consumer group rebalanced' && Array.isArray(e.fields.holding) && e.fields.holding.length > 0 && e.fields.holding.length < 6);
    await until(() => members.every(joined), 30_000, 'both members holding partitions');
    await k.produce(topic, Array.from({ length: 1000 }, (_, i) => ({ name: 'Rebalance', labels: { i: String(1000 + i) } })), { partitions: 6 });
    const labels = acceptedLabels(sink, 'i');
    await until(() => labels().size === 2000, 60_000, 'all 2000 alarms delivered');
    await until(() => allCommitted(k, group, topic), 20_000, 'all committed');
    const rebalances = members.flatMap((m) => m.logger.records.filter((e) => e.msg === 'Kafka consumer group rebalanced').map((e) => e.fields));
    assert.ok(rebalances.some((e) => Array.isArray(e.lost) && e.lost.length > 0), 'the first member logged the partitions it lost');
    const second = members[1]!.logger.records.filter((e) => e.msg === 'Kafka consumer group rebalanced').at(-1)?.fields;
    assert.ok(Array.isArray(second?.gained) && second.gained.length > 0, 'the second member logged the partitions it gained');
    assert.ok(members.every((m) => m.count('alarms') > 0), 'both members took a share');
  } finally {
    for (const m of members) await m.cleanup();
    await sink.close();
    await k.close();
  }
});
