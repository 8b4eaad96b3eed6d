import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readiness } from './readiness.ts';
import { startAll, stopAll, type Service } from './service.ts';

function recorder() {
  const events: string[] = [];
  const errors: string[] = [];
  const svc = (name: string, opts: { failStart?: boolean; failStop?: boolean } = {}): Service => ({
    name,
    async start() {
      events.push(`start ${name}`);
      if (opts.failStart) throw new Error(`${name} cannot start`);
    },
    stop() {
      events.push(`stop ${name}`);
      if (opts.failStop) throw new Error(`${name} stuck`);
    },
  });
  const log = { error: (f: Record<string, unknown>) => errors.push(`${f.service}: ${f.err}`) };
  return { events, errors, svc, log };
}

test('services start in order and stop in reverse order', async () => {
  const r = recorder();
  const services = [r.svc('housekeeping'), r.svc('dispatcher'), r.svc('ingest')];
  await startAll(services, r.log);
  await stopAll(services, r.log);
  assert.deepEqual(r.events, ['start housekeeping', 'start dispatcher', 'start ingest', 'stop ingest', 'stop dispatcher', 'stop housekeeping']);
});

test('a service that fails to start stops those already started, and the error propagates', async () => {
  const r = recorder();
  await assert.rejects(startAll([r.svc('a'), r.svc('b', { failStart: true }), r.svc('c')], r.log), /b cannot start/);
  assert.deepEqual(r.events, ['start a', 'start b', 'stop a']);
});

test('a failing stop is logged and the others still stop', async () => {
  const r = recorder();
  await stopAll([r.svc('a'), r.svc('b', { failStop: true }), r.svc('c')], r.log);
  assert.deepEqual(r.events, ['stop c', 'stop b', 'stop a']);
  assert.deepEqual(r.errors, ['b: b stuck']);
});

test('readiness: every check reported; the first failure is the error; a throwing check counts as failing', () => {
  const ready = new Readiness();
  let db: string | undefined;
  ready.add('database', () => db);
  ready.add('consumer', () => undefined);
  assert.deepEqual(ready.check(), { ready: true, checks: { database: 'ok', consumer: 'ok' } });
  db = 'database locked';
  ready.add('canary', () => {
    throw new Error('no ping for 5m');
  });
  assert.deepEqual(ready.check(), {
    ready: false,
    checks: { database: 'database locked', consumer: 'ok', canary: 'no ping for 5m' },
    error: 'database: database locked',
  });
  assert.throws(() => ready.add('database', () => undefined), /registered twice/);
});
