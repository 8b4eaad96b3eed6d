/**
 * @module config/schema
 * The zod schema of the raw YAML document (after ${ENV} substitution): structure, unknown keys,
 * scalar formats (durations, byte sizes, listen address, enums) and route matchers.
 * Secrets (x / x_file), file reads and cross-field checks are done afterwards in parse.ts.
 * Defaults are written as YAML values (`prefault`) so they pass through the same validation.
 */
import * as z from 'zod';
import { SEVERITIES } from '../domain/alarm.ts';
import { parseDuration } from '../lib/duration.ts';
import { MAX_TIMER_MS } from '../lib/clock.ts';
import { CHANNELS } from '../channels/registry.ts';
import { INGEST_FORMATS } from '../ingest/formats.ts';
import { compileMatcher, MatcherError } from './matcher.ts';
import { LISTEN_MSG, parseListen } from './listen.ts';
import { kafkaSchema } from './kafka-schema.ts';
import { parseRate } from '../dispatch/rate-limit.ts';
import { NAME_RE, UUID_RE } from './names.ts';

export { NAME_RE, UUID_RE };
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export const SYNCHRONOUS = ['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const;

const oneOf = (values: readonly string[]) => `must be one of: ${values.join(', ')}`;

// ---- scalars ---------------------------------------------------------------------------------

const DURATION_MSG = 'must be a duration like "10s" or "500ms"';


/**
 * A duration ("10s", "500ms", or a number of milliseconds) → milliseconds. `timer`: used as a setTimeout delay.
 * `atLeast`: the smallest value allowed, in milliseconds and as written in the message ("1s").
 */
function duration(opts: { positive?: boolean; timer?: boolean; atLeast?: readonly [ms: number, text: string] } = {}) {
  return z.union([z.number(), z.string()], { error: DURATION_MSG }).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) ctx.addIssue({ code: 'custom', message: DURATION_MSG });
    else if (opts.positive && ms <= 0) ctx.addIssue({ code: 'custom', message: 'must be greater than 0' });
    else if (opts.atLeast && ms < opts.atLeast[0]) ctx.addIssue({ code: 'custom', message: `must be at least ${opts.atLeast[1]}` });
    else if (opts.timer && ms > MAX_TIMER_MS) ctx.addIssue({ code: 'custom', message: 'must be at most 24d' });
    else return ms;
    return z.NEVER;
  });
}

/** A whole number (or a string of digits, e.g. from ${ENV}) that is at least `min`. */
function int(min: number) {
  const message = `must be a whole number >= ${min}`;
  return z.union([z.number(), z.string()], { error: message }).transform((v, ctx) => {
    const n = typeof v === 'number' ? v : /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
    if (Number.isSafeInteger(n) && n >= min) return n;
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  });
}

const BYTES_MSG = 'must be a byte size like 1048576, "512KiB", "1MiB" or "10MB"';
const BYTE_UNITS: Record<string, number> = {
  '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3,
};

/** A positive byte size: a number of bytes or "512KiB", "1MiB", "10MB". */
const bytes = z.union([z.number(), z.string()], { error: BYTES_MSG }).transform((v, ctx) => {
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v) : null;
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : 1;
  const n = typeof v === 'number' ? v : m && unit ? Math.round(Number(m[1]) * unit) : NaN;
  if (Number.isSafeInteger(n) && n > 0) return n;
  ctx.addIssue({ code: 'custom', message: BYTES_MSG });
  return z.NEVER;
});

const listen = z.string({ error: LISTEN_MSG }).transform((v, ctx) => {
  const r = parseListen(v);
  if (typeof r !== 'string') return r;
  ctx.addIssue({ code: 'custom', message: r });
  return z.NEVER;
});

/** A route match pattern, compiled. */
const matcher = z.string().transform((pattern, ctx) => {
  try {
    return compileMatcher(pattern);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: e instanceof MatcherError ? e.message : String(e) });
    return z.NEVER;
  }
});

const name = z.string().regex(NAME_RE, {
  error: 'invalid name; use letters, digits, "_", "." or "-", starting with a letter or digit',
});
const nonEmpty = z.string().min(1, { error: 'must not be empty' });
/** A section that may be written empty (`methods:` with everything commented out): null = absent. */
const section = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? undefined : v), schema);

// ---- sections --------------------------------------------------------------------------------

