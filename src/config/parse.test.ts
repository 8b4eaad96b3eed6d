import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inspect } from 'node:util';
import { ConfigError, defaultConfig, loadConfig, parseConfig, readTextFile, type Env } from './index.ts';
import type { Config } from './types.ts';
import type { WebhookSettings } from '../channels/webhook.ts';

const noFiles = (path: string): string => {
  throw new Error(`ENOENT: no such file or directory, open '${path}'`);
};
const files = (map: Record<string, string>) => (path: string) => map[path] ?? noFiles(path);

/** The issue lines of the ConfigError thrown for this document. */
function issuesOf(yaml: string, env: Env = {}, readFile = noFiles): string[] {
  try {
    parseConfig(yaml, env, readFile);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.equal(e.message, e.issues.join('\n'));
    return e.issues;
  }
  assert.fail('expected a ConfigError');
}

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const tmp = mkdtempSync(join(tmpdir(), 'tocsin-config-'));
const tokenFile = join(tmp, 'scripts.token');
writeFileSync(tokenFile, 'scripts-token-789\n');

const EXAMPLE = `
listen: 127.0.0.1:9095
data_dir: ./data
log_level: info
sources:
  zeebe:   { token: "\${ZEEBE_TOKEN}" } # in { } a \${...} must be quoted: { } are YAML syntax
  scripts: { token_file: ${tokenFile} }
methods:
  ops-hook:
    type: webhook
    url: https://hooks.example/alerts?key=\${HOOK_KEY}
    headers: { X-Team: ops }
    bearer_token: bearer-456
    signing_secret: \${HOOK_SECRET}
    max_attempts: 5
    max_age: 2h
  quiet: { type: log }
routes:
  - match: { source: zeebe }
    methods: [ops-hook]
  - match: { severity: critical, labels: { team: "~db-.*" } }
    methods: [ops-hook]
    continue: true
  - methods: [log]
ingest:
  max_body: 1MiB
  max_batch: 1000
  max_pending: 1000000
  idempotency_ttl: 24h
  zeebe_severity: error
database:
  synchronous: FULL
  retention: 7d
delivery:
  concurrency: 64
  timeout: 10s
  max_attempts: 20
  max_age: 24h
  backoff_base: 1s
  backoff_cap: 10m
  retry_after_cap: 1h
  batch_size: 256
  poll_interval: 1s
  shutdown_grace: 10s
  thread: true
`;
const EXAMPLE_ENV = { ZEEBE_TOKEN: 'zeebe-token-123', HOOK_KEY: 'hookkey-000', HOOK_SECRET: SECRET };
const parseExample = () => parseConfig(EXAMPLE, EXAMPLE_ENV, readTextFile);

const DEFAULT_DELIVERY = {
  concurrency: 64, timeoutMs: 10_000, maxAttempts: 20, maxAgeMs: 86_400_000,
  backoffBaseMs: 1000, backoffCapMs: 600_000, retryAfterCapMs: 3_600_000,
};

test('defaults: an empty document is defaultConfig(), with the documented values', () => {
  const expected: Config = {
    listen: { host: '127.0.0.1', port: 9095 },
    dataDir: './data',
    logLevel: 'info',
    sources: [],
    methods: { log: { name: 'log', type: 'log', settings: {}, delivery: DEFAULT_DELIVERY } },
    routes: [{ match: { labels: {} }, methods: ['log'], continue: false }],
    ingest: { maxBodyBytes: 1_048_576, maxBatch: 1000, maxPending: 1_000_000, idempotencyTtlMs: 86_400_000, formats: { generic: {}, zeebe: { severity: 'error' }, monasca: { undetermined: 'firing', alarm_ttl: 14_400_000 }, prometheus: {}, alertmanager: {}, grafana: {}, cloudevents: {} } },
    database: { synchronous: 'FULL', retentionMs: 604_800_000 },
    delivery: { ...DEFAULT_DELIVERY, batchSize: 256, pollIntervalMs: 1000, shutdownGraceMs: 10_000, thread: true },
    canaries: [],
    checks: [],
    pings: { bodyLimitBytes: 100_000, afterDowntime: 'restart_grace', rateLimit: { perSecond: 5, burst: 5 } },
    lifecycle: { notifyUnknownResolved: false },
    admin: { tokens: [] },
    metrics: {},
    externalMethodRefs: [],
  };
  assert.deepEqual(defaultConfig(), expected);
  for (const doc of ['', '# nothing here\n', '{}', 'sources:\nmethods:\ningest:\ncanaries:\n', 'canaries: {}', 'checks:\npings:\n', 'checks: {}\npings: {}', 'metrics:\nstatsd:\n', 'metrics: {}']) {
    assert.deepEqual(parseConfig(doc, {}, noFiles), expected, JSON.stringify(doc));
  }
  assert.deepEqual(loadConfig(undefined, {}, noFiles), expected);
});

