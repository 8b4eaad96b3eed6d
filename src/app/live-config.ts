/**
 * @module app/live-config
 * The configuration as the running relay sees it: read through accessors, never captured by value, so
 * a reload (SIGHUP) can swap methods, routes, sources, lifecycle and admin settings at once. Channels are built for the new methods
 * before anything is swapped; a deliver already in flight keeps the channel it started with.
 *
 * The methods in force are the file's and those created through the admin API (runtime methods, see
 * app/runtime-methods): a reload of the file keeps the runtime ones, and the file wins a name both have. The
 * file's routes and canaries may name a runtime method (`Config.externalMethodRefs`): every such name must be
 * a runtime method, or the reload is refused.
 */
import { createChannel } from '../channels/registry.ts';
import type { Channel, ChannelDeps } from '../channels/types.ts';
import { ConfigError } from '../config/errors.ts';
import type { Config, DeliverySettings, MethodConfig, RouteConfig, SourceConfig } from '../config/types.ts';
import { Secret } from '../lib/secret.ts';
import { unresolvedMethodRefs } from '../config/method-refs.ts';


interface Snapshot {
  readonly config: Config;
  readonly channels: ReadonlyMap<string, Channel>;
}

export interface ReloadResult {
  /** Methods added, removed, or whose settings changed. */
  readonly methods: { readonly added: readonly string[]; readonly removed: readonly string[]; readonly changed: readonly string[] };
  /** Settings that differ in the new file but take effect only after a restart (dotted config keys). */
  readonly restartNeeded: readonly string[];
}

/** Top-level settings the running relay cannot change: the file's new values wait for a restart. */
const RESTART_ONLY: readonly [string, (c: Config) => unknown][] = [
  ['listen', (c) => c.listen],
  ['data_dir', (c) => c.dataDir],
  ['log_level', (c) => c.logLevel],
  ['database', (c) => c.database],
  ['ingest', (c) => c.ingest],
  ['delivery.batch_size', (c) => c.delivery.batchSize],
  ['delivery.poll_interval', (c) => c.delivery.pollIntervalMs],
  ['delivery.shutdown_grace', (c) => c.delivery.shutdownGraceMs],
  ['delivery.thread', (c) => c.delivery.thread],
  ['canaries', (c) => c.canaries],
  ['checks', (c) => c.checks],
  ['pings', (c) => c.pings],
  ['statsd', (c) => c.statsd],
];

/** Text of a config part for comparison only, never printed (secrets compare by value; matchers by pattern). */
function fingerprint(value: unknown): string {
  const walk = (v: unknown): unknown => {
    if (v instanceof Secret) return `secret:${v.reveal()}`;
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return typeof v === 'function' ? undefined : v;
  };
  return JSON.stringify(walk(value));
}

/** Methods added, removed, or whose settings changed from `before` to `after`. */
function diffMethods(before: Readonly<Record<string, MethodConfig>>, after: Readonly<Record<string, MethodConfig>>): ReloadResult['methods'] {
  const names = (ms: Readonly<Record<string, MethodConfig>>) => Object.keys(ms);
  return {
    added: names(after).filter((m) => !before[m]),
    removed: names(before).filter((m) => !after[m]),
    changed: names(after).filter((m) => before[m] && fingerprint(before[m]) !== fingerprint(after[m])),
  };
}

export class LiveConfig {
  #now: Snapshot;
  /** The methods of the config file (the effective ones are these and the runtime ones). */
  #fileMethods: Readonly<Record<string, MethodConfig>>;
  #runtime: Readonly<Record<string, MethodConfig>> = {};
  readonly #deps: ChannelDeps;

  /** Runtime methods come later (setRuntimeMethods): the config's references to them are checked then. */
  constructor(config: Config, deps: ChannelDeps) {
    this.#deps = deps;
    this.#fileMethods = config.methods;
    this.#now = { config, channels: this.#build(config) };
  }

  /** The whole configuration now (restart-only settings keep the values the relay started with). */
  get config(): Config {
    return this.#now.config;
  }

  routes(): readonly RouteConfig[] {
    return this.#now.config.routes;
  }

  sources(): readonly SourceConfig[] {
    return this.#now.config.sources;
  }

  /** The methods' channels by method name. */
  channels(): ReadonlyMap<string, Channel> {
    return this.#now.channels;
  }

