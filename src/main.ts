#!/usr/bin/env node
/**
 * @module main
 * The thin CLI: `tocsin serve`, `tocsin check-config`, `tocsin --version`. Each command loads only what
 * it needs: `--version` and `--help` load nothing else, `check-config` loads the config parser, and
 * only `serve` loads the relay.
 */
import { parseArgs } from 'node:util';
import { COMMIT, VERSION } from './version.ts';

const USAGE = `tocsin ${VERSION}: alert relay

Usage:
  tocsin serve [--config FILE] [--listen HOST:PORT] [--insecure-no-auth]
                                                      run the relay (config also from $TOCSIN_CONFIG;
                                                      --listen overrides the config's listen;
                                                      SIGHUP re-reads the config file)
  tocsin check-config --config FILE                   validate a config file; exit 0 if valid, 1 if not
  tocsin --version

With no config, tocsin listens on 127.0.0.1:9095, keeps its data in ./data/tocsin.db and prints every
notification as one JSON line on stdout (the built-in "log" method).
`;

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
      const { loadConfig } = await import('./config/load.ts');
      loadConfig(configPath);
      process.stdout.write(`${configPath}: ok\n`);
      return 0;
    }
    case 'serve': {
      const { serve } = await import('./serve.ts');
      return serve({ configPath, listen: values.listen, insecureNoAuth: values['insecure-no-auth'] ?? false });
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
  (e: unknown) => {
    const err = e as { name?: unknown; message?: unknown };
    // A ConfigError (checked by name: its module is not loaded for every command) lists one issue a line.
    if (err?.name === 'ConfigError') process.stderr.write(`tocsin: invalid configuration:\n${String(err.message).replace(/^/gm, '  ')}\n`);
    else process.stderr.write(`tocsin: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