test('the documented example parses fully', () => {
  const c = parseExample();
  assert.deepEqual(c.listen, { host: '127.0.0.1', port: 9095 });
  assert.equal(c.dataDir, './data');
  assert.equal(c.logLevel, 'info');
  assert.deepEqual(c.sources.map((s) => [s.name, s.token!.reveal()]), [
    ['zeebe', 'zeebe-token-123'],
    ['scripts', 'scripts-token-789'], // trailing newline trimmed
  ]);
  assert.deepEqual(Object.keys(c.methods), ['log', 'ops-hook', 'quiet']);
  const hook = c.methods['ops-hook']!;
  const s = hook.settings as WebhookSettings;
  assert.equal(hook.type, 'webhook');
  assert.equal(s.url.reveal(), 'https://hooks.example/alerts?key=hookkey-000');
  assert.deepEqual(s.headers, { 'X-Team': 'ops' });
  assert.equal(s.bearerToken?.reveal(), 'bearer-456');
  assert.equal(s.signingSecret?.reveal(), SECRET);
  assert.deepEqual(hook.delivery, { ...DEFAULT_DELIVERY, maxAttempts: 5, maxAgeMs: 7_200_000 });
  assert.deepEqual(c.methods.quiet, { name: 'quiet', type: 'log', settings: {}, delivery: DEFAULT_DELIVERY });
  assert.deepEqual(c.methods.log!.type, 'log');

  assert.equal(c.routes.length, 3);
  const [r0, r1, r2] = c.routes;
  assert.deepEqual([r0!.methods, r0!.continue, Object.keys(r0!.match)], [['ops-hook'], false, ['source', 'labels']]);
  assert.equal(r0!.match.source!.test('zeebe'), true);
  assert.equal(r0!.match.source!.test('scripts'), false);
  assert.deepEqual([r1!.methods, r1!.continue], [['ops-hook'], true]);
  assert.equal(r1!.match.severity!.source, 'critical');
  assert.equal(r1!.match.labels.team!.test('db-main'), true);
  assert.equal(r1!.match.labels.team!.test('web'), false);
  assert.deepEqual([r2!.methods, r2!.continue, r2!.match.labels], [['log'], false, {}]);

  assert.deepEqual(c.ingest, defaultConfig().ingest);
  assert.deepEqual(c.database, defaultConfig().database);
  assert.deepEqual(c.delivery, defaultConfig().delivery);
});

test('scalar formats: byte sizes, durations, ints from env, [ipv6]:port, lower-case synchronous', () => {
  const c = parseConfig(
    'listen: "[::1]:0"\ningest: { max_body: 512KiB }\ndatabase: { synchronous: normal, retention: 1500 }\n' +
      'delivery: { timeout: 500ms, max_attempts: "${N}" }',
    { N: '7' },
    noFiles,
  );
  assert.deepEqual(c.listen, { host: '::1', port: 0 });
  assert.equal(c.ingest.maxBodyBytes, 524_288);
  assert.equal(parseConfig('ingest: { max_body: 10MB }', {}, noFiles).ingest.maxBodyBytes, 10_000_000);
  assert.equal(parseConfig('ingest: { max_body: 2048 }', {}, noFiles).ingest.maxBodyBytes, 2048);
  assert.deepEqual(c.database, { synchronous: 'NORMAL', retentionMs: 1500 });
  assert.equal(c.delivery.timeoutMs, 500);
  assert.equal(c.delivery.maxAttempts, 7);
  assert.equal(c.methods.log!.delivery.maxAttempts, 7);
});

test('${ENV} substitution applies to string values anywhere; $${ escapes; keys and results are not expanded', () => {
  const c = parseConfig(
    [
      'data_dir: "${BASE}/${SUB}"',
      'methods:',
      '  hook: { type: webhook, url: "${URL}", headers: { X-Literal: "$${NOT_A_VAR}", X-Raw: "${RAW}" } }',
      'routes:',
      '  - match: { labels: { "${KEY}": "${VAL}" } }',
      '    methods: ["${M}"]',
    ].join('\n'),
    { BASE: '/var/lib', SUB: 'tocsin', URL: 'http://h/x', RAW: '${BASE}', KEY: 'k', VAL: 'v', M: 'hook' },
    noFiles,
  );
  assert.equal(c.dataDir, '/var/lib/tocsin');
  const hook = c.methods.hook!.settings as WebhookSettings;
  assert.equal(hook.url.reveal(), 'http://h/x');
  assert.deepEqual(hook.headers, { 'X-Literal': '${NOT_A_VAR}', 'X-Raw': '${BASE}' });
  assert.deepEqual(Object.keys(c.routes[0]!.match.labels), ['${KEY}']);
  assert.equal(c.routes[0]!.match.labels['${KEY}']!.source, 'v');
  assert.deepEqual(c.routes[0]!.methods, ['hook']);
});