  /** Delivery settings of a method (the global ones for a method no longer configured). */
  settings(method: string): DeliverySettings {
    return this.#now.config.methods[method]?.delivery ?? this.#now.config.delivery;
  }

  /** Where a method in force comes from: the config file, the admin API (a runtime method), or undefined: neither. */
  origin(method: string): 'file' | 'api' | undefined {
    return Object.hasOwn(this.#fileMethods, method) ? 'file' : Object.hasOwn(this.#runtime, method) ? 'api' : undefined;
  }

  /** Problems of `next` (a file about to be reloaded) with the runtime methods in force: its unresolved method references. */
  unresolved(next: Config): string[] {
    return unresolvedMethodRefs(next, this.#runtime);
  }

  /** The runtime methods as last set (one the file also defines is not in force: the file's is). */
  runtimeMethods(): Readonly<Record<string, MethodConfig>> {
    return this.#runtime;
  }

  /**
   * Swaps the runtime methods to `next` (the whole set), atomically: channels are built for the added and
   * changed ones (the others keep theirs; a deliver in flight keeps the one it started with). Throws, and
   * changes nothing, if a channel cannot be built or the config names a method that would be missing.
   */
  setRuntimeMethods(next: Readonly<Record<string, MethodConfig>>): ReloadResult['methods'] {
    const before = this.#now.config;
    const missing = unresolvedMethodRefs({ ...before, methods: this.#fileMethods }, next);
    if (missing.length > 0) throw new ConfigError(missing);
    const methods = this.#effective(this.#fileMethods, next);
    const changes = diffMethods(before.methods, methods);
    const fresh = new Set([...changes.added, ...changes.changed]);
    const channels = new Map<string, Channel>();
    for (const m of Object.values(methods)) channels.set(m.name, fresh.has(m.name) ? createChannel(m, this.#deps) : this.#now.channels.get(m.name)!);
    this.#runtime = next;
    this.#now = { config: Object.freeze({ ...before, methods }), channels };
    return changes;
  }

  /**
   * Swaps methods, routes, sources, the lifecycle settings and the admin tokens to those of `next`, atomically. Throws (and keeps the running
   * config) if a channel cannot be built, or (a ConfigError) if it names a method neither it nor the runtime methods define.
   * Restart-only settings keep their running values; the runtime methods stay.
   */
  reload(next: Config): ReloadResult {
    const missing = unresolvedMethodRefs(next, this.#runtime);
    if (missing.length > 0) throw new ConfigError(missing);
    const effective = this.#effective(next.methods, this.#runtime);
    const channels = this.#build({ ...next, methods: effective });
    const before = this.#now.config;
    const restartNeeded = RESTART_ONLY.filter(([, get]) => fingerprint(get(before)) !== fingerprint(get(next))).map(([k]) => k);
    const merged: Config = Object.freeze({
      ...before,
      sources: next.sources,
      methods: effective,
      routes: next.routes,
      externalMethodRefs: next.externalMethodRefs,
      lifecycle: next.lifecycle,
      admin: next.admin,
      metrics: next.metrics,
      // Per-method settings inherit these; the loop-level ones (batch size, poll, grace) stay.
      delivery: Object.freeze({
        ...next.delivery,
        batchSize: before.delivery.batchSize,
        pollIntervalMs: before.delivery.pollIntervalMs,
        shutdownGraceMs: before.delivery.shutdownGraceMs,
      }),
    });
    const methods = diffMethods(before.methods, effective);
    this.#fileMethods = next.methods;
    this.#now = { config: merged, channels };
    return { methods, restartNeeded };
  }

  /** The file's methods, then the runtime ones the file does not define. */
  #effective(file: Readonly<Record<string, MethodConfig>>, runtime: Readonly<Record<string, MethodConfig>>): Readonly<Record<string, MethodConfig>> {
    const out: Record<string, MethodConfig> = { ...file };
    for (const [name, m] of Object.entries(runtime)) if (!Object.hasOwn(out, name)) out[name] = m;
    return Object.freeze(out);
  }

  #build(config: Config): Map<string, Channel> {
    const channels = new Map<string, Channel>();
    for (const m of Object.values(config.methods)) channels.set(m.name, createChannel(m, this.#deps));
    return channels;
  }
}
