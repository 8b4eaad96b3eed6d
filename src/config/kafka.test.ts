import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { parseConfig } from './index.ts';
import { configIssues, fileReader } from '../../test/support/config-issues.ts';

const files: Record<string, string> = { '/etc/tocsin/kafka.pass': 's3cret-pass\n', '/etc/tocsin/ca.pem': 'CA PEM', '/etc/tocsin/cert.pem': 'CERT PEM', '/etc/tocsin/key.pem': 'KEY PEM' };
const readFile = fileReader(files);
const issues = (yaml: string): string[] => configIssues(yaml, readFile);

test('kafka: the documented example parses to the typed section; defaults fill the rest; absent → no kafka', () => {
  const c = parseConfig(
    [
      'kafka:',
      '  brokers: [127.0.0.1:9092, "kafka-2.example:9093"]',
      '  tls: { ca_file: /etc/tocsin/ca.pem, cert_file: /etc/tocsin/cert.pem, key_file: /etc/tocsin/key.pem }',
      '  sasl: { mechanism: scram-sha-512, username: tocsin, password_file: /etc/tocsin/kafka.pass }',
      '  topics:',
      '    - { name: alarm-state-transitions, format: monasca }',
      '    - { name: tocsin-alarms, format: alarm }',
      '    - { name: zeebe-incidents, format: zeebe, source: camunda }',
      '  dead_letter_topic: tocsin-unparseable',
    ].join('\n'),
    {},
    readFile,
  );
  const k = c.kafka!;
  assert.deepEqual(
    { ...k, tls: { ...k.tls, key: k.tls?.key?.reveal() }, sasl: { ...k.sasl, password: k.sasl?.password.reveal() } },
    {
      brokers: ['127.0.0.1:9092', 'kafka-2.example:9093'],
      clientId: 'tocsin',
      groupId: 'tocsin',
      tls: { verify: true, ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' },
      sasl: { mechanism: 'scram-sha-512', username: 'tocsin', password: 's3cret-pass' },
      topics: [
        { name: 'alarm-state-transitions', format: 'monasca', source: 'monasca' },
        { name: 'tocsin-alarms', format: 'generic', source: 'generic' },
        { name: 'zeebe-incidents', format: 'zeebe', source: 'camunda' },
      ],
      deadLetterTopic: 'tocsin-unparseable',
      durability: 'local',
      sessionTimeoutMs: 6000,
    },
  );
  for (const text of [JSON.stringify(c.kafka), inspect(c.kafka, { depth: 10 })]) assert.ok(!text.includes('s3cret') && !text.includes('KEY PEM'), text);
  assert.equal(parseConfig('log_level: info', {}, readFile).kafka, undefined);
});

test('kafka: each error names the field and the fix', () => {
  const base = 'kafka:\n  brokers: [127.0.0.1:9092]\n  topics: [{ name: t1, format: alarm }]\n';
  assert.deepEqual(issues('kafka: {}'), ['kafka.brokers: required: a list of host:port, like [127.0.0.1:9092]', 'kafka.topics: required: a list of { name, format }']);
  const cases: [string, string][] = [
    ['kafka:\n  brokers: []\n  topics: [{ name: t, format: alarm }]', 'kafka.brokers: must list at least one broker'],
    ['kafka:\n  brokers: [localhost]\n  topics: [{ name: t, format: alarm }]', 'kafka.brokers[0]: must be host:port, like 127.0.0.1:9092'],
    ['kafka:\n  brokers: [a:1]\n  topics: []', 'kafka.topics: must list at least one topic'],
    ['kafka:\n  brokers: [a:1]\n  topics: [{ name: "a b", format: alarm }]', 'kafka.topics[0].name: must be a Kafka topic name: 1 to 249 of letters, digits, ".", "_" and "-"'],
    ['kafka:\n  brokers: [a:1]\n  topics: [{ name: t, format: json }]', 'kafka.topics[0].format: must be one of: monasca, alarm, zeebe'],
    ['kafka:\n  brokers: [a:1]\n  topics: [{ name: t, format: alarm }, { name: t, format: monasca }]', 'kafka.topics[1].name: topic "t" is listed twice'],
    [`${base}  dead_letter_topic: t1`, 'kafka.dead_letter_topic: must not be one of the topics consumed (an unparseable message would come back forever)'],
    [`${base}  durability: cluster`, 'kafka.retry_topic: required with durability: cluster (failed notifications wait there)'],
    [`${base}  durability: cluster\n  retry_topic: t1`, 'kafka.retry_topic: must be a topic of its own (not consumed as alarms, not the dead-letter topic)'],
    [`${base}  retry_topic: r`, 'kafka.retry_topic: is used with durability: cluster only; remove it or set durability: cluster'],
    [`${base}  durability: eventual`, 'kafka.durability: must be one of: local, cluster'],
    [`${base}  sasl: { mechanism: scram-sha-512, username: u }`, 'kafka.sasl: set exactly one of password or password_file'],
    [`${base}  sasl: { mechanism: gssapi, username: u, password: p }`, 'kafka.sasl.mechanism: must be one of: plain, scram-sha-256, scram-sha-512'],
    [`${base}  tls: { cert_file: /etc/tocsin/cert.pem }`, 'kafka.tls: set cert_file and key_file together (a client certificate needs its key)'],
    [`${base}  tls: { ca_file: /nope.pem }`, 'kafka.tls.ca_file: cannot read /nope.pem: ENOENT: no such file or directory'],
    [`${base}  session_timeout: 10ms`, "kafka.session_timeout: must be at least 6s (the brokers' group.min.session.timeout.ms default)"],
    [`${base}  bogus: 1`, 'kafka.bogus: unknown field'],
    ['methods: { ops: { type: webhook, url: "https://x.example/h" } }\ncanaries: { path: { methods: [ops], ping_url: "https://hc.example/x", via: kafka } }', 'canaries.path.via: via: kafka needs the kafka section (brokers and topics)'],
    [`kafka:\n  brokers: [a:1]\n  topics: [{ name: m, format: monasca }]\ncanaries: { path: { methods: [log], ping_url: "https://hc.example/x", via: kafka } }`, 'canaries.path.via: via: kafka needs a topic of format alarm under kafka.topics to produce the canary alarm to'],
    [`${base}canaries: { path: { methods: [log], ping_url: "https://hc.example/x", via: kafka, topic: other } }`, 'canaries.path.topic: must be a topic of kafka.topics with format alarm (t1)'],
    [`${base}canaries: { path: { methods: [log], ping_url: "https://hc.example/x", topic: t1 } }`, 'canaries.path.topic: is used with via: kafka only'],
  ];
  for (const [yaml, issue] of cases) assert.deepEqual(issues(yaml), [issue], yaml);
});

test('kafka: a canary via kafka goes to the first topic of format alarm unless it names one', () => {
  const yaml = 'kafka:\n  brokers: [a:1]\n  topics: [{ name: m, format: monasca }, { name: t1, format: alarm }, { name: t2, format: alarm }]\n';
  const c = parseConfig(`${yaml}canaries: { a: { methods: [log], ping_url: "https://hc.example/x", via: kafka }, b: { methods: [log], ping_url: "https://hc.example/y", via: kafka, topic: t2 } }`, {}, readFile);
  assert.deepEqual(c.canaries.map((x) => [x.name, x.via, x.topic]), [['a', 'kafka', 't1'], ['b', 'kafka', 't2']]);
});
