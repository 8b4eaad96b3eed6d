/**
 * @module config/parse
 * YAML text → validated, deeply frozen Config. Pure apart from the injected readFile.
 * Steps: YAML → ${ENV} substitution on string values → zod schema (schema.ts) →
 * secrets (x / x_file), per-method delivery settings, cross-field checks → freeze.
 * Every problem becomes one "<dotted.path>: <message>" line of a ConfigError.
 * Relative paths (data_dir, every x_file) resolve against `baseDir`, the config file's directory.
 */
import { isAbsolute, resolve } from 'node:path';
import YAML from 'yaml';
import * as z from 'zod';
import { channelDescriptor } from '../channels/registry.ts';
import { redact, Secret } from '../lib/secret.ts';
import { defaultConfig } from './defaults.ts';
import { ConfigError } from './errors.ts';
import { deepFreeze } from '../lib/freeze.ts';
import { INGEST_FORMATS } from '../ingest/formats.ts';
import { checkHttpUrl } from '../channels/settings.ts';
import { checkSigningSecret } from '../channels/signing.ts';
import { checkPingUrl } from '../canary/ping.ts';
import { buildKafka, type KafkaBuildContext } from './kafka.ts';
import { buildChecks, buildPings, type ChecksBuildContext } from './checks.ts';
import { checkTemplates, isTimeZone, TEMPLATE_PARTS, type TemplatePart } from '../render/template.ts';
import type { RateLimit } from '../dispatch/rate-limit.ts';
import { formatPath, parsePart, parseRaw, type Path, type RawConfig, type RawMethod } from './schema.ts';
import type { CanaryConfig, Config, DeliverySettings, ExternalMethodRef, MethodConfig, RouteConfig, SourceConfig, StatsdConfig } from './types.ts';

export type Env = Readonly<Record<string, string | undefined>>;
export type ReadFile = (path: string) => string;

export interface ParseOptions {
  /**
   * A route or canary may name a method the file does not define (one defined elsewhere, e.g. through the
   * admin API): it is collected in `externalMethodRefs` for the caller to check, instead of being an
   * error. Default false: every method named must be defined in the file.
   */
  readonly externalMethods?: boolean;
}

export { ConfigError };

/**
 * `baseDir`: the directory that relative paths in the document (data_dir, every x_file) resolve against,
 * the config file's (loadConfig passes it). Without it they are left as written: relative to the working
 * directory.
 */
export function parseConfig(yamlText: string, env: Env, readFile: ReadFile, baseDir?: string, options: ParseOptions = {}): Config {
  // A config is parsed once (and on reload): compiling zod's fast paths would cost more than they save.
  const jitless = z.config().jitless;
  z.config({ jitless: true });
  try {
    return parseConfigOnce(yamlText, env, readFile, baseDir, options);
  } finally {
    z.config({ jitless });
  }
}

function parseConfigOnce(yamlText: string, env: Env, readFile: ReadFile, baseDir: string | undefined, options: ParseOptions): Config {
  const issues = new Issues();
  const doc = expandEnv(parseYaml(yamlText) ?? {}, [], env, issues);
  const raw = parseRaw(doc);
  if (!raw.ok) {
    for (const i of raw.issues) issues.add(i.path, i.message);
    throw new ConfigError(issues.lines);
  }
  const path: ResolvePath = (p) => (baseDir === undefined || isAbsolute(p) ? p : resolve(baseDir, p));
  const external: ExternalMethodRef[] | undefined = options.externalMethods ? [] : undefined;
  const config = build(raw.value, path, new Secrets(readFile, path, issues), issues, external);
  if (issues.lines.length > 0) throw new ConfigError(issues.lines);
  return deepFreeze(config);
}


/** "ENOENT: no such file or directory, open '/x'" → "ENOENT: no such file or directory". */
export function describeReadError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/, \w+ '.*'$/, '');
}

// ---- issues ----------------------------------------------------------------------------------

class Issues {
  readonly lines: string[] = [];
  readonly #skipped: string[] = [];

