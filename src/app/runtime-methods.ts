/**
 * @module app/runtime-methods
 * Notification methods created through the admin API (runtime methods): validated exactly like a method of
 * the config file (the config parser runs on a document holding just that method), stored in SQLite as they
 * were given, and put in force beside the file's methods (app/live-config). File methods are read-only here.
 *
 * - `service.start()` puts the stored methods in force, before delivery starts; a stored method that no
 *   longer validates (a `*_file` gone) is logged and left out. Then every method the file's routes and
 *   canaries name must be defined, or the start fails naming where it is named.
 * - `add` and `remove` write through `transact` (the group committer: the write lock, a full disk) and then
 *   swap the methods in force; `changed()` tells the app (the delivery thread needs the new set).
 * - `test` sends one test notification through a method's channel, as `tocsin test-method` does.
 *
 * Secrets never leave: views mask every secret value as "***" (and header values, which often carry
 * credentials); logs name methods and fields only. The config parser is loaded only when there is a method
 * to validate (a relay without a config file and without runtime methods never loads it).
 */
import { channelDescriptor } from '../channels/registry.ts';
import { testAlarm } from '../channels/test-method-command.ts';
import { ConfigError } from '../config/errors.ts';
import { NAME_RE } from '../config/names.ts';
import type { Config, MethodConfig } from '../config/types.ts';
import type { Alarm } from '../domain/alarm.ts';
import type { SendResult } from '../domain/notification.ts';
import type { Clock, Scheduler } from '../lib/clock.ts';
import { coerceError } from '../lib/errors.ts';
import type { RandomBytes } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { redact, Secret, secretsIn } from '../lib/secret.ts';
import type { Service } from '../lib/service.ts';
import type { MethodRow } from '../outbox/methods-store.ts';
import type { LiveConfig } from './live-config.ts';

/** What a masked secret value shows. */
export const MASK = '***';
/** The longest `by` (who created a method). */
export const MAX_BY = 200;

/** A method as the admin API shows it: secrets masked. */
export interface MethodView {
  readonly name: string;
  readonly type: string;
  readonly origin: 'file' | 'api';
  /** The channel's settings, every secret value (and header value) "***". */
  readonly settings: unknown;
  /** When and by whom it was created through the API (null for a file method, or not said). */
  readonly created_at: string | null;
  readonly created_by: string | null;
}

/** A problem with a method, at a field as the API names it: `method.url`, `method.headers.X-Key`, `name`. */
export interface MethodIssue {
  readonly field: string;
  readonly message: string;
}

/** Validates one method (`raw`: the config file's keys) as the config file would; pure once loaded. */
export type MethodParser = (name: string, raw: unknown) => { ok: true; method: MethodConfig } | { ok: false; issues: MethodIssue[] };

export type AddResult =
  | { readonly ok: true; readonly method: MethodView }
  | { readonly ok: false; readonly problem: 'invalid' | 'conflict'; readonly field: string; readonly message: string };

export type RemoveResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly problem: 'unknown' | 'conflict'; readonly message: string };

export type TestResult =
  | { readonly ok: true; readonly status: number | null; readonly latency_ms: number }
  | { readonly ok: false; readonly error: string; readonly retryable: boolean };

export interface NewMethod {
  readonly name: string;
  /** The method as in the config file: `type` and that channel's keys (secrets inline: no `*_file`). */
  readonly method: unknown;
  /** Who creates it (free text). */
  readonly by?: string;
}

/** What the admin API needs: see src/http/method-routes.ts. */
export interface MethodsApi {
  /** Every method in force, file ones first, by name within each. */
  list(): MethodView[];
  get(name: string): MethodView | undefined;
  add(input: NewMethod): Promise<AddResult>;
  remove(name: string): Promise<RemoveResult>;
  /** One test notification now; undefined: no such method. */
  test(name: string): Promise<TestResult | undefined>;
}

export interface RuntimeMethods extends MethodsApi {
  /** Puts the stored methods in force at start (before delivery); fails the start on a method the file names but nobody defines. */
  readonly service: Service;
}