test('each documented error message, exactly', () => {
  const cases: [yaml: string, issue: string, env?: Env, readFile?: (p: string) => string][] = [
    ['methods: { ops-hook: { type: webhook, url: "ftp://x/y" } }', 'methods.ops-hook.url: must be an http(s) URL'],
    ['methods: { ops-hook: { type: webhook, url: "not a url" } }', 'methods.ops-hook.url: must be an http(s) URL'],
    ['methods: { ops-hook: { type: smtp } }', 'methods.ops-hook.type: unknown method type "smtp"; expected one of: log, webhook, slack, pagerduty, email'],
    ['methods: { ops-hook: { url: "http://x" } }', 'methods.ops-hook.type: required; expected one of: log, webhook, slack, pagerduty, email'],
    [
      'methods: { ops-hook: { type: log } }\nroutes: [{ methods: [log] }, { methods: [pager] }]',
      'routes[1].methods[0]: unknown method "pager"; define it under methods or use one of: log, ops-hook',
    ],
    ['routes: [{ methods: [log, log] }]', 'routes[0].methods[1]: method "log" is listed twice'],
    ['routes: [{ methods: [] }]', 'routes[0].methods: must list at least one method'],
    ['sources: { zeebe: { token: a, token_file: /x } }', 'sources.zeebe: set at most one of token or token_file'],
    ['sources: { zeebe: {} }', 'sources.zeebe: set a credential: token (or token_file), basic_auth, or signing_secret (or signing_secret_file)'],
    ['sources: { prom: { basic_auth: { username: p } } }', 'sources.prom.basic_auth: set exactly one of password or password_file'],
    ['sources: { prom: { signing_secret: nope } }', 'sources.prom.signing_secret: must be "whsec_" followed by base64'],
    ['sources: { prom: { token: t1, previous_signing_secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw } }', 'sources.prom.previous_signing_secret: is used with signing_secret only (the one that replaces it)'],
    ['sources: { a: { basic_auth: { username: p, password: x } }, b: { basic_auth: { username: p, password: y } } }', 'sources.b.basic_auth.username: same user name as sources.a; every source needs its own'],
    ['sources: { a: { basic_auth: { username: "p:q", password: x } } }', 'sources.a.basic_auth.username: must not contain ":" (basic auth splits user name and password there)'],
    ['sources: { a: { signing_secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw }, b: { signing_secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw } }', 'sources.b.signing_secret: same secret as a signing secret of sources.a; every source needs its own'],
    ['sources: { a: { signing_secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw } }\ningest: { idempotency_ttl: 1m }', 'ingest.idempotency_ttl: must be at least 5m while a source has a signing_secret (a signed request is remembered that long to refuse its replay)'],
    ['sources: { zeebe: { token: "${ZEEBE_TOKEN}" } }', 'sources.zeebe.token: environment variable ZEEBE_TOKEN is not set'],
    [
      'sources: { scripts: { token_file: /etc/x } }',
      'sources.scripts.token_file: cannot read /etc/x: EACCES: permission denied',
      {},
      () => {
        throw new Error("EACCES: permission denied, open '/etc/x'");
      },
    ],
    ['sources: { scripts: { token_file: /etc/x } }', 'sources.scripts.token_file: /etc/x is empty', {}, () => '\n'],
    ['sources: { a: { token: "" } }', 'sources.a.token: must not be empty'],
    ['sources: { a: { token: t1 }, b: { token: t1 } }', 'sources.b.token: same token as sources.a; every source needs its own token'],
    ['sources: { "a b": { token: t1 } }', 'sources.a b: invalid name; use letters, digits, "_", "." or "-", starting with a letter or digit'],
    ['listen: localhost', 'listen: must be host:port, e.g. 127.0.0.1:9095'],
    ['listen: 9095', 'listen: must be host:port, e.g. 127.0.0.1:9095'],
    ['listen: 127.0.0.1:70000', 'listen: port must be between 0 and 65535'],
    ['delivery: { timeout: soon }', 'delivery.timeout: must be a duration like "10s" or "500ms"'],
    ['delivery: { timeout: 0s }', 'delivery.timeout: must be greater than 0'],
    ['delivery: { timeout: 30d }', 'delivery.timeout: must be at most 24d'],
    ['delivery: { poll_interval: 25d }', 'delivery.poll_interval: must be at most 24d'],
    ['methods: { x: { type: log, timeout: 30d } }', 'methods.x.timeout: must be at most 24d'],
    ['delivery: { backoff_base: 1m, backoff_cap: 1s }', 'delivery: backoff_cap must be at least backoff_base'],
    ['ingest: { max_body: lots }', 'ingest.max_body: must be a byte size like 1048576, "512KiB", "1MiB" or "10MB"'],
    ['ingest: { max_batch: 0 }', 'ingest.max_batch: must be a whole number >= 1'],
    ['log_level: loud', 'log_level: must be one of: trace, debug, info, warn, error, fatal'],
    ['routes: [{ match: { labels: { team: "~(" } }, methods: [log] }]', 'routes[0].match.labels.team: invalid regular expression "~(": unbalanced parenthesis: "(" without ")"'],
    ['routes: [{ match: { team: ops }, methods: [log] }]', 'routes[0].match.team: unknown field'],
    ['methods: { ops-hook: { type: webhook, url: "http://x", ulr: "http://y" } }', 'methods.ops-hook.ulr: unknown field'],
    ['methods: { x: { type: webhook, url: "http://x", signing_secret: "abc" } }', 'methods.x.signing_secret: must be "whsec_" followed by base64'],
    ['methods: { x: { type: webhook, url: "http://x", signing_secret: "whsec_!!" } }', 'methods.x.signing_secret: must be "whsec_" followed by base64'],
    [
      'methods: { x: { type: webhook, url: "http://x", bearer_token: a, bearer_token_file: /b } }',
      'methods.x: set at most one of bearer_token or bearer_token_file',
    ],
    ['methods: { x: { type: webhook } }', 'methods.x: set exactly one of url or url_file'],
    ['methods: { x: { type: webhook, url: "http://x", headers: { X-N: 1 } } }', 'methods.x.headers.X-N: must be a string'],
    ['methods: { log: { type: log, timeout: 0 } }', 'methods.log.timeout: must be greater than 0'],
    ['sources: [a]', 'sources: must be a mapping'],
    ['data_dir: "${X"', 'data_dir: unterminated "${"; write "$${" for a literal "${"'],
    ['data_dir: "${X-1}"', 'data_dir: write ${NAME} with a variable name, or "$${" for a literal "${"'],
    ['bogus: 1', 'bogus: unknown field'],
    ['just a string', 'config: must be a mapping'],
    ['a: 1\na: 2', 'config: invalid YAML: Map keys must be unique at line 2, column 1'],
    ['a: x\n}hunter2', 'config: invalid YAML: Unexpected flow-map-end token in YAML stream at line 2, column 1'], // no source text echoed
    [
      'sources: { zeebe: { token: ${ZEEBE_TOKEN} } }',
      'config: invalid YAML: Unexpected flow-map-start at node end at line 1, column 29; inside { } or [ ] write "${NAME}" in quotes',
    ],
    ['routes: [{ match: { severity: !critical }, methods: [log] }]', 'config: invalid YAML: Unresolved tag: !critical at line 1, column 31; quote values that start with "!"'],
  ];
  for (const [yaml, issue, env, readFile] of cases) {
    assert.deepEqual(issuesOf(yaml, env, readFile), [issue], yaml);
  }
});

test('all issues are reported together', () => {
  const yaml = [
    'listen: nope',
    'sources:',
    '  zeebe: { token: "${ZEEBE_TOKEN}" }',
    'methods:',
    '  ops-hook: { type: webhook, ulr: "http://x" }',
    'delivery: { timeout: 10 parsecs }',
  ].join('\n');
  assert.deepEqual(issuesOf(yaml), [
    'sources.zeebe.token: environment variable ZEEBE_TOKEN is not set',
    'listen: must be host:port, e.g. 127.0.0.1:9095',
    'methods.ops-hook.ulr: unknown field',
    'delivery.timeout: must be a duration like "10s" or "500ms"',
  ]);
  // Checks after the schema (secrets, files, references) are collected together as well.
  const later = 'sources: { a: { token_file: /nope } }\nmethods: { h: { type: webhook, url: "ftp://x" } }\nroutes: [{ methods: [h, pager] }]';
  assert.deepEqual(issuesOf(later), [
    'sources.a.token_file: cannot read /nope: ENOENT: no such file or directory',
    'methods.h.url: must be an http(s) URL',
    'routes[0].methods[1]: unknown method "pager"; define it under methods or use one of: h, log',
  ]);
});