  add(path: string | Path, message: string): void {
    const p = typeof path === 'string' ? path : formatPath(path);
    const under = (s: string) => p === s || p.startsWith(`${s}.`) || p.startsWith(`${s}[`);
    if (!this.#skipped.some(under)) this.lines.push(`${p}: ${message}`);
  }

  /** Ignore later issues at or under this path: its value is already reported as unusable. */
  skip(path: Path): void {
    this.#skipped.push(formatPath(path));
  }
}

// ---- YAML and ${ENV} ---------------------------------------------------------------------------

function parseYaml(text: string): unknown {
  const doc = YAML.parseDocument(text);
  // Only the first problem (later ones are mostly its echoes), and only the first line of it:
  // the pretty message goes on with a snippet of the source, which may hold a secret.
  const first = [...doc.errors, ...doc.warnings][0];
  if (first) {
    const line = first.message
      .split('\n')[0]!
      .replace(/:$/, '')
      .replace(/( in YAML stream): ".*"(?= at line)/, '$1'); // the quoted token may be a secret
    const at = first.pos[0];
    const hint = line.startsWith('Unresolved tag')
      ? '; quote values that start with "!"'
      : text.startsWith('${', at - 1) ? '; inside { } or [ ] write "${NAME}" in quotes' : '';
    throw new ConfigError([`config: invalid YAML: ${line}${hint}`]);
  }
  try {
    return doc.toJS();
  } catch (e) {
    throw new ConfigError([`config: invalid YAML: ${e instanceof Error ? e.message : String(e)}`]);
  }
}

const REF_RE = /\$\$\{|\$\{(?:([^}]*)\})?/g;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Substitute ${NAME} in every string value ("$${" is a literal "${"). Keys are left alone. */
function expandEnv(value: unknown, path: Path, env: Env, issues: Issues): unknown {
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, [...path, i], env, issues));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnv(v, [...path, k], env, issues)]));
  }
  if (typeof value !== 'string') return value;
  const problems: string[] = [];
  const out = value.replace(REF_RE, (all, name: string | undefined) => {
    if (all === '$${') return '${';
    if (name === undefined) problems.push('unterminated "${"; write "$${" for a literal "${"');
    else if (!ENV_NAME_RE.test(name)) problems.push('write ${NAME} with a variable name, or "$${" for a literal "${"');
    else if (env[name] === undefined) problems.push(`environment variable ${name} is not set`);
    else return env[name]!;
    return all;
  });
  for (const p of problems) issues.add(path, p);
  if (problems.length > 0) issues.skip(path);
  return out;
}

// ---- secrets -----------------------------------------------------------------------------------

/** A path as written in the document → the path to use (see parseConfig's baseDir). */
type ResolvePath = (path: string) => string;
type Check = (value: string) => string | undefined;

class Secrets {
  constructor(
    private readonly readFile: ReadFile,
    private readonly path: ResolvePath,
    private readonly issues: Issues,
  ) {}

  /** A file that is not a secret (a CA certificate): its text. Throws as readFile does. */
  readText(file: string): string {
    return this.readFile(file);
  }

  /** `key` or `key_file` in obj (exactly one if required, else at most one) → Secret; undefined if absent or invalid. */
  read(path: Path, obj: object, key: string, opts: { required: boolean; check?: Check }): Secret | undefined {
    const fields = obj as Record<string, string | undefined>;
    const inline = fields[key];
    const written = fields[`${key}_file`];
    const file = written && this.path(written);
    if (inline !== undefined && file !== undefined) {
      this.issues.add(path, `set ${opts.required ? 'exactly' : 'at most'} one of ${key} or ${key}_file`);
      return undefined;
    }
    if (inline === undefined && file === undefined) {
      if (opts.required) this.issues.add(path, `set exactly one of ${key} or ${key}_file`);
      return undefined;
    }
    const at = [...path, file !== undefined ? `${key}_file` : key];
    if (file === '') {
      this.issues.add(at, 'must not be empty'); // resolved, "" would name the config's directory
      return undefined;
    }
    let value: string;
    if (file !== undefined) {
      try {
        value = this.readFile(file).trimEnd();
      } catch (e) {
        this.issues.add(at, `cannot read ${file}: ${describeReadError(e)}`);
        return undefined;
      }
    } else value = inline!;
    const problem = value === '' ? (file !== undefined ? `${file} is empty` : 'must not be empty') : opts.check?.(value);
    if (problem) this.issues.add(at, redact(problem, [new Secret(value)])); // a check must not echo the value; make sure
    return problem ? undefined : new Secret(value);
  }
}

