import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStatsd, sentCounterName, STATSD_ERROR_LOG_MS, type StatsdClient } from './statsd.ts';
import type { Logger } from '../lib/logger.ts';
import { silentLogger } from '../lib/logger.ts';
import { startStatsdListener } from '../../test/support/statsd-listener.ts';

const CONFIG = { host: '127.0.0.1', port: 0, prefix: 'monasca.notification.', tags: {} };

test('sentCounterName: monasca-notification\'s names (email is smtp), any other type by its name', () => {
  assert.deepEqual(
    ['webhook', 'email', 'pagerduty', 'slack', 'log'].map(sentCounterName),
    ['sent_webhook_count', 'sent_smtp_count', 'sent_pagerduty_count', 'sent_slack_count', 'sent_log_count'],
  );
});

test('every metric, with its exact name and type, over UDP to a StatsD server', async () => {
  const server = await startStatsdListener();
  try {
    const statsd = createStatsd({ ...CONFIG, port: server.port }, { logger: silentLogger });
    statsd.alarmsFinished(3);
    statsd.alarmsFailedParse(1);
    statsd.alarmsNoNotification(2);
    statsd.created(5);
    statsd.sent('webhook');
    statsd.sent('email');
    statsd.sent('pagerduty');
    statsd.sent('slack');
    statsd.sentFailed('webhook');
    statsd.invalidType(4);
    statsd.deliveryTime('webhook', 12.4);
    statsd.deliveryTime('email', 250);
    statsd.configDbTime(3);
    statsd.created(0); // nothing to count: nothing sent
    await statsd.close(); // sends what is buffered
    const expected = [
      'monasca.notification.alarms_finished_count:3|c',
      'monasca.notification.alarms_failed_parse_count:1|c',
      'monasca.notification.alarms_no_notification_count:2|c',
      'monasca.notification.created_count:5|c',
      'monasca.notification.sent_webhook_count:1|c',
      'monasca.notification.sent_smtp_count:1|c',
      'monasca.notification.sent_pagerduty_count:1|c',
      'monasca.notification.sent_slack_count:1|c',
      'monasca.notification.sent_failed_count:1|c',
      'monasca.notification.invalid_type_count:4|c',
      'monasca.notification.webhook_time:12|ms',
      'monasca.notification.email_time:250|ms',
      'monasca.notification.config_db_time:3|ms',
    ];
    await server.until((l) => l.length >= expected.length);
    assert.deepEqual(server.lines, expected);
  } finally {
    await server.close();
  }
});

test('the prefix as configured, and tags on every metric', async () => {
  const server = await startStatsdListener();
  try {
    const statsd = createStatsd({ host: '127.0.0.1', port: server.port, prefix: 'tocsin.', tags: { service: 'monitoring', region: 'eu-1' } }, { logger: silentLogger });
    statsd.alarmsFinished(1);
    await statsd.close();
    await server.until((l) => l.length >= 1);
    assert.deepEqual(server.lines, ['tocsin.alarms_finished_count:1|c|#service:monitoring,region:eu-1']);
  } finally {
    await server.close();
  }
});

test('a client that fails never throws into the caller; errors are logged at most once a minute', () => {
  const warnings: Record<string, unknown>[] = [];
  const logger: Logger = { ...silentLogger, warn: (fields) => void warnings.push(fields) };
  let t = 0;
  const failing: StatsdClient = {
    increment: () => {
      throw new Error('send EHOSTUNREACH 10.0.0.1:8125');
    },
    timing: () => {},
    close: (cb) => cb(),
  };
  const statsd = createStatsd({ ...CONFIG, port: 8125 }, { logger, now: () => t, client: () => failing });
  for (let i = 0; i < 5; i++) statsd.alarmsFinished(1);
  assert.deepEqual(warnings, [{ host: '127.0.0.1', port: 8125, err: 'send EHOSTUNREACH 10.0.0.1:8125' }]);
  t += STATSD_ERROR_LOG_MS;
  statsd.created(1);
  assert.deepEqual(warnings[1], { host: '127.0.0.1', port: 8125, err: 'send EHOSTUNREACH 10.0.0.1:8125', errors_since_last_log: 4 });
  assert.equal(warnings.length, 2);
});

test('socket errors reported by the client go through the same paced log', async () => {
  const warnings: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (fields) => void warnings.push(String(fields.err)) };
  let report: ((e: Error) => void) | undefined;
  const statsd = createStatsd({ ...CONFIG, port: 8125 }, {
    logger,
    now: () => 0,
    client: (o) => {
      report = o.errorHandler;
      return { increment: () => {}, timing: () => {}, close: (cb) => cb(new Error('close failed')) };
    },
  });
  report!(new Error('getaddrinfo ENOTFOUND stats.invalid'));
  report!(new Error('again'));
  await statsd.close();
  await statsd.close(); // once
  assert.deepEqual(warnings, ['getaddrinfo ENOTFOUND stats.invalid']);
});
