import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../config/parse.ts';
import type { ChannelDeps } from '../channels/types.ts';
import type { WebhookSettings } from '../channels/webhook.ts';
import { ConfigError } from '../config/errors.ts';
import { LiveConfig } from './live-config.ts';

const noFiles = (path: string): string => {
  throw new Error(`unexpected read of ${path}`);
};
const parse = (yaml: string) => parseConfig(yaml, {}, noFiles);
const deps: ChannelDeps = { http: async () => { throw new Error('no http'); }, clock: { now: () => 0 }, writeLine: () => {} };

const BASE = `
sources: { a: { token: token-aaaa } }
methods:
  hook: { type: webhook, url: "http://127.0.0.1:1/a", max_attempts: 3 }
routes:
  - methods: [hook]
`;

test('accessors read the configuration now; reload swaps methods, routes and sources at once', () => {
  const live = new LiveConfig(parse(BASE), deps);
  const routesBefore = live.routes();
  const hookBefore = live.channels().get('hook');
  assert.deepEqual([...live.channels().keys()], ['log', 'hook']);
  assert.equal(live.settings('hook').maxAttempts, 3);

  const r = live.reload(parse(`
sources: { a: { token: token-aaaa }, b: { token: token-bbbb } }
methods:
  hook: { type: webhook, url: "http://127.0.0.1:1/b", max_attempts: 3 }
  pager: { type: webhook, url: "http://127.0.0.1:1/p" }
routes:
  - methods: [pager]
`));
  assert.deepEqual(r.methods, { added: ['pager'], removed: [], changed: ['hook'] });
  assert.deepEqual(r.restartNeeded, []);
  assert.deepEqual(live.sources().map((s) => s.name), ['a', 'b']);
  assert.notEqual(live.routes(), routesBefore);
  assert.deepEqual(live.routes()[0]!.methods, ['pager']);
  assert.deepEqual([...live.channels().keys()], ['log', 'hook', 'pager']);
  assert.notEqual(live.channels().get('hook'), hookBefore, 'a changed method gets a new channel');
  assert.equal((live.config.methods.hook!.settings as WebhookSettings).url.reveal(), 'http://127.0.0.1:1/b');
});

test('a removed method falls back to the global delivery settings; its name is reported', () => {
  const live = new LiveConfig(parse(BASE), deps);
  const r = live.reload(parse('delivery: { max_attempts: 7 }'));
  assert.deepEqual(r.methods.removed, ['hook']);
  assert.equal(live.channels().has('hook'), false);
  assert.equal(live.settings('hook').maxAttempts, 7, 'the new global value applies to what is left');
});

test('restart-only settings are named and keep their running values', () => {
  const live = new LiveConfig(parse(BASE), deps);
  const r = live.reload(parse(`${BASE}\nlisten: 127.0.0.1:9999\ndata_dir: /elsewhere\ningest: { max_batch: 5 }\ndelivery: { batch_size: 8, max_attempts: 9 }\n`));
  assert.deepEqual(r.restartNeeded, ['listen', 'data_dir', 'ingest', 'delivery.batch_size']);
  assert.equal(live.config.listen.port, 9095);
  assert.equal(live.config.dataDir, './data');
  assert.equal(live.config.ingest.maxBatch, 1000);
  assert.equal(live.config.delivery.batchSize, 256);
  assert.equal(live.config.delivery.maxAttempts, 9, 'per-method retry settings follow the file');
  assert.ok(Object.isFrozen(live.config));
});

test('a changed secret alone marks the method changed; an identical file changes nothing', () => {
  const live = new LiveConfig(parse(BASE), deps);
  assert.deepEqual(live.reload(parse(BASE)).methods, { added: [], removed: [], changed: [] });
  const other = BASE.replace('max_attempts: 3', 'max_attempts: 3, bearer_token: tok-new-1');
  assert.deepEqual(live.reload(parse(other)).methods.changed, ['hook']);
});

test('a method whose channel cannot be built fails the reload and keeps everything as it was', () => {
  const live = new LiveConfig(parse(BASE), deps);
  const before = live.channels();
  const next = parse(BASE.replace('/a"', '/c"'));
  const broken = { ...next, methods: { ...next.methods, hook: { ...next.methods.hook!, type: 'nonexistent' } } };
  assert.throws(() => live.reload(broken), /unknown channel type "nonexistent"/);
  assert.equal(live.channels(), before);
  assert.equal((live.config.methods.hook!.settings as WebhookSettings).url.reveal(), 'http://127.0.0.1:1/a');
});

test('reload swaps the lifecycle settings and the admin tokens (a leaked admin token is revoked by a reload)', () => {
  const live = new LiveConfig(parse(`${BASE}\nadmin: { tokens: [adm-old-token-1] }\n`), deps);
  assert.deepEqual(live.config.admin.tokens.map((t) => t.reveal()), ['adm-old-token-1']);
  const r = live.reload(parse(`${BASE}\nadmin: { tokens: [adm-new-token-2] }\nlifecycle: { notify_unknown_resolved: true }\n`));
  assert.deepEqual(r.restartNeeded, []);
  assert.deepEqual(live.config.admin.tokens.map((t) => t.reveal()), ['adm-new-token-2']);
  assert.equal(live.config.lifecycle.notifyUnknownResolved, true);
});