/** A source's credentials (read in parse.ts): a bearer token, basic auth, Standard Webhooks signing secrets; at least one. */
const source = z.strictObject({
  token: z.string().optional(),
  token_file: z.string().optional(),
  basic_auth: section(
    z.strictObject({ username: nonEmpty, password: z.string().optional(), password_file: z.string().optional() }).optional(),
  ),
  signing_secret: z.string().optional(),
  signing_secret_file: z.string().optional(),
  /** The secret being rotated out: signatures with either are accepted. */
  previous_signing_secret: z.string().optional(),
  previous_signing_secret_file: z.string().optional(),
});

const RATE_MSG = 'must be a rate like "1/s", "120/min" or "10/h", or "off"';

/** Per-method overrides of the delivery section (same formats as there). */
const deliveryOverrides = {
  concurrency: int(1).optional(),
  timeout: duration({ positive: true, timer: true }).optional(),
  max_attempts: int(1).optional(),
  max_age: duration().optional(),
  backoff_base: duration({ positive: true }).optional(),
  backoff_cap: duration({ positive: true }).optional(),
  retry_after_cap: duration().optional(),
  /** "1/s", "120/min", "10/h", or "off" (no default limit of the channel either). */
  rate_limit: z
    .string({ error: RATE_MSG })
    .transform((v, ctx) => {
      if (v.trim() === 'off') return 'off' as const;
      const r = parseRate(v);
      if (r !== undefined) return r;
      ctx.addIssue({ code: 'custom', message: RATE_MSG });
      return z.NEVER;
    })
    .optional(),
  rate_burst: int(1).optional(),
};

/** A method's `template:` overrides: each part inline or from a file (`text` or `text_file`). */
const template = z.strictObject(
  Object.fromEntries(['title', 'text', 'html', 'body'].flatMap((p) => [[p, z.string().optional()], [`${p}_file`, nonEmpty.optional()]])),
);

/** A method: `type` picks the channel; its fields (with its defaults), secrets (`x` or `x_file`) and delivery overrides follow. */
const channelMethods = CHANNELS.map((d) => {
  const fields = Object.fromEntries(
    Object.entries(d.fields.shape).map(([k, f]) => [k, k in d.defaults ? (f as z.ZodType).prefault(d.defaults[k]) : f]),
  );
  const secretKeys = Object.fromEntries(
    Object.keys(d.secrets).flatMap((k) => [[k, z.string().optional()], [`${k}_file`, z.string().optional()]]),
  );
  return z.strictObject({
    type: z.literal(d.type), ...fields, ...secretKeys, ...deliveryOverrides, template: section(template.optional()),
    repeat_interval: duration({ timer: true, atLeast: [1000, '1s'] }).optional(),
  });
});
const METHOD_TYPES = CHANNELS.map((d) => d.type);

const method = z.discriminatedUnion('type', channelMethods as unknown as [z.ZodObject, ...z.ZodObject[]], {
  error: (iss) => {
    if (iss.code !== 'invalid_union') return undefined;
    const type = (iss.input as { type?: unknown } | undefined)?.type;
    if (type === undefined) return `required; expected one of: ${METHOD_TYPES.join(', ')}`;
    return `unknown method type ${JSON.stringify(type)}; expected one of: ${METHOD_TYPES.join(', ')}`;
  },
});

/** The object of routes[].match (and of a silence's match): each field a matcher, labels by name. */
export const matchSchema = z.strictObject({
  source: matcher.optional(),
  name: matcher.optional(),
  severity: matcher.optional(),
  status: matcher.optional(),
  labels: section(z.record(z.string(), matcher).prefault({})),
});

const route = z.strictObject({
  match: section(matchSchema.prefault({})),
  methods: z.array(z.string()).min(1, { error: 'must list at least one method' }),
  continue: z.boolean().prefault(false),
  repeat_interval: duration({ timer: true, atLeast: [1000, '1s'] }).optional(),
  min_state_interval: duration({ timer: true }).optional(),
  group_by: z.array(z.string().min(1, { error: 'must not be an empty label name' })).min(1, { error: 'must list at least one label' }).optional(),
  group_wait: duration({ timer: true }).optional(),
  group_interval: duration({ timer: true }).optional(),
});

/** Labels set on an alarm: names and values are strings (`labels:` written empty means none). */
const alarmLabels = section(
  z.preprocess(
    (v, ctx) => {
      // zod would drop a `__proto__` key without a word: it is refused instead.
      if (v !== null && typeof v === 'object' && Object.hasOwn(v, '__proto__')) {
        ctx.addIssue({ code: 'custom', message: 'is a reserved name and cannot be a label', path: ['__proto__'], input: v });
      }
      return v;
    },
    z.record(z.string().min(1, { error: 'must not be an empty name' }), z.string()),
  ).prefault({}),
);

