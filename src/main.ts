#!/usr/bin/env node
/**
 * @module main
 * The thin CLI: `tocsin serve`, `tocsin check-config`, `tocsin canary status`, `tocsin test-method`,
 * `tocsin --version`. Each
 * command loads only what it needs: `--version` and `--help` (of any command) load nothing else,
 * `check-config` loads the config parser, `canary status` the parser and the database (not the relay),
 * and only `serve` loads the relay. A command line it cannot use (an unknown option, a missing value, a
 * stray argument) gets the command's usage on stderr and exit code 2.
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
  tocsin canary status [--config FILE] [--limit N] [--json]
                                                      each heartbeat canary's last runs (reads the
                                                      database; works while tocsin runs)
  tocsin test-method NAME [--config FILE]             send a test notification through one method and
                                                      print the answer; exit 0 if sent, 1 if not
  tocsin --version
  tocsin COMMAND --help                               the command's usage

With no config, tocsin listens on 127.0.0.1:9095, keeps its data in ./data/tocsin.db and prints every
notification as one JSON line on stdout (the built-in "log" method).
`;

const SERVE_USAGE = `Usage: tocsin serve [--config FILE] [--listen HOST:PORT] [--insecure-no-auth]

Runs the relay. SIGTERM or SIGINT stops it gracefully (a second signal exits at once); SIGHUP re-reads
the config file. The log (JSON lines) goes to stderr; the built-in "log" method prints on stdout.

Options:
  -c, --config FILE        the config file (default: $TOCSIN_CONFIG; with neither, the built-in defaults:
                           listen on 127.0.0.1:9095, data in ./data/tocsin.db, every notification printed
                           as one JSON line on stdout)
  -l, --listen HOST:PORT   listen here instead of at the config's listen
      --insecure-no-auth   allow a listen address other than loopback without sources (no authentication)
  -h, --help               print this usage

Exit code: 0 after a signal-driven stop, 1 on an invalid config or a failed start, 2 on a usage error.
`;

const CHECK_CONFIG_USAGE = `Usage: tocsin check-config --config FILE

Validates a config file as serve would read it (YAML, \${ENV} substitution, *_file secrets, every check
but the loopback rule) and prints "FILE: ok", or one line per problem on stderr.

Options:
  -c, --config FILE   the config file (default: $TOCSIN_CONFIG)
  -h, --help          print this usage

Exit code: 0 if the file is valid, 1 if not, 2 on a usage error.
`;

const CANARY_STATUS_USAGE = `Usage: tocsin canary status [--config FILE] [--limit N] [--json]

Prints each heartbeat canary's last runs, newest first, from the database in data_dir: when each started,
its rid, its outcome (open, succeeded or failed) and its latency, the reason it failed, or the stage an
open run is at. Canaries with runs that are no longer configured come last, marked "(not configured)".
It only reads the database (nothing is created or migrated), so it works while tocsin runs.

Options:
  -c, --config FILE   the config file (default: $TOCSIN_CONFIG; with neither, the built-in defaults:
                      data in ./data/tocsin.db)
      --limit N       runs per canary (default 10)
      --json          print the canaries and their runs as JSON
  -h, --help          print this usage

Exit code: 0 on success, 1 on an invalid config or when the database is missing or cannot be read,
2 on a usage error.
`;

const TEST_METHOD_USAGE = `Usage: tocsin test-method NAME [--config FILE]

Sends one clearly labelled test notification (alarm TocsinTestNotification, severity info, label
tocsin_test=true) through the configured method NAME, with its settings, secrets and templates, and prints
the answer: "sent (HTTP 202)", or why not ("failed, permanent: HTTP 400: …"). Nothing is written to the
database; no running relay is needed. Exit 0 if sent, 1 if not, 2 for a bad command line or method name.

Options:
  -c, --config FILE   the config file (default: $TOCSIN_CONFIG; with neither, the built-in defaults)
  -h, --help          this text
`;

const CANARY_USAGE = `Usage: tocsin canary status [--config FILE] [--limit N] [--json]

Commands:
  status   each heartbeat canary's last runs (tocsin canary status --help for more)
`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  listen: { type: 'string', short: 'l' },
  'insecure-no-auth': { type: 'boolean' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  version: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = keyof typeof OPTIONS;

interface Command {
  readonly usage: string;
  /** The options it takes (--version goes with every command). */
  readonly options: readonly OptionName[];
  /** Words of its name (`canary status`: 2); each is a positional argument. */
  readonly words?: number;
}

/** Every command by name; '' is the command line without one. */
const COMMANDS: Readonly<Record<string, Command>> = {
  '': { usage: USAGE, options: ['help', 'version'] },
  serve: { usage: SERVE_USAGE, options: ['config', 'listen', 'insecure-no-auth', 'help', 'version'] },
  'check-config': { usage: CHECK_CONFIG_USAGE, options: ['config', 'help', 'version'] },
  canary: { usage: CANARY_USAGE, options: ['help', 'version'] },
  'canary status': { usage: CANARY_STATUS_USAGE, options: ['config', 'limit', 'json', 'help', 'version'], words: 2 },
  'test-method': { usage: TEST_METHOD_USAGE, options: ['config', 'help', 'version'], words: 2 },
  // Older spellings of --help and --version.
  help: { usage: USAGE, options: [] },
  version: { usage: USAGE, options: [] },
};