// ---- runtime methods (created through the admin API) -------------------------------------------

/** A method as the config parser builds it (as app/runtime-methods does). */
const methodOf = (name: string, yaml: string) => parseConfig(`methods:\n  ${name}: ${yaml}\n`, {}, noFiles).methods[name]!;
const external = (yaml: string) => parseConfig(yaml, {}, noFiles, undefined, { externalMethods: true });

test('runtime methods join the file methods; the file wins a shared name; origin says where each comes from', () => {
  const live = new LiveConfig(parse(BASE), deps);
  const hookBefore = live.channels().get('hook');
  const changes = live.setRuntimeMethods({
    pager: methodOf('pager', '{ type: webhook, url: "http://127.0.0.1:1/p", max_attempts: 9 }'),
    hook: methodOf('hook', '{ type: webhook, url: "http://127.0.0.1:1/shadowed" }'),
  });
  assert.deepEqual(changes, { added: ['pager'], removed: [], changed: [] });
  assert.deepEqual(Object.keys(live.config.methods), ['log', 'hook', 'pager']);
  assert.equal((live.config.methods.hook!.settings as WebhookSettings).url.reveal(), 'http://127.0.0.1:1/a', 'the file wins');
  assert.equal(live.channels().get('hook'), hookBefore, 'an unchanged method keeps its channel');
  assert.ok(live.channels().has('pager'));
  assert.equal(live.settings('pager').maxAttempts, 9);
  assert.equal(live.origin('hook'), 'file');
  assert.equal(live.origin('pager'), 'api');
  assert.equal(live.origin('nope'), undefined);
  assert.ok(Object.isFrozen(live.config));

  assert.deepEqual(live.setRuntimeMethods({}), { added: [], removed: ['pager'], changed: [] });
  assert.equal(live.channels().has('pager'), false);
  assert.equal(live.origin('pager'), undefined);
});

test('a reload of the file keeps the runtime methods; a method the file drops gives way to a runtime one of its name', () => {
  const live = new LiveConfig(parse(BASE), deps);
  live.setRuntimeMethods({
    pager: methodOf('pager', '{ type: webhook, url: "http://127.0.0.1:1/p" }'),
    hook: methodOf('hook', '{ type: webhook, url: "http://127.0.0.1:1/runtime" }'),
  });
  const r = live.reload(parse('lifecycle: { notify_unknown_resolved: true }'));
  assert.deepEqual(r.methods, { added: [], removed: [], changed: ['hook'] });
  assert.deepEqual(Object.keys(live.config.methods).sort(), ['hook', 'log', 'pager']);
  assert.equal(live.origin('hook'), 'api');
  assert.equal((live.config.methods.hook!.settings as WebhookSettings).url.reveal(), 'http://127.0.0.1:1/runtime');
  assert.ok(live.channels().has('pager'));
});

test('routes of the file may name runtime methods: a reload naming one nobody defines is refused, naming where', () => {
  const yaml = 'routes:\n  - methods: [log]\n  - methods: [log, pager]\n';
  const live = new LiveConfig(parse(BASE), deps);
  const next = external(yaml);
  assert.deepEqual(next.externalMethodRefs, [{ path: 'routes[1].methods[1]', name: 'pager' }]);
  assert.deepEqual(live.unresolved(next), ['routes[1].methods[1]: unknown method "pager"; define it under methods or create it with `tocsin methods add`']);
  assert.throws(() => live.reload(next), (e: unknown) => e instanceof ConfigError && e.issues[0]!.startsWith('routes[1].methods[1]: unknown method "pager"'));
  assert.deepEqual(live.routes()[0]!.methods, ['hook'], 'the running routes are kept');

  live.setRuntimeMethods({ pager: methodOf('pager', '{ type: webhook, url: "http://127.0.0.1:1/p" }') });
  assert.deepEqual(live.unresolved(next), []);
  live.reload(next);
  assert.deepEqual(live.routes()[1]!.methods, ['log', 'pager']);
  // Now the routes need it: the runtime methods cannot drop it.
  assert.throws(() => live.setRuntimeMethods({}), /routes\[1\]\.methods\[1\]: unknown method "pager"/);
  assert.ok(live.channels().has('pager'), 'kept');
});

test('the start: a config naming a runtime method gets it from setRuntimeMethods, or that fails naming the route', () => {
  const config = external(`${BASE}\n  - methods: [pager]\n`);
  const live = new LiveConfig(config, deps);
  assert.throws(() => live.setRuntimeMethods({}), /routes\[1\]\.methods\[0\]: unknown method "pager"/);
  live.setRuntimeMethods({ pager: methodOf('pager', '{ type: webhook, url: "http://127.0.0.1:1/p" }') });
  assert.ok(live.channels().has('pager'));
});