// ---- build -------------------------------------------------------------------------------------

/** Placeholder for a required secret that failed: the config is never returned when there are issues. */
const MISSING = new Secret('');

/** `external`: where method names the file does not define are collected (absent: they are errors). */
function build(raw: RawConfig, path: ResolvePath, secrets: Secrets, issues: Issues, external: ExternalMethodRef[] | undefined): Config {
  const d = raw.delivery;
  const delivery: Config['delivery'] = {
    concurrency: d.concurrency,
    timeoutMs: d.timeout,
    maxAttempts: d.max_attempts,
    maxAgeMs: d.max_age,
    backoffBaseMs: d.backoff_base,
    backoffCapMs: d.backoff_cap,
    retryAfterCapMs: d.retry_after_cap,
    batchSize: d.batch_size,
    pollIntervalMs: d.poll_interval,
    shutdownGraceMs: d.shutdown_grace,
    thread: d.thread,
  };
  checkBackoff(['delivery'], delivery, issues);

  const sources = buildSources(raw, secrets, issues);
  const rawMethods: Record<string, RawMethod> = { log: { type: 'log' }, ...raw.methods };
  const timezone = raw.templates.timezone;
  if (!isTimeZone(timezone)) issues.add(['templates', 'timezone'], `unknown time zone ${JSON.stringify(timezone)}; use an IANA name like UTC or Europe/Berlin`);
  const methods: Record<string, MethodConfig> = {};
  for (const [name, m] of Object.entries(rawMethods)) {
    methods[name] = { ...buildMethod(name, m, delivery, secrets, issues), ...buildTemplates(name, m, timezone, path, secrets, issues) };
  }

  const config = {
    listen: raw.listen,
    // Not written: the default, in the working directory (a path in the file resolves against the file's).
    dataDir: raw.data_dir === undefined ? defaultConfig().dataDir : path(raw.data_dir),
    ...(raw.data_dir !== undefined && !isAbsolute(raw.data_dir) && resolve(raw.data_dir) !== resolve(path(raw.data_dir)) && { dataDirFromCwd: resolve(raw.data_dir) }),
    logLevel: raw.log_level,
    sources,
    methods,
    routes: buildRoutes(raw, methods, issues, external),
    ingest: {
      maxBodyBytes: raw.ingest.max_body,
      maxBatch: raw.ingest.max_batch,
      maxPending: raw.ingest.max_pending,
      idempotencyTtlMs: raw.ingest.idempotency_ttl,
      formats: buildFormatOptions(raw, issues),
    },
    database: { synchronous: raw.database.synchronous, retentionMs: raw.database.retention },
    delivery,
    canaries: buildCanaries(raw, methods, secrets, issues, external),
    checks: buildChecks(raw.checks, checksContext(secrets, issues)),
    pings: buildPings(raw.pings, checksContext(secrets, issues)),
    lifecycle: { notifyUnknownResolved: raw.lifecycle.notify_unknown_resolved },
    ...checkReplayWindow(raw, sources, issues),
    admin: { tokens: buildAdminTokens(raw, sources, path, secrets, issues) },
    ...(raw.kafka && { kafka: buildKafka(raw.kafka, kafkaContext(path, secrets, issues)) }),
    externalMethodRefs: external ?? [],
  };
  return {
    ...config,
    metrics: buildMetrics(raw, sources, config.admin.tokens, secrets, issues),
    ...(raw.statsd && { statsd: buildStatsd(raw.statsd) }),
  };
}

/** metrics.token or metrics.token_file: a bearer token for `/metrics`, none of the other tokens (a scraper holds it). */
function buildMetrics(raw: RawConfig, sources: readonly SourceConfig[], adminTokens: readonly Secret[], secrets: Secrets, issues: Issues): Config['metrics'] {
  const token = secrets.read(['metrics'], raw.metrics, 'token', { required: false });
  if (!token) return {};
  const at = ['metrics', raw.metrics.token !== undefined ? 'token' : 'token_file'];
  const same = (s: Secret | undefined) => s?.reveal() === token.reveal();
  if (sources.some((s) => same(s.token))) issues.add(at, 'is also a source token; the metrics token must differ from every source token');
  else if (adminTokens.some(same)) issues.add(at, 'is also an admin token; the metrics token must differ from the admin tokens');
  return { token };
}