/** A heartbeat canary (issue #10): `ping_url` / `ping_url_file` is a secret, read in parse.ts. */
const canary = z.strictObject({
  interval: duration({ timer: true, atLeast: [1000, '1s'] }).prefault('60s'),
  methods: z.array(z.string()).min(1, { error: 'must list at least one method' }),
  ping_url: z.string().optional(),
  ping_url_file: z.string().optional(),
  max_latency: duration({ timer: true, atLeast: [1000, '1s'] }).prefault('30s'),
  resolve: z.boolean({ error: 'must be true or false' }).prefault(false),
  labels: alarmLabels,
  affects_readiness: z.boolean({ error: 'must be true or false' }).prefault(false),
  via: z.enum(['http', 'kafka'], { error: oneOf(['http', 'kafka']) }).prefault('http'),
  topic: z.string().optional(),
});

/** A heartbeat check (issue #15): a period or a cron schedule (checked in config/checks), grace, labels, a fixed UUID. */
const check = z.strictObject({
  period: duration({ atLeast: [1000, '1s'] }).optional(),
  schedule: nonEmpty.optional(),
  tz: nonEmpty.optional(),
  grace: duration({ atLeast: [1000, '1s'] }).prefault('1h'),
  labels: alarmLabels,
  uuid: z.string().regex(UUID_RE, { error: 'must be a UUID like 9c4d4b0e-5c1a-4f7e-8a63-2b0c5e1d7f10 (or leave it out: one is generated once and kept)' }).optional(),
});

const PING_RATE_MSG = 'must be a rate like "5/s" or "60/min"';

/** Settings shared by every check's ping URLs; `ping_key` / `ping_key_file` is a secret, read in parse.ts. */
const pings = z.strictObject({
  ping_key: z.string().optional(),
  ping_key_file: z.string().optional(),
  body_limit: bytes.prefault('100kB'),
  after_downtime: z.enum(['restart_grace', 'fire'], { error: oneOf(['restart_grace', 'fire']) }).prefault('restart_grace'),
  rate_limit: z
    .string({ error: PING_RATE_MSG })
    .transform((v, ctx) => {
      const r = parseRate(v);
      if (r !== undefined) return r;
      ctx.addIssue({ code: 'custom', message: PING_RATE_MSG });
      return z.NEVER;
    })
    .prefault('5/s'),
  rate_burst: int(1).optional(),
});

/** A UDP/TCP port number. */
const port = int(1).refine((n) => n <= 65535, { error: 'must be a port number from 1 to 65535' });

/** A StatsD tag's value: "|", ",", "#" and line breaks are the protocol's separators. */
const tagValue = z.string({ error: 'must be a string' }).regex(/^[^|,#\r\n]*$/, { error: 'must not contain "|", ",", "#" or a line break' });

/** StatsD (monasca-notification's metric names); monasca's defaults. */
const statsd = z.strictObject({
  host: nonEmpty.prefault('127.0.0.1'),
  port: port.prefault(8125),
  prefix: z.string({ error: 'must be a string' }).prefault('monasca.notification.'),
  tags: section(z.record(z.string().regex(/^[A-Za-z_][\w.\-/]*$/, { error: 'invalid tag name; use letters, digits, "_", ".", "-" or "/", starting with a letter or "_"' }), tagValue).prefault({})),
});

export const rawConfigSchema = z.strictObject({
  listen: listen.prefault('127.0.0.1:9095'),
  data_dir: nonEmpty.optional(), // absent: the default in the working directory (parse.ts)
  log_level: z.enum(LOG_LEVELS, { error: oneOf(LOG_LEVELS) }).prefault('info'),
  sources: section(z.record(name, source).prefault({})),
  methods: section(z.record(name, method).prefault({})),
  routes: section(z.array(route).prefault([{ methods: ['log'] }])),
  ingest: section(
    z.strictObject({
      max_body: bytes.prefault('1MiB'),
      max_batch: int(1).prefault(1000),
      max_pending: int(1).prefault(1_000_000),
      idempotency_ttl: duration().prefault('24h'),
      /** The older spelling of formats.zeebe.severity (still accepted). */
      zeebe_severity: z.enum(SEVERITIES, { error: oneOf(SEVERITIES) }).optional(),
      /** Each format's own options, derived from the format registry. */
      formats: section(
        z.strictObject(Object.fromEntries(INGEST_FORMATS.map((f) => [f.name, section(z.unknown())]))).prefault({}),
      ),
    }).prefault({}),
  ),
  database: section(
    z.strictObject({
      synchronous: z
        .preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), z.enum(SYNCHRONOUS, { error: oneOf(SYNCHRONOUS) }))
        .prefault('FULL'),
      retention: duration().prefault('7d'),
    }).prefault({}),
  ),
  delivery: section(
    z.strictObject({
      concurrency: int(1).prefault(64),
      timeout: duration({ positive: true, timer: true }).prefault('10s'),
      max_attempts: int(1).prefault(20),
      max_age: duration().prefault('24h'),
      backoff_base: duration({ positive: true }).prefault('1s'),
      backoff_cap: duration({ positive: true }).prefault('10m'),
      retry_after_cap: duration().prefault('1h'),
      batch_size: int(1).prefault(256),
      poll_interval: duration({ positive: true, timer: true }).prefault('1s'),
      shutdown_grace: duration({ timer: true }).prefault('10s'),
      thread: z.boolean({ error: 'must be true or false' }).prefault(true),
    }).prefault({}),
  ),
  canaries: section(z.record(name, canary).prefault({})),
  checks: section(z.record(name, check).prefault({})),
  pings: section(pings.prefault({})),
  templates: section(
    z.strictObject({
      /** The zone of the templates' `time` helper (an IANA name). */
      timezone: z.string().prefault('UTC'),
    }).prefault({}),
  ),
  kafka: section(kafkaSchema.optional()),
  lifecycle: section(
    z.strictObject({
      /** Notify the first resolved of an alarm never seen firing (default: recorded only). */
      notify_unknown_resolved: z.boolean({ error: 'must be true or false' }).prefault(false),
    }).prefault({}),
  ),
  /** The admin API's credentials (silences), separate from the sources'. */
  admin: section(
    z.strictObject({
      tokens: z.array(nonEmpty).optional(),
      tokens_file: nonEmpty.optional(),
    }).prefault({}),
  ),
  /** `/metrics`: a bearer token (`token` or `token_file`, read in parse.ts); none: open. */
  metrics: section(
    z.strictObject({
      token: z.string().optional(),
      token_file: z.string().optional(),
    }).prefault({}),
  ),
  statsd: section(statsd.optional()),
});