test('a missing variable is reported once, not again by the checks of the field it is in', () => {
  assert.deepEqual(issuesOf('delivery: { timeout: "${T}" }\nmethods: { h: { type: webhook, url: "${U}" } }'), [
    'delivery.timeout: environment variable T is not set',
    'methods.h.url: environment variable U is not set',
  ]);
});

test('routes: absent → [{ methods: [log] }]; [] → no routes; a user-defined log replaces the built-in', () => {
  assert.deepEqual(parseConfig('routes: []', {}, noFiles).routes, []);
  const c = parseConfig('methods: { log: { type: webhook, url: "https://x/log" } }', {}, noFiles);
  assert.equal(c.methods.log!.type, 'webhook');
  assert.deepEqual(c.routes[0]!.methods, ['log']);
});

test('loadConfig reads the file; an unreadable file is a ConfigError', () => {
  const path = join(tmp, 'tocsin.yaml');
  writeFileSync(path, EXAMPLE);
  assert.equal(loadConfig(path, EXAMPLE_ENV, readTextFile).sources.length, 2);
  const missing = join(tmp, 'missing.yaml');
  assert.throws(() => loadConfig(missing, {}, readTextFile), {
    name: 'ConfigError',
    message: `config: cannot read ${missing}: ENOENT: no such file or directory`,
  });
});

/** Runs fn with `dir` as the working directory. */
function inDir<T>(dir: string, fn: () => T): T {
  const before = process.cwd();
  process.chdir(dir);
  try {
    return fn();
  } finally {
    process.chdir(before);
  }
}

test('relative paths (data_dir, every *_file) resolve against the config file\'s directory; without a file, the working directory', () => {
  // <tmp>/etc/tocsin.yaml with its secrets next to it; the working directory <tmp>/cwd holds decoys.
  const root = mkdtempSync(join(tmp, 'paths-'));
  const etc = join(root, 'etc');
  const cwd = join(root, 'cwd');
  for (const dir of [etc, cwd]) {
    mkdirSync(join(dir, 'secrets'), { recursive: true });
    writeFileSync(join(dir, 'secrets', 'zeebe.token'), `token-in-${dir === etc ? 'etc' : 'cwd'}\n`);
    writeFileSync(join(dir, 'hook.url'), `https://hooks.example/${dir === etc ? 'etc' : 'cwd'}\n`);
  }
  const yaml = [
    'data_dir: data',
    'sources: { zeebe: { token_file: secrets/zeebe.token }, abs: { token_file: "${ABS}" } }',
    'methods: { hook: { type: webhook, url_file: ./hook.url } }',
  ].join('\n');
  const env = { ABS: tokenFile };
  writeFileSync(join(etc, 'tocsin.yaml'), yaml);
  writeFileSync(join(etc, 'missing.yaml'), 'sources: { s: { token_file: missing.token } }');
  writeFileSync(join(etc, 'no-data-dir.yaml'), 'log_level: info');

  const fromEtc = (c: Config) => {
    assert.equal(c.dataDir, join(etc, 'data'));
    assert.deepEqual(c.sources.map((s) => s.token!.reveal()), ['token-in-etc', 'scripts-token-789']); // an absolute path stays
    assert.equal((c.methods.hook!.settings as WebhookSettings).url.reveal(), 'https://hooks.example/etc');
  };
  inDir(cwd, () => {
    fromEtc(loadConfig(join(etc, 'tocsin.yaml'), env, readTextFile));
    fromEtc(loadConfig('../etc/tocsin.yaml', env, readTextFile)); // a relative config path, from the working directory
    // A reload (SIGHUP) loads the file again through loadConfig: the same paths.
    fromEtc(loadConfig('../etc/tocsin.yaml', env, readTextFile));
    assert.throws(() => loadConfig('../etc/missing.yaml', env, readTextFile), {
      message: `sources.s.token_file: cannot read ${join(etc, 'missing.token')}: ENOENT: no such file or directory`,
    });
    // data_dir not written: the default, in the working directory, as with no config file at all.
    assert.equal(resolve(loadConfig(join(etc, 'no-data-dir.yaml'), {}, readTextFile).dataDir), join(cwd, 'data'));
    assert.equal(resolve(loadConfig(undefined).dataDir), join(cwd, 'data'));
    // Parsed without a file (no base directory): relative to the working directory.
    const c = parseConfig(yaml, env, readTextFile);
    assert.equal(resolve(c.dataDir), join(cwd, 'data'));
    assert.deepEqual(c.sources.map((s) => s.token!.reveal()), ['token-in-cwd', 'scripts-token-789']);
    assert.equal((c.methods.hook!.settings as WebhookSettings).url.reveal(), 'https://hooks.example/cwd');
  });
  assert.deepEqual(issuesOf('sources: { a: { token_file: "" } }'), ['sources.a.token_file: must not be empty']);
});

test('the result is deeply frozen, and still works', () => {
  const c = parseExample();
  const mutable = c as unknown as Record<string, any>;
  assert.throws(() => { mutable.listen.port = 1; }, TypeError);
  assert.throws(() => { mutable.routes.push({}); }, TypeError);
  assert.throws(() => { mutable.methods['ops-hook'].delivery.maxAttempts = 1; }, TypeError);
  assert.throws(() => { mutable.methods['ops-hook'].settings.headers['X-New'] = '1'; }, TypeError);
  assert.throws(() => { mutable.routes[1].match.labels.team = null; }, TypeError);
  assert.throws(() => { mutable.sources[0].name = 'x'; }, TypeError);
  assert.equal(c.sources[0]!.token!.reveal(), 'zeebe-token-123');
  assert.equal(c.routes[1]!.match.labels.team!.test('db-x'), true);
});