function buildStatsd(s: NonNullable<RawConfig['statsd']>): StatsdConfig {
  return { host: s.host, port: s.port, prefix: s.prefix, tags: s.tags };
}

/** What config/checks needs of this parser. */
function checksContext(secrets: Secrets, issues: Issues): ChecksBuildContext {
  return { secret: (at, obj, key, opts) => secrets.read(at, obj, key, opts), add: (at, message) => issues.add(at, message) };
}

/** What config/kafka needs of this parser. */
function kafkaContext(path: ResolvePath, secrets: Secrets, issues: Issues): KafkaBuildContext {
  return {
    secret: (at, obj, key, opts) => secrets.read(at, obj, key, opts),
    file: (at, written) => {
      try {
        return secrets.readText(path(written));
      } catch (e) {
        issues.add(at, `cannot read ${path(written)}: ${describeReadError(e)}`);
        return undefined;
      }
    },
    add: (at, message) => issues.add(at, message),
  };
}

/** Each format's options, validated by the format's own schema (with its defaults). */
function buildFormatOptions(raw: RawConfig, issues: Issues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of INGEST_FORMATS) {
    let given: unknown = raw.ingest.formats[f.name] ?? {};
    // ingest.zeebe_severity is the older spelling of ingest.formats.zeebe.severity.
    if (f.name === 'zeebe' && raw.ingest.zeebe_severity !== undefined && isPlainObject(given)) {
      if ('severity' in given) issues.add(['ingest', 'zeebe_severity'], 'set ingest.formats.zeebe.severity only (zeebe_severity is its older spelling)');
      given = { ...given, severity: raw.ingest.zeebe_severity };
    }
    const r = parsePart(f.options, given, ['ingest', 'formats', f.name]);
    if (r.ok) out[f.name] = r.value;
    else for (const i of r.issues) issues.add(i.path, i.message);
  }
  return out;
}

function buildSources(raw: RawConfig, secrets: Secrets, issues: Issues): SourceConfig[] {
  const owners = new Map<string, string>(); // token → source name
  const users = new Map<string, string>(); // basic auth user name → source name
  const signers = new Map<string, string>(); // signing secret → source name
  return Object.entries(raw.sources).map(([name, s]) => {
    const at = ['sources', name];
    // The heartbeat canary's own alarms carry this source (receivers may filter on it).
    if (name === 'canary') issues.add(at, 'the source name "canary" is reserved for the heartbeat canary; choose another name');
    // The heartbeat checks' alarms carry this one.
    if (name === 'checks') issues.add(at, 'the source name "checks" is reserved for the heartbeat checks\' alarms; choose another name');
    const token = secrets.read(at, s, 'token', { required: false });
    const owner = token && owners.get(token.reveal());
    if (owner !== undefined) {
      const key = s.token !== undefined ? 'token' : 'token_file';
      issues.add([...at, key], `same token as sources.${owner}; every source needs its own token`);
    } else if (token) owners.set(token.reveal(), name);
    let basicAuth: SourceConfig['basicAuth'];
    if (s.basic_auth) {
      const password = secrets.read([...at, 'basic_auth'], s.basic_auth, 'password', { required: true });
      if (s.basic_auth.username.includes(':')) issues.add([...at, 'basic_auth', 'username'], 'must not contain ":" (basic auth splits user name and password there)');
      const other = users.get(s.basic_auth.username);
      if (other !== undefined) issues.add([...at, 'basic_auth', 'username'], `same user name as sources.${other}; every source needs its own`);
      users.set(s.basic_auth.username, name);
      if (password) basicAuth = { username: s.basic_auth.username, password };
    }
    const signing = [
      secrets.read(at, s, 'signing_secret', { required: false, check: checkSigningSecret }),
      secrets.read(at, s, 'previous_signing_secret', { required: false, check: checkSigningSecret }),
    ];
    if (signing[0] === undefined && signing[1] !== undefined) issues.add([...at, 'previous_signing_secret'], 'is used with signing_secret only (the one that replaces it)');
    const signingSecrets = signing.filter((x): x is Secret => x !== undefined);
    // A signature names its source by the secret that makes it: no two sources may share one.
    signing.forEach((secret, i) => {
      if (!secret) return;
      const key = i === 0 ? 'signing_secret' : 'previous_signing_secret';
      const owner = signers.get(secret.reveal());
      if (owner !== undefined && owner !== name) issues.add([...at, key], `same secret as a signing secret of sources.${owner}; every source needs its own`);
      signers.set(secret.reveal(), name);
    });
    if (!token && !basicAuth && signingSecrets.length === 0 && !issues.lines.some((l) => l.startsWith(`sources.${name}`))) {
      issues.add(at, 'set a credential: token (or token_file), basic_auth, or signing_secret (or signing_secret_file)');
    }
    return { name, ...(token && { token }), ...(basicAuth && { basicAuth }), signingSecrets };
  });
}

