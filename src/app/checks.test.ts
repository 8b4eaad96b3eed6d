/**
 * The heartbeat checks service (app/checks) on a real database with an injected clock: alarms and states
 * commit together through an acceptor stand-in that runs `alsoInTransaction` in the same transaction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPragmas } from '../outbox/db.ts';
import { migrate } from '../outbox/migrate.ts';
import { OutboxStore } from '../outbox/store.ts';
import { openNodeSqlite } from '../runtime/sqlite-node.ts';
import { createGroupCommitter } from '../outbox/group-commit.ts';
import { silentLogger } from '../lib/logger.ts';
import type { AlarmInput } from '../domain/alarm.ts';
import type { Acceptor } from '../ingest/accept.ts';
import type { CheckConfig, PingsConfig } from '../config/types.ts';
import { Secret } from '../lib/secret.ts';
import { FakeClock } from '../../test/support/fake-clock.ts';
import { checkService, type CheckService } from './checks.ts';

const S = 1000;
const UUID = '9c4d4b0e-5c1a-4f7e-8a63-2b0c5e1d7f10';
const PINGS: PingsConfig = { bodyLimitBytes: 100, afterDowntime: 'restart_grace', rateLimit: { perSecond: 5, burst: 5 }, pingKey: new Secret('the-ping-key') };
const FILE: CheckConfig[] = [
  { name: 'backup', uuid: UUID, schedule: { kind: 'period', periodMs: 60 * S }, graceMs: 10 * S, labels: { team: 'storage', severity: 'critical' } },
  { name: 'gen', schedule: { kind: 'period', periodMs: 60 * S }, graceMs: 10 * S, labels: {} },
];

function relay(file: string, clock: FakeClock, opts: { checks?: CheckConfig[]; pings?: Partial<PingsConfig>; failAccept?: () => boolean } = {}) {
  const o = openNodeSqlite(file);
  applyPragmas(o.db, 'NORMAL');
  migrate(o.db, 0);
  const store = new OutboxStore(o);
  const committer = createGroupCommitter({ transaction: (fn) => store.enqueue.transaction(fn), schedule: (fn) => queueMicrotask(fn) });
  const alarms: AlarmInput[] = [];
  const accept: Acceptor = async (req) => {
    const r = await committer.submit(() => {
      req.alsoInTransaction?.();
      if (opts.failAccept?.()) throw new Error('disk on fire');
      return req.items.map((i) => i.alarm);
    });
    alarms.push(...r);
    return { status: 202, alarmIds: [], notificationIds: [], duplicates: 0, unrouted: [] };
  };
  let n = 0;
  const service: CheckService = checkService({
    checks: opts.checks ?? FILE, pings: { ...PINGS, ...opts.pings }, store: store.checks, committer, accept, clock, scheduler: clock,
    logger: silentLogger, randomBytes: (k) => Uint8Array.from({ length: k }, () => (n++ * 37) & 0xff),
  });
  return { o, store, service, alarms, close: async () => { await service.stop(); o.close(); } };
}

const dir = () => join(mkdtempSync(join(tmpdir(), 'tocsin-checks-')), 'db.sqlite');
const summary = (a: AlarmInput[]) => a.map((x) => `${x.status} ${x.name} ${x.dedupKey}`);

test('a check goes down after period + grace and fires once; a success resolves it; the alarm carries labels and severity', async () => {
  const clock = new FakeClock();
  const r = relay(dir(), clock);
  await r.service.start();
  assert.deepEqual(await r.service.ping({ uuid: UUID.toUpperCase() }, { kind: 'success' }), { outcome: 'ok' });
  clock.advance(69 * S);
  await r.service.tick();
  assert.equal(r.alarms.length, 0);
  clock.advance(1 * S);
  await r.service.tick();
  clock.advance(5 * S);
  await r.service.tick();
  assert.deepEqual(summary(r.alarms), ['firing HeartbeatMissing backup']);
  const fired = r.alarms[0]!;
  assert.equal(fired.source, 'checks');
  assert.equal(fired.severity, 'critical');
  assert.deepEqual(fired.labels, { team: 'storage', severity: 'critical', check: 'backup' });
  assert.match(fired.summary!, /did not ping in time/);
  assert.equal(r.service.get('backup')?.status, 'down');
  assert.equal(r.service.get('backup')?.down_reason, 'missing');
  await r.service.ping({ pingKey: 'the-ping-key', slug: 'backup' }, { kind: 'success' });
  assert.deepEqual(summary(r.alarms), ['firing HeartbeatMissing backup', 'resolved HeartbeatMissing backup']);
  assert.equal(r.service.get('backup')?.status, 'up');
  await r.close();
});

test('/fail fires HeartbeatFailed with the body; exit status 1 too; a start without an end fires after grace', async () => {
  const clock = new FakeClock();
  const r = relay(dir(), clock);
  await r.service.start();
  await r.service.ping({ uuid: UUID }, { kind: 'fail', body: 'disk full' });
  assert.deepEqual(summary(r.alarms), ['firing HeartbeatFailed backup']);
  assert.equal(r.alarms[0]!.description, 'disk full');
  await r.service.ping({ uuid: UUID }, { kind: 'success', exitStatus: 0 });
  await r.service.ping({ pingKey: 'the-ping-key', slug: 'gen' }, { kind: 'fail', exitStatus: 1 });
  assert.deepEqual(summary(r.alarms).slice(1), ['resolved HeartbeatFailed backup', 'firing HeartbeatFailed gen']);
  assert.match(r.alarms[2]!.summary!, /exit status 1/);
  assert.equal(r.alarms[2]!.severity, 'error');
  clock.advance(S);
  await r.service.ping({ uuid: UUID }, { kind: 'start', rid: '0b5f3e1a-8d2b-4c7e-9a10-2b3c4d5e6f70' });
  clock.advance(10 * S);
  await r.service.tick();
  assert.deepEqual(summary(r.alarms).slice(3), ['firing HeartbeatMissing backup']);
  assert.match(r.alarms[3]!.summary!, /started at .* but did not finish/);
  await r.close();
});

test('wrong ping key, unknown slug or UUID: not found; faster than the rate limit: rate_limited with a Retry-After', async () => {
  const clock = new FakeClock();
  const r = relay(dir(), clock, { pings: { rateLimit: { perSecond: 1, burst: 2 } } });
  await r.service.start();
  assert.deepEqual(await r.service.ping({ pingKey: 'the-ping-kez', slug: 'backup' }, { kind: 'success' }), { outcome: 'not_found' });
  assert.deepEqual(await r.service.ping({ pingKey: 'the-ping-key', slug: 'nope' }, { kind: 'success' }), { outcome: 'not_found' });
  assert.deepEqual(await r.service.ping({ uuid: '00000000-0000-4000-8000-000000000000' }, { kind: 'success' }), { outcome: 'not_found' });
  assert.equal((await r.service.ping({ uuid: UUID }, { kind: 'log' })).outcome, 'ok');
  assert.equal((await r.service.ping({ uuid: UUID }, { kind: 'log' })).outcome, 'ok');
  assert.deepEqual(await r.service.ping({ uuid: UUID }, { kind: 'log' }), { outcome: 'rate_limited', retryAfterSec: 1 });
  assert.equal((await r.service.ping({ pingKey: 'the-ping-key', slug: 'gen' }, { kind: 'log' })).outcome, 'ok', 'per check');
  clock.advance(S);
  assert.equal((await r.service.ping({ uuid: UUID }, { kind: 'log' })).outcome, 'ok');
  const noKey = relay(dir(), clock, { pings: { pingKey: undefined } });
  assert.deepEqual(await noKey.service.ping({ pingKey: '', slug: 'backup' }, { kind: 'success' }), { outcome: 'not_found' });
  await noKey.close();
  await r.close();
});

test('restart keeps the state and the generated UUID; after_downtime restart_grace gives grace again, fire fires for the gap', async () => {
  for (const afterDowntime of ['restart_grace', 'fire'] as const) {
    const file = dir();
    const clock = new FakeClock();
    const a = relay(file, clock);
    await a.service.start();
    const gen = a.service.get('gen')!.uuid;
    assert.match(gen, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await a.service.ping({ uuid: gen }, { kind: 'success' });
    await a.service.ping({ uuid: UUID }, { kind: 'success' });
    await a.close();
    clock.advance(120 * S); // the relay is down past both deadlines
    const b = relay(file, clock, { pings: { afterDowntime } });
    assert.equal(b.service.get('gen')!.uuid, gen, 'generated once and kept');
    await b.service.start();
    await b.service.tick();
    assert.equal(b.service.get('gen')!.status, afterDowntime === 'fire' ? 'down' : 'up');
    if (afterDowntime === 'fire') {
      assert.deepEqual(summary(b.alarms).sort(), ['firing HeartbeatMissing backup', 'firing HeartbeatMissing gen']);
    } else {
      assert.deepEqual(b.alarms, []);
      assert.equal(b.service.get('gen')!.due_at, new Date(clock.now() + 10 * S).toISOString());
      clock.advance(10 * S);
      await b.service.tick();
      assert.deepEqual(summary(b.alarms).sort(), ['firing HeartbeatMissing backup', 'firing HeartbeatMissing gen']);
    }
    await b.close();
    // Down is kept across a restart: no second firing.
    const c = relay(file, clock, { pings: { afterDowntime } });
    await c.service.start();
    await c.service.tick();
    assert.deepEqual(c.alarms, []);
    assert.equal(c.service.get('backup')!.status, 'down');
    await c.close();
  }
});

test('a failed commit changes nothing: the alarm and the state go together, and the next try fires once', async () => {
  const clock = new FakeClock();
  let fail = true;
  const r = relay(dir(), clock, { failAccept: () => fail });
  await r.service.start();
  await assert.rejects(r.service.ping({ uuid: UUID }, { kind: 'fail' }), /disk on fire/);
  assert.equal(r.service.get('backup')!.status, 'new');
  assert.equal(r.store.checks.allStates().find((s) => s.name === 'backup')!.state.status, 'new');
  fail = false;
  clock.advance(S);
  await r.service.ping({ uuid: UUID }, { kind: 'fail' });
  assert.deepEqual(summary(r.alarms), ['firing HeartbeatFailed backup']);
  assert.equal(r.store.checks.allStates().find((s) => s.name === 'backup')!.state.status, 'down');
  await r.close();
});

test('runtime checks: add (validated), list, pause (a down check resolves), resume, remove (resolves); file checks are read-only', async () => {
  const file = dir();
  const clock = new FakeClock();
  const r = relay(file, clock);
  await r.service.start();
  const bad = await r.service.add({ name: 'backup', periodMs: 500, graceMs: 0, schedule: '61 * * * *', labels: { '': 'x' }, uuid: 'x' });
  assert.ok(!bad.ok);
  assert.deepEqual(bad.issues.map((i) => i.path), ['name', 'period', 'grace', 'labels.', 'uuid']);
  const cron = await r.service.add({ name: 'c', schedule: '0 3 * * *', tz: 'Mars/Base', graceMs: S });
  assert.ok(!cron.ok && cron.issues[0]!.path === 'tz');
  const added = await r.service.add({ name: 'job', periodMs: 5 * S, graceMs: S, labels: { team: 'x' } });
  assert.ok(added.ok);
  assert.equal(added.check.origin, 'api');
  assert.equal(added.check.status, 'new');
  assert.equal(added.check.ping_path, `/ping/${added.check.uuid}`);
  const dup = await r.service.add({ name: 'job', periodMs: 5 * S, graceMs: S });
  assert.ok(!dup.ok && dup.issues[0]!.path === 'name');
  assert.deepEqual(r.service.list().map((c) => c.name), ['backup', 'gen', 'job']);
  assert.equal(await r.service.setPaused('backup', true), 'read_only');
  assert.equal(await r.service.remove('gen'), 'read_only');
  assert.equal(await r.service.setPaused('nope', true), 'unknown');
  assert.equal(await r.service.remove('nope'), 'unknown');

  await r.service.ping({ pingKey: 'the-ping-key', slug: 'job' }, { kind: 'success' });
  clock.advance(6 * S);
  await r.service.tick();
  assert.deepEqual(summary(r.alarms), ['firing HeartbeatMissing job']);
  assert.equal(await r.service.setPaused('job', true), 'ok');
  assert.deepEqual(summary(r.alarms).slice(1), ['resolved HeartbeatMissing job']);
  assert.equal(r.service.get('job')!.status, 'paused');
  assert.equal((await r.service.ping({ uuid: added.check.uuid }, { kind: 'fail' })).outcome, 'ok', 'a ping to a paused check is recorded');
  assert.ok(r.service.get('job')!.last_ping_at);
  clock.advance(60 * S);
  await r.service.tick();
  assert.equal(r.alarms.length, 2, 'nothing while paused');
  await r.close();

  // The pause and the check survive a restart; resume starts over as new.
  const b = relay(file, clock);
  await b.service.start();
  assert.equal(b.service.get('job')!.paused, true);
  assert.equal(b.service.get('job')!.status, 'paused');
  assert.equal(await b.service.setPaused('job', false), 'ok');
  assert.equal(b.service.get('job')!.status, 'new');
  await b.service.ping({ uuid: added.check.uuid }, { kind: 'fail' });
  assert.deepEqual(summary(b.alarms), ['firing HeartbeatFailed job']);
  assert.equal(await b.service.remove('job'), 'ok');
  assert.deepEqual(summary(b.alarms).slice(1), ['resolved HeartbeatFailed job']);
  assert.equal(b.service.get('job'), undefined);
  assert.deepEqual(await b.service.ping({ uuid: added.check.uuid }, { kind: 'success' }), { outcome: 'not_found' });
  assert.deepEqual(b.store.checks.allChecks(), []);
  await b.close();
  rmSync(join(file, '..'), { recursive: true, force: true });
});

test('a check removed from the config file is forgotten; a runtime check that takes a file check\'s name is ignored', async () => {
  const file = dir();
  const clock = new FakeClock();
  const a = relay(file, clock);
  await a.service.start();
  await a.close();
  const b = relay(file, clock, { checks: [] });
  await b.service.start();
  assert.deepEqual(b.store.checks.allStates(), []);
  assert.ok((await b.service.add({ name: 'gen', periodMs: 5 * S, graceMs: S })).ok);
  await b.close();
  const c = relay(file, clock);
  await c.service.start();
  assert.deepEqual(c.service.list().map((x) => [x.name, x.origin]), [['backup', 'file'], ['gen', 'file']]);
  await c.close();
});

test('a check removed from the config file while down: its alarm is resolved at start, not left firing', async () => {
  const file = dir();
  const clock = new FakeClock();
  const a = relay(file, clock);
  await a.service.start();
  await a.service.ping({ uuid: UUID }, { kind: 'fail' });
  assert.deepEqual(summary(a.alarms), ['firing HeartbeatFailed backup']);
  await a.close();
  const b = relay(file, clock, { checks: [] });
  await b.service.start();
  assert.deepEqual(summary(b.alarms), ['resolved HeartbeatFailed backup']);
  assert.deepEqual(b.store.checks.allStates(), []);
  await b.close();
});

test('a ping to a check removed meanwhile is not found; exists() answers before any body is read', async () => {
  const clock = new FakeClock();
  const r = relay(dir(), clock);
  await r.service.start();
  assert.ok((await r.service.add({ name: 'gone', periodMs: 5 * S, graceMs: S })).ok);
  const uuid = r.service.get('gone')!.uuid;
  assert.equal(r.service.exists({ uuid }), true);
  assert.equal(await r.service.remove('gone'), 'ok');
  assert.equal(r.service.exists({ uuid }), false);
  assert.deepEqual(await r.service.ping({ uuid }, { kind: 'success' }), { outcome: 'not_found' });
  await r.close();
});
