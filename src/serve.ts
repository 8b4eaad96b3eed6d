/**
 * @module serve
 * `tocsin serve`: load the configuration, refuse an open listener without auth, run the relay on this
 * runtime, and wire the signals (SIGTERM/SIGINT stop, SIGHUP reloads). With no config file, neither the
 * YAML parser nor the config schema is loaded.
 *
 * The file's routes and canaries may name methods created through the admin API (kept in the database): the
 * file is read with `externalMethods`, and each such name must be one of those methods (checked by the app at
 * start, and here before a reload, which an unknown one refuses like an invalid file).
 */
import { defaultConfig } from './config/defaults.ts';
import { ConfigError } from './config/errors.ts';
import { parseListen } from './config/listen.ts';
import type { Config } from './config/types.ts';
import { loadPlatform } from './runtime/detect.ts';
import { createLogger, exitOnShutdownSignals, runRelay, type Running } from './runtime/relay.ts';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

export function refuseOpenListen(config: Config, insecureNoAuth: boolean): string | undefined {
  if (config.sources.length > 0 || insecureNoAuth || LOOPBACK.test(config.listen.host)) return undefined;
  return `refusing to listen on ${config.listen.host} without authentication: configure sources with tokens, or start with --insecure-no-auth`;
}

/**
 * A reloaded config must pass the same check against the address the relay is bound to (a new listen
 * waits for a restart): a file whose sources were all removed must not switch auth off on an open listener.
 */
export function checkReload(next: Config, running: Config, insecureNoAuth: boolean): Config {
  const refusal = refuseOpenListen({ ...next, listen: running.listen }, insecureNoAuth);
  if (refusal) throw new ConfigError([`sources: ${refusal}`]);
  return next;
}

export interface ServeOptions {
  readonly configPath: string | undefined;
  /** --listen: overrides the file's listen (also on reload). */
  readonly listen: string | undefined;
  readonly insecureNoAuth: boolean;
}

/** Returns an exit code, or -1 while the relay keeps running. */
export async function serve(opts: ServeOptions): Promise<number> {
  const file = opts.configPath === undefined ? undefined : await import('./config/load.ts');
  const load = (): Config => {
    const config = file ? file.loadConfig(opts.configPath, process.env, file.readTextFile, { externalMethods: true }) : defaultConfig();
    if (opts.listen === undefined) return config;
    const listen = parseListen(opts.listen);
    if (typeof listen === 'string') throw new ConfigError([`--listen: ${listen}`]);
    return Object.freeze({ ...config, listen: Object.freeze(listen) });
  };
  const config = load();
  const refusal = refuseOpenListen(config, opts.insecureNoAuth);
  if (refusal) {
    process.stderr.write(`tocsin: ${refusal}\n`);
    return 1;
  }
  const platform = await loadPlatform();
  // Signals are wired before the listener is up; until the relay has started they wait for it.
  const logger = createLogger(config.logLevel);
  let running: Running | undefined;
  const reload = () => {
    const next = checkReload(load(), config, opts.insecureNoAuth);
    // Routes may name methods created through the admin API: those in force now.
    const unknown = running?.app.config.unresolved(next) ?? [];
    if (unknown.length > 0) throw new ConfigError(unknown);
    return next;
  };
  // A signal before the relay has started stops it where it is (it may be waiting for disk space).
  const stopping = new AbortController();
  const starting = runRelay(config, platform, { logger, stopping: stopping.signal, ...(file && { loadConfig: reload }) });
  void starting.then((r) => (running = r), () => {});
  platform.onReloadSignal(() => void starting.then((r) => r.reload(), () => {}));
  exitOnShutdownSignals(
    platform,
    () => {
      stopping.abort();
      return starting.then(
        (r) => r.stop(),
        () => {},
      );
    },
    logger,
  );
  try {
    await starting;
  } catch (e) {
    if (!stopping.signal.aborted) throw e;
  }
  return -1; // keep running (or stopping: the signal handler exits)
}