function buildMethod(name: string, m: RawMethod, global: DeliverySettings, secrets: Secrets, issues: Issues): MethodConfig {
  const path = ['methods', name];
  // The schema admits only registered types; a type without a descriptor is an error, never a fallback.
  const channel = channelDescriptor(m.type);
  if (!channel) throw new Error(`methods.${name}: no channel for type ${JSON.stringify(m.type)}`);
  const fields = Object.fromEntries(Object.keys(channel.fields.shape).map((k) => [k, m[k]]));
  const before = issues.lines.length;
  const resolved = Object.fromEntries(
    Object.entries(channel.secrets).map(([k, spec]) => [k, secrets.read(path, m, k, { required: spec.required, ...(spec.check && { check: spec.check }) })]),
  );
  // A channel builds its settings from valid secrets only (a required one is then never undefined).
  const secretValues = Object.values(resolved).filter((x): x is Secret => x !== undefined);
  const settings =
    issues.lines.length > before
      ? {}
      : channel.settings(fields, resolved, (field, message) => issues.add([...path, ...field.split('.')], redact(message, secretValues)));
  const delivery: DeliverySettings = {
    concurrency: m.concurrency ?? global.concurrency,
    timeoutMs: m.timeout ?? global.timeoutMs,
    maxAttempts: m.max_attempts ?? global.maxAttempts,
    maxAgeMs: m.max_age ?? global.maxAgeMs,
    backoffBaseMs: m.backoff_base ?? global.backoffBaseMs,
    backoffCapMs: m.backoff_cap ?? global.backoffCapMs,
    retryAfterCapMs: m.retry_after_cap ?? global.retryAfterCapMs,
    ...rateLimitOf(m, channel.rateLimit, path, issues),
  };
  if (m.backoff_base !== undefined || m.backoff_cap !== undefined) checkBackoff(path, delivery, issues);
  const repeat = typeof m.repeat_interval === 'number' ? { repeatIntervalMs: m.repeat_interval } : {};
  return { name, type: m.type, settings, delivery, ...repeat };
}

/**
 * A method's `template:` overrides (each part inline or `*_file`), for the parts its channel renders, checked
 * with a sample alarm: a template that does not compile, throws, calls an unknown helper or (a JSON part)
 * does not give JSON is an error naming the method, the part and the line.
 */