export interface RuntimeMethodsDeps {
  readonly store: {
    all(): MethodRow[];
    get(name: string): MethodRow | undefined;
    insert(row: MethodRow): void;
    remove(name: string): boolean;
  };
  /** Runs a write in a transaction on the main connection (the group committer's `submit`). */
  readonly transact: (write: () => void) => Promise<unknown>;
  readonly live: LiveConfig;
  /** The methods in force changed (after start, add, remove): the app hands them to the delivery thread. */
  readonly changed: () => void;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly randomBytes: RandomBytes;
  /** The validator (default: the config parser's, loaded on first use, with the process's environment). */
  readonly parser?: () => Promise<MethodParser>;
  /** Elapsed time for a test's latency (default performance.now). */
  readonly elapsed?: () => number;
}

// ---- validation ---------------------------------------------------------------------------------

/**
 * What the config file allows but an API method does not: `${NAME}` (the relay's environment is not
 * the API's to read) and any `*_file` (an admin token must not make the relay read a file of the host
 * and send it to a destination of the token holder's choice; the file's author may, the API's may not).
 */
function apiOnlyIssue(raw: unknown, at: string): MethodIssue | undefined {
  if (typeof raw === 'string') {
    if (raw.includes('${')) return { field: at, message: '${...} is not expanded in a method created through the API; write the value itself' };
    return undefined;
  }
  if (raw === null || typeof raw !== 'object') return undefined;
  for (const [k, v] of Object.entries(raw)) {
    const field = `${at}.${k}`;
    if (k.endsWith('_file')) return { field, message: `a method created through the API reads no file; give the value itself (${k.slice(0, -'_file'.length)}), or define the method in the config file` };
    const inner = apiOnlyIssue(v, field);
    if (inner) return inner;
  }
  return undefined;
}

/** The config parser's validation of one method, its problems named `method.<key>`. */
export async function loadMethodParser(env: Readonly<Record<string, string | undefined>> = process.env): Promise<MethodParser> {
  const [{ parseConfig }, { readTextFile }] = await Promise.all([import('../config/parse.ts'), import('../config/load.ts')]);
  return (name, raw) => {
    const prefix = `methods.${name}`;
    try {
      // JSON is YAML: the same parser, the same messages as the file.
      const config = parseConfig(JSON.stringify({ methods: { [name]: raw } }), env, readTextFile);
      return { ok: true, method: config.methods[name]! };
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return {
        ok: false,
        issues: e.issues.map((line) => {
          const under = line.startsWith(`${prefix}:`) || line.startsWith(`${prefix}.`) ? line.slice(prefix.length) : `: ${line}`;
          const colon = under.indexOf(': ');
          return { field: `method${under.slice(0, colon)}`, message: under.slice(colon + 2) };
        }),
      };
    }
  };
}

// ---- views --------------------------------------------------------------------------------------

