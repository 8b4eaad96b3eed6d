#!/usr/bin/env node
/**
 * @module main
 * The thin CLI: `tocsin serve`, `tocsin check-config`, `tocsin --version`.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, parseListen } from './config/index.ts';
import type { Config } from './config/types.ts';
import { coerceError } from './lib/errors.ts';
import { COMMIT, VERSION } from './version.ts';
import { loadPlatform } from './runtime/detect.ts';
import { exitOnShutdownSignals, runRelay } from './runtime/relay.ts';

const USAGE = `tocsin ${VERSION}: alert relay

Usage:
  tocsin serve [--config FILE] [--listen HOST:PORT] [--insecure-no-auth]
                                                      run the relay (config also from $TOCSIN_CONFIG;
                                                      --listen overrides the config's listen)
  tocsin check-config --config FILE                   validate a config file; exit 0 if valid, 1 if not
  tocsin --version

With no config, tocsin listens on 127.0.0.1:9095, keeps its data in ./data/tocsin.db and prints every
notification as one JSON line on stdout (the built-in "log" method).
`;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

export function refuseOpenListen(config: Config, insecureNoAuth: boolean): string | undefined {
  if (config.sources.length > 0 || insecureNoAuth || LOOPBACK.test(config.listen.host)) return undefined;
  return `refusing to listen on ${config.listen.host} without authentication: configure sources with tokens, or start with --insecure-no-auth`;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      listen: { type: 'string', short: 'l' },
      'insecure-no-auth': { type: 'boolean', default: false },
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0] ?? (values.version ? 'version' : 'help');
  const configPath = values.config ?? process.env.TOCSIN_CONFIG;
  switch (command) {
    case 'version':
      process.stdout.write(`tocsin ${VERSION} (${COMMIT})\n`);
      return 0;
    case 'help':
      process.stdout.write(USAGE);
      return values.help ? 0 : 2;
    case 'check-config': {
      if (!configPath) {
        process.stderr.write('tocsin check-config: --config FILE is required\n');
        return 2;
      }
      loadConfig(configPath);
      process.stdout.write(`${configPath}: ok\n`);
      return 0;
    }
    case 'serve': {
      let config = loadConfig(configPath);
      if (values.listen !== undefined) {
        const listen = parseListen(values.listen);
        if (typeof listen === 'string') throw new ConfigError([`--listen: ${listen}`]);
        config = Object.freeze({ ...config, listen: Object.freeze(listen) });
      }
      const refusal = refuseOpenListen(config, values['insecure-no-auth'] ?? false);
      if (refusal) {
        process.stderr.write(`tocsin: ${refusal}\n`);
        return 1;
      }
      const platform = await loadPlatform();
      const running = await runRelay(config, platform);
      exitOnShutdownSignals(platform, running.stop);
      return -1; // keep running
    }
    default:
      process.stderr.write(`tocsin: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e) => {
    if (e instanceof ConfigError) process.stderr.write(`tocsin: invalid configuration:\n${e.message.replace(/^/gm, '  ')}\n`);
    else process.stderr.write(`tocsin: ${coerceError(e).message}\n`);
    process.exitCode = 1;
  },
);