function buildTemplates(
  name: string,
  m: RawMethod,
  timezone: string,
  path: ResolvePath,
  secrets: Secrets,
  issues: Issues,
): Pick<MethodConfig, 'template' | 'timezone'> {
  const channel = channelDescriptor(m.type)?.templates;
  const given = (m.template ?? {}) as Record<string, string | undefined>;
  const at = ['methods', name, 'template'];
  const overrides: Partial<Record<TemplatePart, string>> = {};
  for (const part of TEMPLATE_PARTS) {
    const inline = given[part];
    const file = given[`${part}_file`];
    if (inline === undefined && file === undefined) continue;
    if (!channel?.parts.includes(part)) {
      const uses = channel?.parts.length ? `it uses: ${channel.parts.join(', ')}` : 'it has none';
      issues.add([...at, inline !== undefined ? part : `${part}_file`], `the ${m.type} channel has no ${part} template; ${uses}`);
      continue;
    }
    if (inline !== undefined && file !== undefined) {
      issues.add([...at, part], `set at most one of ${part} or ${part}_file`);
      continue;
    }
    if (file !== undefined) {
      try {
        overrides[part] = secrets.readText(path(file));
      } catch (e) {
        issues.add([...at, `${part}_file`], `cannot read ${path(file)}: ${describeReadError(e)}`);
      }
    } else overrides[part] = inline!;
  }
  if (channel) {
    for (const [part, problem] of checkTemplates(channel, overrides, isTimeZone(timezone) ? timezone : 'UTC')) {
      const written = given[part] !== undefined ? part : given[`${part}_file`] !== undefined ? `${part}_file` : `${part} (the ${m.type} channel's default)`;
      issues.add([...at, written], problem);
    }
  }
  return { ...(Object.keys(overrides).length > 0 && { template: overrides }), ...(channel && { timezone }) };
}

/** The method's rate limit: its own `rate_limit` (and `rate_burst`), else its channel's default; `off`: none. */
function rateLimitOf(m: RawMethod, channelDefault: RateLimit | undefined, path: Path, issues: Issues): { rateLimit?: RateLimit } {
  const rate = m.rate_limit;
  if (rate === 'off') {
    if (m.rate_burst !== undefined) issues.add([...path, 'rate_burst'], 'has no effect with rate_limit: off');
    return {};
  }
  if (rate === undefined) {
    if (channelDefault === undefined) {
      if (m.rate_burst !== undefined) issues.add([...path, 'rate_burst'], 'needs rate_limit (this channel has no default rate limit)');
      return {};
    }
    return { rateLimit: m.rate_burst === undefined ? channelDefault : { ...channelDefault, burst: m.rate_burst } };
  }
  // A burst of one second's worth of sends (at least one) unless given.
  return { rateLimit: { perSecond: rate, burst: m.rate_burst ?? Math.max(1, Math.floor(rate)) } };
}

function checkBackoff(path: Path, d: DeliverySettings, issues: Issues): void {
  if (d.backoffCapMs < d.backoffBaseMs) issues.add(path, 'backoff_cap must be at least backoff_base');
}

/**
 * A list of method names (a route's, a canary's): each defined (or `log`), each at most once. With
 * `external`, a name the file does not define is collected there instead of being an error.
 */
function checkMethodList(path: Path, list: readonly string[], methods: Record<string, MethodConfig>, issues: Issues, external: ExternalMethodRef[] | undefined): void {
  const known = Object.keys(methods).sort().join(', ');
  list.forEach((m, j) => {
    const at = [...path, j];
    const defined = Object.hasOwn(methods, m);
    if (!defined && !external) issues.add(at, `unknown method ${JSON.stringify(m)}; define it under methods or use one of: ${known}`);
    else if (list.indexOf(m) !== j) issues.add(at, `method ${JSON.stringify(m)} is listed twice`);
    else if (!defined) external!.push({ path: formatPath(at), name: m });
  });
}

function buildRoutes(raw: RawConfig, methods: Record<string, MethodConfig>, issues: Issues, external: ExternalMethodRef[] | undefined): RouteConfig[] {
  return raw.routes.map((r, i) => {
    checkMethodList(['routes', i, 'methods'], r.methods, methods, issues, external);
    const { labels, ...fields } = r.match;
    const match: RouteConfig['match'] = { ...withoutUndefined(fields), labels };
    const at = ['routes', i];
    if (r.group_by === undefined) {
      for (const k of ['group_wait', 'group_interval'] as const) if (r[k] !== undefined) issues.add([...at, k], 'is used with group_by only');
    }
    return {
      match,
      methods: r.methods,
      continue: r.continue,
      ...(r.repeat_interval !== undefined && { repeatIntervalMs: r.repeat_interval }),
      ...(r.min_state_interval !== undefined && { minStateIntervalMs: r.min_state_interval }),
      // Alertmanager's defaults: 30s to gather a new group, 5m between two notifications of one group.
      ...(r.group_by !== undefined && { group: { by: r.group_by, waitMs: r.group_wait ?? 30_000, intervalMs: r.group_interval ?? 300_000 } }),
    };
  });
}