test('secret values appear neither in JSON.stringify, util.inspect nor error messages', () => {
  const c = parseExample();
  const secrets = ['zeebe-token-123', 'scripts-token-789', 'hookkey-000', 'bearer-456', SECRET];
  for (const text of [JSON.stringify(c), inspect(c, { depth: 10 })]) {
    for (const s of secrets) assert.ok(!text.includes(s), `${s} leaked`);
    assert.ok(text.includes('<secret>'));
  }
  const issues = issuesOf(
    'sources: { a: { token: hunter2 }, b: { token: hunter2 } }\nmethods: { h: { type: webhook, url: "ftp://u:hunter2@x", signing_secret: hunter2 } }',
  );
  assert.equal(issues.length, 3);
  assert.ok(!issues.join('\n').includes('hunter2'));
});

test('format options: ingest.formats.<name>, validated by the format; zeebe_severity is the older spelling', () => {
  assert.deepEqual(parseConfig('ingest: { formats: { zeebe: { severity: critical } } }', {}, noFiles).ingest.formats.zeebe, { severity: 'critical' });
  assert.deepEqual(parseConfig('ingest: { zeebe_severity: warning }', {}, noFiles).ingest.formats.zeebe, { severity: 'warning' });
  assert.deepEqual(parseConfig('ingest: { formats: }', {}, noFiles).ingest.formats, { generic: {}, zeebe: { severity: 'error' }, monasca: { undetermined: 'firing', alarm_ttl: 14_400_000 }, prometheus: {}, alertmanager: {}, grafana: {}, cloudevents: {} });
  const issues = (yaml: string) => issuesOf(yaml);
  assert.deepEqual(issues('ingest: { formats: { zeebe: { severity: loud } } }'), [
    'ingest.formats.zeebe.severity: must be one of: critical, error, warning, info',
  ]);
  assert.deepEqual(issues('ingest: { formats: { zeebe: { sevrity: info } } }'), ['ingest.formats.zeebe.sevrity: unknown field']);
  assert.deepEqual(issues('ingest: { formats: { graphite: {} } }'), ['ingest.formats.graphite: unknown field']);
  assert.deepEqual(issues('ingest: { zeebe_severity: info, formats: { zeebe: { severity: error } } }'), [
    'ingest.zeebe_severity: set ingest.formats.zeebe.severity only (zeebe_severity is its older spelling)',
  ]);
});

test('every method type comes from the channel registry; each method keeps its type and built settings', () => {
  const c = parseConfig('methods: { a: { type: log }, b: { type: webhook, url: "http://h/x", headers: } }', {}, noFiles);
  assert.deepEqual([c.methods.a!.type, c.methods.b!.type], ['log', 'webhook']);
  assert.deepEqual((c.methods.b!.settings as WebhookSettings).headers, {});
});

test('hostile method and format values are clear errors, never a crash or a silent drop', () => {
  const issues = (yaml: string) => issuesOf(yaml);
  assert.deepEqual(issues('methods: { h: { type: webhook, url: "http://x/", headers: { __proto__: evil } } }'), [
    'methods.h.headers.__proto__: is a reserved name and cannot be a header',
  ]);
  assert.deepEqual(issues('ingest: { zeebe_severity: warning, formats: { zeebe: 5 } }'), ['ingest.formats.zeebe: must be a mapping']);
  // A required secret that failed is reported once; the channel never builds settings without it.
  assert.deepEqual(issues('methods: { h: { type: webhook, url_file: /nope } }'), ['methods.h.url_file: cannot read /nope: ENOENT: no such file or directory']);
  for (const type of [5, null, [], 'toString', '__proto__']) {
    assert.equal(issues(`methods: { h: { type: ${JSON.stringify(type)} } }`).length, 1, String(type));
  }
});

test('canaries: the documented example parses to the typed canaries; defaults fill the rest', () => {
  const dir = mkdtempSync(join(tmp, 'canary-'));
  writeFileSync(join(dir, 'ping.url'), 'https://hc-ping.com/from-a-file\n');
  const yaml = [
    'methods: { ops-hook: { type: webhook, url: "https://hooks.example/x" } }',
    'canaries:',
    '  path:',
    '    interval: 60s',
    '    methods: [ops-hook]',
    '    ping_url: https://hc-ping.com/0b5f3e1a-8d2b-4c7e-9a10-2b3c4d5e6f70',
    '    max_latency: 30s',
    '    resolve: false',
    '    labels: { team: platform }',
    '    affects_readiness: false',
    '  fast.one:',
    '    interval: 1500ms',
    '    methods: [log, ops-hook]',
    '    ping_url_file: ping.url',
    '    max_latency: 1s',
    '    resolve: true',
    '    affects_readiness: true',
    '  plain:',
    '    methods: [log]',
    '    ping_url: "http://127.0.0.1:8000/ping?key=${KEY}"',
    '    labels:',
  ].join('\n');
  writeFileSync(join(dir, 'tocsin.yaml'), yaml);
  const c = loadConfig(join(dir, 'tocsin.yaml'), { KEY: 'k1' }, readTextFile); // ping_url_file: relative to the config's directory
  const plain = (x: Config['canaries'][number]) => ({ ...x, pingUrl: x.pingUrl.reveal() });
  assert.deepEqual(c.canaries.map(plain), [
    {
      name: 'path', intervalMs: 60_000, methods: ['ops-hook'], pingUrl: 'https://hc-ping.com/0b5f3e1a-8d2b-4c7e-9a10-2b3c4d5e6f70',
      maxLatencyMs: 30_000, resolve: false, labels: { team: 'platform' }, affectsReadiness: false, via: 'http',
    },
    {
      name: 'fast.one', intervalMs: 1500, methods: ['log', 'ops-hook'], pingUrl: 'https://hc-ping.com/from-a-file',
      maxLatencyMs: 1000, resolve: true, labels: {}, affectsReadiness: true, via: 'http',
    },
    {
      name: 'plain', intervalMs: 60_000, methods: ['log'], pingUrl: 'http://127.0.0.1:8000/ping?key=k1',
      maxLatencyMs: 30_000, resolve: false, labels: {}, affectsReadiness: false, via: 'http',
    },
  ]);
  assert.ok(Object.isFrozen(c.canaries) && Object.isFrozen(c.canaries[0]) && Object.isFrozen(c.canaries[0]!.methods) && Object.isFrozen(c.canaries[0]!.labels));
  for (const text of [JSON.stringify(c.canaries), inspect(c.canaries, { depth: 10 })]) {
    assert.ok(!text.includes('hc-ping.com') && !text.includes('k1'), text);
  }
});

