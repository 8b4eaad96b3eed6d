/**
 * @module serve
 * `tocsin serve`: load the configuration, refuse an open listener without auth, run the relay on this
 * runtime, and wire the signals (SIGTERM/SIGINT stop, SIGHUP reloads).
 */
import { ConfigError, loadConfig, parseListen } from './config/index.ts';
import type { Config } from './config/types.ts';
import { loadPlatform } from './runtime/detect.ts';
import { exitOnShutdownSignals, reloadOnHangup, runRelay } from './runtime/relay.ts';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

export function refuseOpenListen(config: Config, insecureNoAuth: boolean): string | undefined {
  if (config.sources.length > 0 || insecureNoAuth || LOOPBACK.test(config.listen.host)) return undefined;
  return `refusing to listen on ${config.listen.host} without authentication: configure sources with tokens, or start with --insecure-no-auth`;
}

export interface ServeOptions {
  readonly configPath: string | undefined;
  /** --listen: overrides the file's listen (also on reload). */
  readonly listen: string | undefined;
  readonly insecureNoAuth: boolean;
}

/** Returns an exit code, or -1 while the relay keeps running. */
export async function serve(opts: ServeOptions): Promise<number> {
  const load = (): Config => {
    const config = loadConfig(opts.configPath);
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
  const running = await runRelay(config, platform, opts.configPath === undefined ? {} : { loadConfig: load });
  reloadOnHangup(platform, running.reload);
  exitOnShutdownSignals(platform, running.stop);
  return -1; // keep running
}