/** A signed request's id is remembered for ingest.idempotency_ttl: at least the signatures' tolerance, or a replay would pass. */
function checkReplayWindow(raw: RawConfig, sources: readonly SourceConfig[], issues: Issues): Record<string, never> {
  if (sources.some((s) => s.signingSecrets.length > 0) && raw.ingest.idempotency_ttl < 5 * 60_000) {
    issues.add(['ingest', 'idempotency_ttl'], 'must be at least 5m while a source has a signing_secret (a signed request is remembered that long to refuse its replay)');
  }
  return {};
}

/** admin.tokens and admin.tokens_file (one token per line): none may be a source's token. */
function buildAdminTokens(raw: RawConfig, sources: readonly SourceConfig[], path: ResolvePath, secrets: Secrets, issues: Issues): Secret[] {
  const written = [...(raw.admin.tokens ?? [])];
  if (raw.admin.tokens_file !== undefined) {
    try {
      written.push(...secrets.readText(path(raw.admin.tokens_file)).split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')));
    } catch (e) {
      issues.add(['admin', 'tokens_file'], `cannot read ${path(raw.admin.tokens_file)}: ${describeReadError(e)}`);
    }
  }
  const sourceTokens = new Set(sources.flatMap((s) => (s.token ? [s.token.reveal()] : [])));
  written.forEach((t, i) => {
    if (sourceTokens.has(t)) issues.add(['admin', 'tokens', i], 'is also a source token; admin tokens must differ from every source token');
  });
  return [...new Set(written)].map((t) => new Secret(t));
}

function buildCanaries(raw: RawConfig, methods: Record<string, MethodConfig>, secrets: Secrets, issues: Issues, external: ExternalMethodRef[] | undefined): CanaryConfig[] {
  return Object.entries(raw.canaries).map(([name, c]) => {
    const path = ['canaries', name];
    checkMethodList([...path, 'methods'], c.methods, methods, issues, external);
    const pingUrl = secrets.read(path, c, 'ping_url', { required: true, check: (v) => checkHttpUrl(v) ?? checkPingUrl(v) });
    for (const label of ['tocsin_canary', 'tocsin_canary_run']) {
      if (Object.hasOwn(c.labels, label)) issues.add([...path, 'labels', label], 'is set by tocsin on every canary alarm (the canary\'s name and its run id); choose another label');
    }
    return {
      name,
      intervalMs: c.interval,
      methods: c.methods,
      pingUrl: pingUrl ?? MISSING,
      maxLatencyMs: c.max_latency,
      resolve: c.resolve,
      labels: c.labels,
      affectsReadiness: c.affects_readiness,
      via: c.via,
      ...canaryTopic(raw, name, c, issues),
    };
  });
}

/** A canary's Kafka topic: given (one of kafka.topics of format alarm), or the first such topic. */
function canaryTopic(raw: RawConfig, name: string, c: RawConfig['canaries'][string], issues: Issues): { topic?: string } {
  const at = ['canaries', name];
  if (c.via !== 'kafka') {
    if (c.topic !== undefined) issues.add([...at, 'topic'], 'is used with via: kafka only');
    return {};
  }
  if (!raw.kafka) {
    issues.add([...at, 'via'], 'via: kafka needs the kafka section (brokers and topics)');
    return {};
  }
  const alarmTopics = raw.kafka.topics.filter((t) => t.format === 'alarm' || t.format === 'generic').map((t) => t.name);
  if (c.topic !== undefined) {
    if (!alarmTopics.includes(c.topic)) issues.add([...at, 'topic'], `must be a topic of kafka.topics with format alarm (${alarmTopics.join(', ') || 'there is none'})`);
    return { topic: c.topic };
  }
  if (alarmTopics.length === 0) issues.add([...at, 'via'], 'via: kafka needs a topic of format alarm under kafka.topics to produce the canary alarm to');
  return alarmTopics[0] === undefined ? {} : { topic: alarmTopics[0] };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