test('canaries: each error message, exactly', () => {
  const hook = 'methods: { ops-hook: { type: webhook, url: "https://hooks.example/x" } }\n';
  const ping = 'ping_url: "https://hc-ping.com/x"';
  const cases: [yaml: string, issue: string, readFile?: (p: string) => string][] = [
    [`${hook}canaries: { path: { methods: [x], ${ping} } }`, 'canaries.path.methods[0]: unknown method "x"; define it under methods or use one of: log, ops-hook'],
    [`canaries: { path: { methods: [log, log], ${ping} } }`, 'canaries.path.methods[1]: method "log" is listed twice'],
    [`canaries: { path: { methods: [], ${ping} } }`, 'canaries.path.methods: must list at least one method'],
    [`canaries: { path: { ${ping} } }`, 'canaries.path.methods: required'],
    [`canaries: { "a b": { methods: [log], ${ping} } }`, 'canaries.a b: invalid name; use letters, digits, "_", "." or "-", starting with a letter or digit'],
    [`canaries: { path: { interval: 999ms, methods: [log], ${ping} } }`, 'canaries.path.interval: must be at least 1s'],
    [`canaries: { path: { interval: 0, methods: [log], ${ping} } }`, 'canaries.path.interval: must be at least 1s'],
    [`canaries: { path: { interval: soon, methods: [log], ${ping} } }`, 'canaries.path.interval: must be a duration like "10s" or "500ms"'],
    [`canaries: { path: { interval: 30d, methods: [log], ${ping} } }`, 'canaries.path.interval: must be at most 24d'],
    [`canaries: { path: { max_latency: 500ms, methods: [log], ${ping} } }`, 'canaries.path.max_latency: must be at least 1s'],
    ['canaries: { path: { methods: [log], ping_url: "ftp://hc-ping.com/x" } }', 'canaries.path.ping_url: must be an http(s) URL'],
    ['canaries: { path: { methods: [log], ping_url: "not a url" } }', 'canaries.path.ping_url: must be an http(s) URL'],
    ['canaries: { path: { methods: [log], ping_url_file: /etc/ping } }', 'canaries.path.ping_url_file: must be an http(s) URL', () => 'ftp://x\n'],
    ['canaries: { path: { methods: [log], ping_url_file: /nope } }', 'canaries.path.ping_url_file: cannot read /nope: ENOENT: no such file or directory'],
    ['canaries: { path: { methods: [log] } }', 'canaries.path: set exactly one of ping_url or ping_url_file'],
    ['canaries: { path: { methods: [log], ping_url: "http://x", ping_url_file: /p } }', 'canaries.path: set exactly one of ping_url or ping_url_file'],
    [`canaries: { path: { methods: [log], ${ping}, resolve: yes } }`, 'canaries.path.resolve: must be true or false'],
    [`canaries: { path: { methods: [log], ${ping}, affects_readiness: 1 } }`, 'canaries.path.affects_readiness: must be true or false'],
    [`canaries: { path: { methods: [log], ${ping}, labels: { port: 8080 } } }`, 'canaries.path.labels.port: must be a string'],
    [`canaries: { path: { methods: [log], ${ping}, labels: { "": x } } }`, 'canaries.path.labels.: must not be an empty name'],
    [`canaries: { path: { methods: [log], ${ping}, labels: { __proto__: x } } }`, 'canaries.path.labels.__proto__: is a reserved name and cannot be a label'],
    [`canaries: { path: { methods: [log], ${ping}, labels: [a] } }`, 'canaries.path.labels: must be a mapping'],
    [`canaries: { path: { methods: [log], ${ping}, labels: { tocsin_canary: other } } }`, "canaries.path.labels.tocsin_canary: is set by tocsin on every canary alarm (the canary's name and its run id); choose another label"],
    [`canaries: { path: { methods: [log], ${ping}, labels: { tocsin_canary_run: r1 } } }`, "canaries.path.labels.tocsin_canary_run: is set by tocsin on every canary alarm (the canary's name and its run id); choose another label"],
    [`canaries: { path: { methods: [log], ${ping}, intervall: 5s } }`, 'canaries.path.intervall: unknown field'],
    ['canaries: [path]', 'canaries: must be a mapping'],
  ];
  for (const [yaml, issue, readFile] of cases) {
    assert.deepEqual(issuesOf(yaml, {}, readFile), [issue], yaml);
  }
  // The ping URL is a secret: a bad one is never echoed.
  assert.deepEqual(issuesOf('canaries: { path: { methods: [log], ping_url: "ftp://u:hunter2@x" } }'), ['canaries.path.ping_url: must be an http(s) URL']);
});

test('the source name "canary" is reserved; a ping_url that names an endpoint (/start) is refused', () => {
  const yaml = `sources:\n  canary: { token: abcdefghijklmnop }\nmethods:\n  hook: { type: webhook, url: "http://127.0.0.1:9/x" }\ncanaries:\n  path: { methods: [hook], ping_url: "https://hc-ping.com/0b5f3e1a-8d2b-4c7e-9a10-2b3c4d5e6f70/start" }\n`;
  assert.throws(
    () => parseConfig(yaml, {}, () => ''),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.issues.some((i) => i === 'sources.canary: the source name "canary" is reserved for the heartbeat canary; choose another name') &&
      e.issues.some((i) => i.startsWith('canaries.path.ping_url: ')),
  );
});