export type RawConfig = z.output<typeof rawConfigSchema>;
/** A method as validated: `type`, the channel's fields, secret fields as written, delivery overrides. */
export type RawMethod = { type: string } & Record<string, unknown> & Partial<z.output<z.ZodObject<typeof deliveryOverrides>>>;
export type RawSource = z.output<typeof source>;
export type RawCanary = z.output<typeof canary>;
export type RawCheck = z.output<typeof check>;
export type RawPings = z.output<typeof pings>;

// ---- issues → "path: message" ----------------------------------------------------------------

export type Path = readonly PropertyKey[];
export interface Issue {
  readonly path: string;
  readonly message: string;
}

/** ["routes", 1, "methods", 0] → "routes[1].methods[0]"; [] → "config". */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : `${out ? '.' : ''}${String(seg)}`;
  return out || 'config';
}

/** Messages for issues that have no schema-specific message. */
const fallbackError: z.core.$ZodErrorMap = (iss) => {
  if (iss.code !== 'invalid_type') return undefined;
  if (iss.input === undefined) return 'required';
  const what: Record<string, string> = { object: 'a mapping', record: 'a mapping', array: 'a list' };
  return `must be ${what[iss.expected] ?? `a ${iss.expected}`}`;
};

/** Flatten zod issues: one line per unknown key, record-key issues at the key's path. */
export function zodIssues(issues: readonly z.core.$ZodIssue[], base: Path = []): Issue[] {
  return issues.flatMap((iss): Issue[] => {
    const path = [...base, ...iss.path];
    if (iss.code === 'unrecognized_keys') return iss.keys.map((k) => ({ path: formatPath([...path, k]), message: 'unknown field' }));
    if (iss.code === 'invalid_key') return zodIssues(iss.issues, path);
    return [{ path: formatPath(path), message: iss.message }];
  });
}

export type RawResult = { ok: true; value: RawConfig } | { ok: false; issues: Issue[] };

export function parseRaw(doc: unknown): RawResult {
  const r = rawConfigSchema.safeParse(doc, { error: fallbackError });
  return r.success ? { ok: true, value: r.data } : { ok: false, issues: zodIssues(r.error.issues) };
}

/** Validates `value` with `schema` (a part validated after the document, such as a format's options); issues are under `base`. */
export function parsePart<T>(schema: z.ZodType<T>, value: unknown, base: Path): { ok: true; value: T } | { ok: false; issues: Issue[] } {
  const r = schema.safeParse(value, { error: fallbackError });
  return r.success ? { ok: true, value: r.data } : { ok: false, issues: zodIssues(r.error.issues, base) };
}