/** What is wrong with the command line for `command` (parseArgs' tokens), if anything. */
function usageProblem(tokens: NonNullable<ReturnType<typeof parseArgs>['tokens']>, command: Command): string | undefined {
  let positionals = 0;
  for (const t of tokens) {
    if (t.kind === 'positional' && ++positionals > (command.words ?? 1)) return `unexpected argument "${t.value}"`;
    if (t.kind !== 'option') continue;
    const name = t.name as OptionName;
    if (!command.options.includes(name)) return `unknown option ${t.rawName}`;
    if (OPTIONS[name].type === 'string' && t.value === undefined) return `option ${t.rawName} needs a value`;
    if (OPTIONS[name].type === 'boolean' && t.value !== undefined) return `option ${t.rawName} takes no value`;
  }
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  // Not strict: what is wrong is reported here, in the command's terms, with its usage.
  const { values, positionals, tokens } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: false, tokens: true });
  // `canary` takes a subcommand: `canary status` is a command of its own (usage, options).
  const name = positionals[0] === 'canary' && positionals[1] !== undefined ? `canary ${positionals[1]}` : (positionals[0] ?? '');
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name]! : undefined;
  if (!command) {
    const [group, usage] = name.startsWith('canary ') ? ['tocsin canary', CANARY_USAGE] : ['tocsin', USAGE];
    process.stderr.write(`${group}: unknown command "${group === 'tocsin' ? name : positionals[1]}"\n\n${usage}`);
    return 2;
  }
  const problem = usageProblem(tokens, command);
  if (problem) {
    process.stderr.write(`tocsin${name ? ` ${name}` : ''}: ${problem}\n\n${command.usage}`);
    return 2;
  }
  if (values.help || name === 'help') {
    process.stdout.write(command.usage);
    return 0;
  }
  if (values.version || name === 'version') {
    process.stdout.write(`tocsin ${VERSION} (${COMMIT})\n`);
    return 0;
  }
  const configPath = (values.config as string | undefined) ?? process.env.TOCSIN_CONFIG;
  switch (name) {
    case 'check-config': {
      if (!configPath) {
        process.stderr.write(`tocsin check-config: --config FILE is required\n\n${CHECK_CONFIG_USAGE}`);
        return 2;
      }
      const { loadConfig } = await import('./config/load.ts');
      loadConfig(configPath);
      process.stdout.write(`${configPath}: ok\n`);
      return 0;
    }
    case 'canary status': {
      const limit = values.limit === undefined ? undefined : Number(values.limit);
      if (limit !== undefined && !(/^\d+$/.test(values.limit as string) && Number.isSafeInteger(limit) && limit >= 1)) {
        process.stderr.write(`tocsin canary status: --limit must be a whole number of at least 1\n\n${CANARY_STATUS_USAGE}`);
        return 2;
      }
      const { canaryStatus } = await import('./canary/status-command.ts');
      return canaryStatus({ configPath, limit, json: values.json === true });
    }
    case 'test-method': {
      const method = positionals[1];
      if (method === undefined) {
        process.stderr.write(`tocsin test-method: the method's NAME is required\n\n${TEST_METHOD_USAGE}`);
        return 2;
      }
      const [{ loadConfig }, { defaultConfig }, { testMethod }, { loadPlatform }, { systemClock }, { mailTransports }] = await Promise.all([
        import('./config/load.ts'),
        import('./config/defaults.ts'),
        import('./channels/test-method-command.ts'),
        import('./runtime/detect.ts'),
        import('./lib/clock.ts'),
        import('./runtime/mail.ts'),
      ]);
      const config = configPath ? loadConfig(configPath) : defaultConfig();
      const http = await (await loadPlatform()).createHttpClient();
      const mail = mailTransports();
      try {
        return await testMethod({
          config,
          method,
          deps: { http: http.client, mail: mail.mail, clock: systemClock, writeLine: (line) => void process.stdout.write(`${line}\n`) },
          randomId: () => globalThis.crypto.randomUUID().replaceAll('-', '').slice(0, 16),
          stdout: (t) => void process.stdout.write(t),
          stderr: (t) => void process.stderr.write(t),
        });
      } finally {
        await http.close();
        await mail.close();
      }
    }
    case 'canary': // no subcommand
      process.stderr.write(CANARY_USAGE);
      return 2;
    case 'serve': {
      const { serve } = await import('./serve.ts');
      return serve({ configPath, listen: values.listen as string | undefined, insecureNoAuth: values['insecure-no-auth'] === true });
    }
    default: // no command
      process.stdout.write(USAGE);
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