test('checks: the documented example parses to the typed checks; defaults fill the rest', () => {
  const yaml = [
    'checks:',
    '  nightly-backup:',
    '    schedule: "0 3 * * *"',
    '    tz: Europe/Berlin',
    '    grace: 1h',
    '    labels: { team: storage, severity: critical }',
    '  hourly:',
    '    period: 1h',
    '    grace: 5m',
    '    uuid: 9C4D4B0E-5C1A-4F7E-8A63-2B0C5E1D7F10',
    '  plain:',
    'pings:',
    '  ping_key: ${PING_KEY}',
    '  body_limit: 10kB',
    '  after_downtime: fire',
    '  rate_limit: 60/min',
  ].join('\n');
  const c = parseConfig(yaml.replace('  plain:', '  plain: {}'), { PING_KEY: 'k3y-for-slugs' }, noFiles);
  assert.deepEqual(c.checks, [
    { name: 'nightly-backup', schedule: { kind: 'cron', expr: '0 3 * * *', tz: 'Europe/Berlin' }, graceMs: 3_600_000, labels: { team: 'storage', severity: 'critical' } },
    { name: 'hourly', uuid: '9c4d4b0e-5c1a-4f7e-8a63-2b0c5e1d7f10', schedule: { kind: 'period', periodMs: 3_600_000 }, graceMs: 300_000, labels: {} },
    { name: 'plain', schedule: { kind: 'period', periodMs: 86_400_000 }, graceMs: 3_600_000, labels: {} },
  ]);
  assert.equal(c.pings.pingKey?.reveal(), 'k3y-for-slugs');
  assert.deepEqual({ ...c.pings, pingKey: undefined }, { pingKey: undefined, bodyLimitBytes: 10_000, afterDowntime: 'fire', rateLimit: { perSecond: 1, burst: 1 } });
  assert.ok(!JSON.stringify(c.pings).includes('k3y') && !inspect(c.pings, { depth: 5 }).includes('k3y'));
  const cron = parseConfig('checks: { a: { schedule: "@daily" } }\npings: { ping_key_file: /k, rate_limit: 10/s, rate_burst: 30 }', {}, files({ '/k': 'from-a-file-1\n' }));
  assert.deepEqual(cron.checks[0]!.schedule, { kind: 'cron', expr: '@daily', tz: 'UTC' });
  assert.equal(cron.pings.pingKey?.reveal(), 'from-a-file-1');
  assert.deepEqual(cron.pings.rateLimit, { perSecond: 10, burst: 30 });
});

test('checks and pings: each error message, exactly', () => {
  const cases: [string, string][] = [
    ['checks: { a: { period: 1h, schedule: "0 3 * * *" } }', 'checks.a: set one of period or schedule, not both (a period counts from the last ping; a schedule names times)'],
    ['checks: { a: { schedule: "0 3 * *" } }', 'checks.a.schedule: invalid cron expression "0 3 * *": 4 fields, not the 5 of crontab (minute hour day-of-month month day-of-week)'],
    ['checks: { a: { schedule: "0 0 30 2 *" } }', 'checks.a.schedule: cron expression "0 0 30 2 *" never matches a date'],
    ['checks: { a: { schedule: "0 3 * * *", tz: Mars/Olympus } }', 'checks.a.tz: unknown time zone "Mars/Olympus" (use an IANA name such as "Europe/Berlin", or "UTC")'],
    ['checks: { a: { period: 1h, tz: UTC } }', 'checks.a.tz: is used with schedule only (a period has no time zone)'],
    ['checks: { a: { period: 500ms } }', 'checks.a.period: must be at least 1s'],
    ['checks: { a: { period: soon } }', 'checks.a.period: must be a duration like "10s" or "500ms"'],
    ['checks: { a: { grace: 0 } }', 'checks.a.grace: must be at least 1s'],
    ['checks: { a: { uuid: nope } }', 'checks.a.uuid: must be a UUID like 9c4d4b0e-5c1a-4f7e-8a63-2b0c5e1d7f10 (or leave it out: one is generated once and kept)'],
    ['checks: { a: { uuid: 9c4d4b0e-5c1a-4f7e-8a63-2b0c5e1d7f10 }, b: { uuid: 9C4D4B0E-5C1A-4F7E-8A63-2B0C5E1D7F10 } }', 'checks.b.uuid: same uuid as checks.a; every check needs its own'],
    ['checks: { "a b": {} }', 'checks.a b: invalid name; use letters, digits, "_", "." or "-", starting with a letter or digit'],
    ['checks: { a: { labels: { port: 80 } } }', 'checks.a.labels.port: must be a string'],
    ['checks: { a: { periode: 1h } }', 'checks.a.periode: unknown field'],
    ['checks: [a]', 'checks: must be a mapping'],
    ['pings: { ping_key: short }', 'pings.ping_key: must be at least 8 characters of letters, digits, "-", "_", "." or "~" (it is part of the ping URLs)'],
    ['pings: { ping_key: "with/slash-x" }', 'pings.ping_key: must be at least 8 characters of letters, digits, "-", "_", "." or "~" (it is part of the ping URLs)'],
    ['pings: { ping_key: 9c4d4b0e-5c1a-4f7e-8a63-2b0c5e1d7f10 }', 'pings.ping_key: must not be a UUID (a /ping/<uuid>/… URL names a check by its UUID)'],
    ['pings: { ping_key: abcdefghij, ping_key_file: /k }', 'pings: set at most one of ping_key or ping_key_file'],
    ['pings: { ping_key_file: /nope }', 'pings.ping_key_file: cannot read /nope: ENOENT: no such file or directory'],
    ['pings: { body_limit: lots }', 'pings.body_limit: must be a byte size like 1048576, "512KiB", "1MiB" or "10MB"'],
    ['pings: { after_downtime: ignore }', 'pings.after_downtime: must be one of: restart_grace, fire'],
    ['pings: { rate_limit: fast }', 'pings.rate_limit: must be a rate like "5/s" or "60/min"'],
    ['pings: { rate_burst: 0 }', 'pings.rate_burst: must be a whole number >= 1'],
    ['sources: { checks: { token: abcdefghijklmnop } }', 'sources.checks: the source name "checks" is reserved for the heartbeat checks\' alarms; choose another name'],
  ];
  for (const [yaml, issue] of cases) assert.deepEqual(issuesOf(yaml), [issue], yaml);
});