/** A method's settings for showing: every Secret, header value and URL with credentials as "***"; functions left out. */
export function maskSettings(value: unknown, key = '', depth = 0): unknown {
  if (value instanceof Secret) return MASK;
  if (depth > 8 || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (Array.isArray(value)) return value.map((v) => maskSettings(v, '', depth + 1));
  if (value !== null && typeof value === 'object') {
    if (key === 'headers') return Object.fromEntries(Object.keys(value).map((k) => [k, MASK]));
    return Object.fromEntries(
      Object.entries(value)
        .map(([k, v]) => [k, maskSettings(v, k, depth + 1)] as const)
        .filter(([, v]) => v !== undefined),
    );
  }
  if (typeof value === 'string' && hasUserinfo(value)) return MASK;
  return typeof value === 'bigint' ? String(value) : value;
}

/** A URL with credentials in it (`https://user:pass@host/…`): shown as "***" whatever the field. */
function hasUserinfo(text: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return false;
  try {
    const u = new URL(text);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** Where a config names `method` (a route's or a canary's list), if anywhere. */
export function namedAt(config: Config, method: string): string | undefined {
  for (const [i, r] of config.routes.entries()) {
    const j = r.methods.indexOf(method);
    if (j >= 0) return `routes[${i}].methods[${j}]`;
  }
  for (const c of config.canaries) {
    const j = c.methods.indexOf(method);
    if (j >= 0) return `canaries.${c.name}.methods[${j}]`;
  }
  return undefined;
}

// ---- the service --------------------------------------------------------------------------------

export function runtimeMethods(deps: RuntimeMethodsDeps): RuntimeMethods {
  const { live, store, logger } = deps;
  const elapsed = deps.elapsed ?? (() => performance.now());
  /** When and by whom each runtime method was created. */
  const created = new Map<string, { at: number; by: string | null }>();
  /** Stored methods left out at start (no longer valid): their names stay taken until removed. */
  const broken = new Set<string>();
  let parser: Promise<MethodParser> | undefined;
  const parse = () => (parser ??= (deps.parser ?? (() => loadMethodParser()))());
  /** Adds and removes one at a time (a check, then the write, then the swap). */
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn, fn);
    queue = p.catch(() => undefined);
    return p;
  };

  const view = (name: string): MethodView | undefined => {
    const m = live.config.methods[name];
    const origin = live.origin(name);
    if (!m || !origin) return undefined;
    const made = origin === 'api' ? created.get(name) : undefined;
    return { name, type: m.type, origin, settings: maskSettings(m.settings) ?? {}, created_at: iso(made?.at), created_by: made?.by ?? null };
  };

  const swap = (next: Readonly<Record<string, MethodConfig>>) => {
    live.setRuntimeMethods(next);
    deps.changed();
  };
  /** The runtime methods but `name`. */
  const withoutRuntime = (name: string) => {
    const rest = { ...live.runtimeMethods() };
    delete rest[name];
    swap(rest);
  };

  const service: Service = {
    name: 'runtime-methods',
    async start() {
      const rows = store.all();
      const methods: Record<string, MethodConfig> = {};
      if (rows.length > 0) {
        const validate = await parse();
        for (const row of rows) {
          created.set(row.name, { at: row.createdAt, by: row.createdBy });
          if (live.origin(row.name) === 'file') {
            logger.warn({ method: row.name }, 'a method created through the admin API has the name of a method in the config file; the file’s is used');
          }
          let raw: unknown;
          try {
            raw = JSON.parse(row.settings);
          } catch {
            logger.error({ method: row.name }, 'a stored method created through the admin API cannot be read; it is left out (remove it and create it again)');
            broken.add(row.name);
            continue;
          }
          const r = validate(row.name, raw);
          if (r.ok) methods[row.name] = r.method;
          else {
            broken.add(row.name);
            logger.error(
              { method: row.name, issues: r.issues.map((i) => `${i.field}: ${i.message}`) },
              'a method created through the admin API is no longer valid; it is left out (remove it and create it again)',
            );
          }
        }
      }
      // Throws a ConfigError naming every route or canary entry whose method nobody defines.
      swap(methods);
      if (rows.length > 0) logger.info({ methods: Object.keys(methods) }, 'methods created through the admin API are in force');
    },
    stop() {},
  };

  return {
    service,
    list() {
      const names = Object.keys(live.config.methods);
      const order = (n: string) => (live.origin(n) === 'file' ? 0 : 1);
      return names
        .sort((a, b) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0))
        .flatMap((n) => view(n) ?? []);
    },
    get: view,

    add: (input) =>
      serial(async (): Promise<AddResult> => {
        const { name } = input;
        if (!NAME_RE.test(name)) {
          return { ok: false, problem: 'invalid', field: 'name', message: 'invalid name; use letters, digits, "_", "." or "-", starting with a letter or digit' };
        }
        if (live.origin(name) !== undefined || Object.hasOwn(live.runtimeMethods(), name) || broken.has(name)) {
          const where = live.origin(name) === 'file' ? 'in the config file' : broken.has(name) ? 'stored, but no longer valid: remove it first' : 'created through the API';
          return { ok: false, problem: 'conflict', field: 'name', message: `a method named "${name}" exists already (${where})` };
        }
        const early = apiOnlyIssue(input.method, 'method');
        if (early) return { ok: false, problem: 'invalid', ...early };
        const r = (await parse())(name, input.method);
        if (!r.ok) return { ok: false, problem: 'invalid', ...r.issues[0]! };
        // The parser loaded asynchronously: a reload meanwhile may have given the file this name.
        if (live.origin(name) === 'file') return { ok: false, problem: 'conflict', field: 'name', message: `a method named "${name}" exists already (in the config file)` };
        const now = deps.clock.now();
        const by = input.by ?? null;
        // In force first, in the same turn as the checks above: a reload cannot slip in between (a file
        // defining the name meanwhile), and one during the write below sees the method.
        try {
          swap({ ...live.runtimeMethods(), [name]: r.method });
        } catch (e) {
          // Its channel could not be built: nothing was stored (the text may quote a setting: redacted, not logged).
          logger.error({ method: name, type: r.method.type }, 'a method created through the admin API could not be put in force; it was not kept');
          return { ok: false, problem: 'invalid', field: 'method', message: `cannot be put in force: ${redact(coerceError(e).message, secretsIn(r.method))}` };
        }
        try {
          await deps.transact(() =>
            store.insert({ name, type: r.method.type, settings: JSON.stringify(input.method), createdAt: now, createdBy: by, updatedAt: now }),
          );
        } catch (e) {
          // Not stored: not in force either, unless a reload meanwhile came to name it.
          try {
            withoutRuntime(name);
          } catch {
            logger.error({ method: name }, 'a method created through the admin API could not be stored, but a reload already names it: it stays in force until the relay stops');
          }
          throw e;
        }
        created.set(name, { at: now, by });
        logger.info({ method: name, type: r.method.type, ...(by !== null && { by }) }, 'method created through the admin API');
        return { ok: true, method: view(name)! };
      }),

    remove: (name) =>
      serial(async (): Promise<RemoveResult> => {
        const origin = live.origin(name);
        if (origin === 'file') {
          if (store.get(name) === undefined) return { ok: false, problem: 'conflict', message: `the method "${name}" is defined in the config file; edit the file` };
          // A stored method that a file method of the same name shadows: the stored one goes, the file's stays.
          if (Object.hasOwn(live.runtimeMethods(), name)) withoutRuntime(name);
          await deps.transact(() => void store.remove(name));
          broken.delete(name);
          created.delete(name);
          logger.info({ method: name }, 'a stored method shadowed by the config file\'s method of the same name was removed through the admin API');
          return { ok: true };
        }
        if (broken.has(name)) {
          await deps.transact(() => void store.remove(name));
          broken.delete(name);
          created.delete(name);
          logger.info({ method: name }, 'a stored method that was no longer valid was removed through the admin API');
          return { ok: true };
        }
        if (!Object.hasOwn(live.runtimeMethods(), name)) return { ok: false, problem: 'unknown', message: 'no such method' };
        const at = namedAt(live.config, name);
        if (at !== undefined) return { ok: false, problem: 'conflict', message: `the method "${name}" is still named at ${at} in the config file; remove it there first` };
        // Out of force first, in the same turn as the check: a reload during the write below that names it
        // is refused (unknown method), so no route can come to name a method that is no longer stored.
        const method = live.runtimeMethods()[name]!;
        withoutRuntime(name);
        try {
          await deps.transact(() => void store.remove(name));
        } catch (e) {
          swap({ ...live.runtimeMethods(), [name]: method });
          throw e;
        }
        created.delete(name);
        logger.info({ method: name }, 'method removed through the admin API; its undelivered notifications stay pending');
        return { ok: true };
      }),

    async test(name) {
      const m = live.config.methods[name];
      const channel = live.channels().get(name);
      if (!m || !channel) return undefined;
      const id = Buffer.from(deps.randomBytes(8)).toString('hex');
      const now = deps.clock.now();
      const send = async (alarm: Alarm, n: number): Promise<SendResult> => {
        const controller = new AbortController();
        const timer = deps.scheduler.after(m.delivery.timeoutMs, () => controller.abort(new Error(`no answer within ${m.delivery.timeoutMs / 1000} s`)));
        try {
          return await channel.send({ notificationId: `ntf_test_${id}_${n}`, attempt: 1, method: name, alarms: [alarm], createdAt: now, remoteRefs: {} }, controller.signal);
        } catch (e) {
          return { outcome: 'retry', error: coerceError(e).message };
        } finally {
          timer.cancel();
        }
      };
      const alarm = testAlarm(name, now, id);
      const started = elapsed();
      let r = await send(alarm, 1);
      const latency = Math.round(elapsed() - started);
      // What the test opened (a PagerDuty incident) is closed again at once.
      if (r.outcome === 'sent' && channelDescriptor(m.type)?.opensIncidents) {
        const closed = await send({ ...alarm, status: 'resolved' }, 2);
        if (closed.outcome !== 'sent') r = { ...closed, error: `the test was sent, but resolving it failed: ${closed.error}` };
      }
      logger.info({ method: name, outcome: r.outcome, ...(r.status !== undefined && { status: r.status }) }, `test notification: ${r.outcome === 'sent' ? 'sent' : 'failed'}`);
      if (r.outcome === 'sent') return { ok: true, status: r.status ?? null, latency_ms: latency };
      return { ok: false, error: r.error, retryable: r.outcome === 'retry' };
    },
  };
}
