/**
 * @module app/live-config
 * The configuration as the running relay sees it: read through accessors, never captured by value, so
 * a reload (SIGHUP) can swap methods, routes, sources, lifecycle and admin settings at once. Channels are built for the new methods
 * before anything is swapped; a deliver already in flight keeps the channel it started with.
 */
import { createChannel } from '../channels/registry.ts';
import type { Channel, ChannelDeps } from '../channels/types.ts';
import type { Config, DeliverySettings, RouteConfig, SourceConfig } from '../config/types.ts';
import { Secret } from '../lib/secret.ts';

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

export class LiveConfig {
  #now: Snapshot;
  readonly #deps: ChannelDeps;

  constructor(config: Config, deps: ChannelDeps) {
    this.#deps = deps;
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

  /**
   * Swaps methods, routes, sources, the lifecycle settings and the admin tokens to those of `next`, atomically. Throws (and keeps the running
   * config) if a channel cannot be built. Restart-only settings keep their running values.
   */
  reload(next: Config): ReloadResult {
    const channels = this.#build(next);
    const before = this.#now.config;
    const restartNeeded = RESTART_ONLY.filter(([, get]) => fingerprint(get(before)) !== fingerprint(get(next))).map(([k]) => k);
    const merged: Config = Object.freeze({
      ...before,
      sources: next.sources,
      methods: next.methods,
      routes: next.routes,
      lifecycle: next.lifecycle,
      admin: next.admin,
      // Per-method settings inherit these; the loop-level ones (batch size, poll, grace) stay.
      delivery: Object.freeze({
        ...next.delivery,
        batchSize: before.delivery.batchSize,
        pollIntervalMs: before.delivery.pollIntervalMs,
        shutdownGraceMs: before.delivery.shutdownGraceMs,
      }),
    });
    const names = (c: Config) => Object.keys(c.methods);
    const methods = {
      added: names(next).filter((m) => !before.methods[m]),
      removed: names(before).filter((m) => !next.methods[m]),
      changed: names(next).filter((m) => before.methods[m] && fingerprint(before.methods[m]) !== fingerprint(next.methods[m])),
    };
    this.#now = { config: merged, channels };
    return { methods, restartNeeded };
  }

  #build(config: Config): Map<string, Channel> {
    const channels = new Map<string, Channel>();
    for (const m of Object.values(config.methods)) channels.set(m.name, createChannel(m, this.#deps));
    return channels;
  }
}