test('metrics: a bearer token for /metrics, inline or from a file; none by default', () => {
  const file = join(tmp, 'metrics.token');
  writeFileSync(file, 'scrape-token-123\n');
  assert.equal(parseConfig('metrics: { token: scrape-token-456 }', {}, noFiles).metrics.token?.reveal(), 'scrape-token-456');
  const fromFile = parseConfig(`metrics: { token_file: ${file} }`, {}, readTextFile);
  assert.equal(fromFile.metrics.token?.reveal(), 'scrape-token-123');
  // Printed, it is redacted like every secret.
  assert.doesNotMatch(JSON.stringify(fromFile.metrics) + inspect(fromFile.metrics, { depth: 5 }), /scrape-token/);
  assert.equal(parseConfig('{}', {}, noFiles).metrics.token, undefined);
});

test('statsd: absent by default; monasca\'s defaults when present', () => {
  assert.equal(parseConfig('{}', {}, noFiles).statsd, undefined);
  assert.deepEqual(parseConfig('statsd: {}', {}, noFiles).statsd, { host: '127.0.0.1', port: 8125, prefix: 'monasca.notification.', tags: {} });
  assert.deepEqual(
    parseConfig('statsd: { host: stats.example, port: "9125", prefix: "", tags: { service: monitoring, region: eu-1 } }', {}, noFiles).statsd,
    { host: 'stats.example', port: 9125, prefix: '', tags: { service: 'monitoring', region: 'eu-1' } },
  );
});

test('metrics and statsd: each error message, exactly', () => {
  const cases: [string, string][] = [
    ['metrics: { token: abcdefgh, token_file: /t }', 'metrics: set at most one of token or token_file'],
    ['metrics: { token: "" }', 'metrics.token: must not be empty'],
    ['metrics: { token_file: /nope }', 'metrics.token_file: cannot read /nope: ENOENT: no such file or directory'],
    ['metrics: { tokens: [a] }', 'metrics.tokens: unknown field'],
    ['sources: { s: { token: shared-token-1 } }\nmetrics: { token: shared-token-1 }', 'metrics.token: is also a source token; the metrics token must differ from every source token'],
    ['admin: { tokens: [shared-token-2] }\nmetrics: { token: shared-token-2 }', 'metrics.token: is also an admin token; the metrics token must differ from the admin tokens'],
    ['statsd: { port: 0 }', 'statsd.port: must be a whole number >= 1'],
    ['statsd: { port: 70000 }', 'statsd.port: must be a port number from 1 to 65535'],
    ['statsd: { host: "" }', 'statsd.host: must not be empty'],
    ['statsd: { prefix: 3 }', 'statsd.prefix: must be a string'],
    ['statsd: { tags: { "a b": x } }', 'statsd.tags.a b: invalid tag name; use letters, digits, "_", ".", "-" or "/", starting with a letter or "_"'],
    ['statsd: { tags: { env: "a,b" } }', 'statsd.tags.env: must not contain "|", ",", "#" or a line break'],
    ['statsd: { server: x }', 'statsd.server: unknown field'],
    ['statsd: [x]', 'statsd: must be a mapping'],
  ];
  for (const [yaml, issue] of cases) assert.deepEqual(issuesOf(yaml), [issue], yaml);
});

test('externalMethods: methods named but not defined are collected, not errors (strict by default)', () => {
  const yaml = `
methods:
  ops: { type: webhook, url: "https://hooks.example/ops" }
routes:
  - methods: [ops]
  - match: { severity: critical }
    methods: [pager, ops, chat]
canaries:
  c1: { methods: [pager], ping_url: "https://hc-ping.com/abc" }
`;
  assert.deepEqual(issuesOf(yaml), [
    'routes[1].methods[0]: unknown method "pager"; define it under methods or use one of: log, ops',
    'routes[1].methods[2]: unknown method "chat"; define it under methods or use one of: log, ops',
    'canaries.c1.methods[0]: unknown method "pager"; define it under methods or use one of: log, ops',
  ]);
  const c = parseConfig(yaml, {}, noFiles, undefined, { externalMethods: true });
  assert.deepEqual(c.externalMethodRefs, [
    { path: 'routes[1].methods[0]', name: 'pager' },
    { path: 'routes[1].methods[2]', name: 'chat' },
    { path: 'canaries.c1.methods[0]', name: 'pager' },
  ]);
  assert.deepEqual(c.routes[1]!.methods, ['pager', 'ops', 'chat']);
  assert.deepEqual(parseConfig('methods: { ops: { type: log } }\nroutes: [{ methods: [ops] }]', {}, noFiles, undefined, { externalMethods: true }).externalMethodRefs, []);
  // A name listed twice is still an error.
  try {
    parseConfig('routes: [{ methods: [pager, pager] }]', {}, noFiles, undefined, { externalMethods: true });
    assert.fail('expected a ConfigError');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(e.issues, ['routes[0].methods[1]: method "pager" is listed twice']);
  }
  // Through loadConfig too.
  const file = join(tmp, 'external.yaml');
  writeFileSync(file, 'routes: [{ methods: [pager] }]\n');
  assert.deepEqual(loadConfig(file, {}, readTextFile, { externalMethods: true }).externalMethodRefs, [{ path: 'routes[0].methods[0]', name: 'pager' }]);
  assert.throws(() => loadConfig(file, {}, readTextFile), /routes\[0\]\.methods\[0\]: unknown method "pager"/);
});
