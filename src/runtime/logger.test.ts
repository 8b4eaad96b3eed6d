import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLogger, logFormat, prettySink, type LogSink } from './logger.ts';
import { Secret } from '../lib/secret.ts';

/** A sink that keeps every line, with a flush that says so. */
function memory(): LogSink & { lines: string[]; flushed: number } {
  const sink = {
    lines: [] as string[],
    flushed: 0,
    write(line: string) {
      sink.lines.push(line);
    },
    flush(cb?: () => void) {
      sink.flushed++;
      cb?.();
    },
  };
  return sink;
}

test('logFormat: TOCSIN_LOG_FORMAT decides; otherwise pretty on a terminal, JSON elsewhere', () => {
  assert.deepEqual(logFormat({}, true), { format: 'pretty' });
  assert.deepEqual(logFormat({}, false), { format: 'json' });
  assert.deepEqual(logFormat({ TOCSIN_LOG_FORMAT: 'json' }, true), { format: 'json' });
  assert.deepEqual(logFormat({ TOCSIN_LOG_FORMAT: 'PRETTY' }, false), { format: 'pretty' });
  assert.deepEqual(logFormat({ TOCSIN_LOG_FORMAT: '' }, true), { format: 'pretty' });
  assert.deepEqual(logFormat({ TOCSIN_LOG_FORMAT: 'yaml' }, true), { format: 'json', problem: 'TOCSIN_LOG_FORMAT must be json or pretty, not "yaml"; logging JSON' });
});

test('JSON lines with the scoped fields, an ISO time and no pid or hostname', () => {
  const sink = memory();
  const logger = buildLogger('info', sink, { isTty: false });
  logger.warn({ alarm_id: 'alm_1', notification_id: 'ntf_1', method: 'ops', attempt: 2, error: 'HTTP 503' }, 'delivery attempt failed; will retry');
  logger.debug({ x: 1 }, 'below the level');
  assert.equal(sink.lines.length, 1);
  const line = JSON.parse(sink.lines[0]!);
  assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual({ ...line, time: undefined }, {
    time: undefined, level: 40, alarm_id: 'alm_1', notification_id: 'ntf_1', method: 'ops', attempt: 2, error: 'HTTP 503', msg: 'delivery attempt failed; will retry',
  });
});

test('secrets never reach the log: fields that name one, and Secret values', () => {
  const sink = memory();
  const logger = buildLogger('info', sink, { isTty: false });
  logger.info({ token: 'tok-abc-123', url: 'https://hooks.example/T000/B000/XXXX', headers: { authorization: 'Bearer tok-abc-123' }, method: { name: 'ops', password: 'pw-456789' } }, 'fields');
  logger.info({ key: new Secret('sealed-value-9') }, 'a Secret');
  const text = sink.lines.join('');
  for (const s of ['tok-abc-123', 'hooks.example', 'pw-456789', 'sealed-value-9']) assert.ok(!text.includes(s), `${s} leaked: ${text}`);
  const [fields, secret] = sink.lines.map((l) => JSON.parse(l));
  assert.equal(fields.token, '<secret>');
  assert.equal(fields.url, '<secret>');
  assert.equal(fields.headers.authorization, '<secret>');
  assert.equal(fields.method.password, '<secret>');
  assert.equal(fields.method.name, 'ops', 'other fields stay');
  assert.equal(secret.key, '<secret>');
});

/** Resolves once the logger's lines so far are written. */
const flushed = (logger: { flush(cb: () => void): void }) => new Promise<void>((r) => logger.flush(r));

test('pretty: human-readable lines (level, message, fields), written synchronously to the same sink', async () => {
  const sink = memory();
  const logger = buildLogger('info', sink, { env: { TOCSIN_LOG_FORMAT: 'pretty' }, isTty: false });
  logger.info({}, 'logged while pino-pretty loads');
  await flushed(logger);
  assert.equal(sink.lines.length, 1, 'kept, then written once loaded');
  assert.match(sink.lines[0]!, /logged while pino-pretty loads/);
  logger.error({ notification_id: 'ntf_9', method: 'ops', token: 'tok-xyz-987' }, 'notification dead-lettered');
  assert.equal(sink.lines.length, 2, 'once loaded, written before the call returns');
  const out = sink.lines[1]!;
  assert.throws(() => JSON.parse(out), 'not JSON');
  assert.match(out, /ERROR/);
  assert.match(out, /notification dead-lettered/);
  assert.match(out, /notification_id: "ntf_9"/);
  assert.ok(!out.includes('tok-xyz-987'));
  assert.ok(!out.includes('\u001b['), 'no colors when not a terminal');
  // Flushing goes through to the sink.
  const before = sink.flushed;
  await flushed(logger);
  assert.equal(sink.flushed, before + 1);
});

test('pretty on a terminal (colored) unless TOCSIN_LOG_FORMAT=json', async () => {
  const tty = memory();
  const logger = buildLogger('info', tty, { isTty: true });
  logger.info({}, 'hello');
  await flushed(logger);
  assert.ok(tty.lines[0]!.includes('\u001b['), 'colored on a terminal');
  const json = memory();
  buildLogger('info', json, { isTty: true, env: { TOCSIN_LOG_FORMAT: 'json' } }).info({}, 'hello');
  assert.equal(JSON.parse(json.lines[0]!).msg, 'hello');
});

test('an unknown TOCSIN_LOG_FORMAT: JSON, and the logger says so', () => {
  const sink = memory();
  buildLogger('info', sink, { env: { TOCSIN_LOG_FORMAT: 'xml' }, isTty: true });
  const line = JSON.parse(sink.lines[0]!);
  assert.equal(line.level, 40);
  assert.equal(line.msg, 'TOCSIN_LOG_FORMAT must be json or pretty, not "xml"; logging JSON');
});

test('prettySink: to a sink without flush; JSON as is should pino-pretty not load', async () => {
  const lines: string[] = [];
  const json = JSON.stringify({ level: 30, time: '2026-01-01T00:00:00.000Z', msg: 'hi' }) + '\n';
  const sink = prettySink({ write: (l) => void lines.push(l) }, false);
  sink.write(json);
  await new Promise<void>((r) => sink.flush!(r));
  assert.match(lines[0]!, /INFO.*hi/);
  const raw: string[] = [];
  const fallback = prettySink({ write: (l) => void raw.push(l) }, false, () => Promise.reject(new Error('not bundled')));
  fallback.write(json);
  await new Promise<void>((r) => fallback.flush!(r));
  fallback.write(json);
  assert.deepEqual(raw, [json, json]);
});
