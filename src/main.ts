#!/usr/bin/env node
/**
 * @module main
 * The thin CLI: `tocsin serve`, `tocsin check-config`, `tocsin canary status`, `tocsin test-method`,
 * `tocsin silence add|list|expire`, `tocsin check add|list|pause|resume|remove`, `tocsin --version`. Each
 * command loads only what it needs: `--version` and `--help` (of any command) load nothing else,
 * `check-config` loads the config parser, `canary status` the parser and the database (not the relay),
 * `silence ...` and `check ...` their HTTP client alone (they talk to a running relay), and only `serve` loads the relay.
 * A command line it cannot use (an unknown option, a missing value, a stray argument) gets the
 * command's usage on stderr and exit code 2.
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
  tocsin silence add MATCHER... (--duration D | --ends-at TIME) --comment TEXT
                                                      silence the matching alarms on a running relay
  tocsin silence list [--state STATE]                 a running relay's silences
  tocsin silence expire ID...                         end silences now (the silence commands talk to
                                                      a running relay's admin API: --url URL and
                                                      --token TOKEN, or $TOCSIN_URL and $TOCSIN_TOKEN)
  tocsin check add NAME (--period D | --schedule CRON [--tz ZONE]) [--grace D] [--label K=V]...
                                                      add a heartbeat check on a running relay
  tocsin check list                                   a running relay's heartbeat checks
  tocsin check pause|resume|remove NAME               pause, resume or remove a check added with
                                                      check add (--url and --token as silence)
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

const SILENCE_COMMON_OPTIONS = `      --url URL           the running relay (default: $TOCSIN_URL, else http://127.0.0.1:9095)
      --token TOKEN       one of the relay's admin.tokens (default: $TOCSIN_TOKEN); never printed`;

const SILENCE_EXIT_CODES = `Exit code: 0 on success; 1 when the relay answered an error (its message is printed, e.g.
"401 unknown admin token") or could not be reached; 2 on a usage error`;

const SILENCE_USAGE = `Usage: tocsin silence add MATCHER... (--duration D | --ends-at TIME) --comment TEXT [OPTIONS]
       tocsin silence list [--state active|pending|expired] [OPTIONS]
       tocsin silence expire ID... [OPTIONS]

Manages the silences of a running relay through its admin API (admin.tokens in the relay's config). A
silence mutes the alarms it matches until it ends; when one ends early (expire), the alarms it held that
still fire are notified then.

Commands:
  add      silence the alarms matching every MATCHER (tocsin silence add --help for more)
  list     the silences: ID, STATE, ENDS, CREATED BY, MATCH, COMMENT
  expire   end silences now

Options of every silence command:
${SILENCE_COMMON_OPTIONS}
      --json              print the relay's JSON answer instead of text
  -h, --help              print the command's usage

${SILENCE_EXIT_CODES}.
`;

const SILENCE_ADD_USAGE = `Usage: tocsin silence add MATCHER... (--duration D | --ends-at TIME) --comment TEXT
                          [--starts-at TIME] [--created-by NAME] [--url URL] [--token TOKEN] [--json]

Creates a silence on a running relay: from --starts-at (default now) until --ends-at, or for --duration,
it mutes every alarm that matches all the MATCHERs. Prints the new silence's id.

Matchers (as amtool's; a value may be written in double quotes):
  label=value    the label is value             label!=value   it is not, or the alarm has no such label
  label=~regex   the whole label matches regex  label!~regex   it does not, or the alarm has no such label
The names alertname (or name), source, severity and status match the alarm's field of that name instead
of a label. Example:
  tocsin silence add alertname=DiskFull host=~db-.* --duration 2h --comment "disk replacement"

Options:
      --duration D        how long: 30s, 90m, 2h, 1d, 1h30m (counted from --starts-at, default now)
      --ends-at TIME      when it ends, RFC 3339 like 2026-12-01T12:00:00Z; give --duration or --ends-at
      --starts-at TIME    when it starts, RFC 3339 (default now)
      --comment TEXT      why the alarms are silenced (required)
      --created-by NAME   who silences them (default: $USER, else tocsin-cli)
${SILENCE_COMMON_OPTIONS}
      --json              print the new silence as JSON
  -h, --help              print this usage

${SILENCE_EXIT_CODES} (a bad matcher, time or
duration, no --comment, both or neither of --duration and --ends-at).
`;

const SILENCE_LIST_USAGE = `Usage: tocsin silence list [--state active|pending|expired] [--url URL] [--token TOKEN] [--json]

Prints a running relay's silences, one a line: ID, STATE (active, pending: starts later, expired), ENDS,
CREATED BY, MATCH (as the MATCHERs of tocsin silence add) and COMMENT.

Options:
      --state STATE       only the silences in this state: active, pending or expired
${SILENCE_COMMON_OPTIONS}
      --json              print the relay's answer: {"silences": [...]}
  -h, --help              print this usage

${SILENCE_EXIT_CODES}.
`;

const SILENCE_EXPIRE_USAGE = `Usage: tocsin silence expire ID... [--url URL] [--token TOKEN] [--json]

Ends each silence now and prints "expired ID"; the alarms it held that still fire are notified then.
An unknown ID is reported on stderr (exit code 1); the other IDs are still expired.

Options:
${SILENCE_COMMON_OPTIONS}
      --json              print each expired silence as one line of JSON
  -h, --help              print this usage

${SILENCE_EXIT_CODES}.
`;

const CHECK_EXIT_CODES = SILENCE_EXIT_CODES;

const CHECK_USAGE = `Usage: tocsin check add NAME (--period D | --schedule CRON [--tz ZONE]) [--grace D] [--label K=V]... [OPTIONS]
       tocsin check list [OPTIONS]
       tocsin check pause NAME [OPTIONS]
       tocsin check resume NAME [OPTIONS]
       tocsin check remove NAME [OPTIONS]

Manages the heartbeat checks of a running relay through its admin API (admin.tokens in the relay's
config). A job pings its check's URL when it runs; a ping that does not come in time becomes an alarm.
Checks of the config file are listed, but only the ones added here can be paused, resumed or removed.

Commands:
  add      add a check (tocsin check add --help for more); prints its ping URL
  list     the checks: NAME, STATUS, SCHEDULE, GRACE, LAST PING, PING PATH
  pause    no alarms from a check until it is resumed
  resume   watch a paused check again (it starts over as new)
  remove   remove a check (a firing alarm of it is resolved)

Options of every check command:
${SILENCE_COMMON_OPTIONS}
      --json              print the relay's JSON answer instead of text
  -h, --help              print the command's usage

${CHECK_EXIT_CODES}.
`;

const CHECK_ADD_USAGE = `Usage: tocsin check add NAME (--period D | --schedule CRON [--tz ZONE]) [--grace D] [--label K=V]...
                        [--url URL] [--token TOKEN] [--json]

Adds a heartbeat check to a running relay (kept in its database) and prints the check's ping URL. The job
pings it when it has run (curl -fsS -m 10 --retry 5 URL); no ping within the period (or after the
schedule's time) plus the grace time fires the alarm HeartbeatMissing with the check's labels.
Example:
  tocsin check add nightly-backup --schedule "0 3 * * *" --tz Europe/Berlin --grace 1h --label team=storage

Options:
      --period D          a ping is due D after the last one: 30s, 5m, 1h, 1d (give --period or --schedule)
      --schedule CRON     a ping is due at each time of a 5-field cron expression, like "0 3 * * *"
      --tz ZONE           the IANA time zone of --schedule, like Europe/Berlin (default UTC)
      --grace D           how late a ping may come before the check goes down (default 1m)
      --label K=V         a label of the check's alarms; repeat it for more
${SILENCE_COMMON_OPTIONS}
      --json              print the new check as JSON
  -h, --help              print this usage

${CHECK_EXIT_CODES} (both or neither of --period and
--schedule, --tz without --schedule, a bad duration or label).
`;

const CHECK_LIST_USAGE = `Usage: tocsin check list [--url URL] [--token TOKEN] [--json]

Prints a running relay's heartbeat checks, one a line: NAME, STATUS (new, up, down and why: missing,
failed or unfinished; paused), SCHEDULE ("every 5m", or a cron expression and its time zone), GRACE,
LAST PING and PING PATH (/ping/<uuid>, on the relay's address).

Options:
${SILENCE_COMMON_OPTIONS}
      --json              print the relay's answer: {"checks": [...]}
  -h, --help              print this usage

${CHECK_EXIT_CODES}.
`;

/** The usage of check pause, resume and remove. */
const checkNameUsage = (command: string, what: string) => `Usage: tocsin check ${command} NAME [--url URL] [--token TOKEN] [--json]

${what} A check of the config file cannot be changed at runtime (the relay answers 409): edit the file and
reload.

Options:
${SILENCE_COMMON_OPTIONS}
      --json              print the check as JSON
  -h, --help              print this usage

${CHECK_EXIT_CODES}.
`;
const CHECK_PAUSE_USAGE = checkNameUsage('pause', 'Pauses a check added with tocsin check add: no alarms and nothing due until it is resumed.');
const CHECK_RESUME_USAGE = checkNameUsage('resume', 'Resumes a paused check; it starts over as new (due one period after its next ping).');
const CHECK_REMOVE_USAGE = checkNameUsage('remove', 'Removes a check added with tocsin check add, and its state; a firing alarm of it is resolved.');

/** The commands made of two words (`canary status`): the group's usage lists its subcommands. */
const GROUPS: Readonly<Record<string, string>> = { canary: CANARY_USAGE, silence: SILENCE_USAGE, check: CHECK_USAGE };

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  listen: { type: 'string', short: 'l' },
  'insecure-no-auth': { type: 'boolean' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  url: { type: 'string' },
  token: { type: 'string' },
  duration: { type: 'string' },
  'ends-at': { type: 'string' },
  'starts-at': { type: 'string' },
  comment: { type: 'string' },
  'created-by': { type: 'string' },
  state: { type: 'string' },
  period: { type: 'string' },
  schedule: { type: 'string' },
  tz: { type: 'string' },
  grace: { type: 'string' },
  label: { type: 'string', multiple: true },
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
  /** It takes any number of positional arguments after its words (`silence add MATCHER...`). */
  readonly rest?: boolean;
}

const SILENCE_OPTIONS = ['url', 'token', 'json', 'help', 'version'] as const;

/** Every command by name; '' is the command line without one. */
const COMMANDS: Readonly<Record<string, Command>> = {
  '': { usage: USAGE, options: ['help', 'version'] },
  serve: { usage: SERVE_USAGE, options: ['config', 'listen', 'insecure-no-auth', 'help', 'version'] },
  'check-config': { usage: CHECK_CONFIG_USAGE, options: ['config', 'help', 'version'] },
  canary: { usage: CANARY_USAGE, options: ['help', 'version'] },
  'canary status': { usage: CANARY_STATUS_USAGE, options: ['config', 'limit', 'json', 'help', 'version'], words: 2 },
  'test-method': { usage: TEST_METHOD_USAGE, options: ['config', 'help', 'version'], words: 2 },
  silence: { usage: SILENCE_USAGE, options: ['help', 'version'] },
  'silence add': {
    usage: SILENCE_ADD_USAGE,
    options: [...SILENCE_OPTIONS, 'duration', 'ends-at', 'starts-at', 'comment', 'created-by'],
    words: 2,
    rest: true,
  },
  'silence list': { usage: SILENCE_LIST_USAGE, options: [...SILENCE_OPTIONS, 'state'], words: 2 },
  'silence expire': { usage: SILENCE_EXPIRE_USAGE, options: SILENCE_OPTIONS, words: 2, rest: true },
  check: { usage: CHECK_USAGE, options: ['help', 'version'] },
  // words: 3, the NAME with them (`check add NAME`); its absence is checked by the command.
  'check add': { usage: CHECK_ADD_USAGE, options: [...SILENCE_OPTIONS, 'period', 'schedule', 'tz', 'grace', 'label'], words: 3 },
  'check list': { usage: CHECK_LIST_USAGE, options: SILENCE_OPTIONS, words: 2 },
  'check pause': { usage: CHECK_PAUSE_USAGE, options: SILENCE_OPTIONS, words: 3 },
  'check resume': { usage: CHECK_RESUME_USAGE, options: SILENCE_OPTIONS, words: 3 },
  'check remove': { usage: CHECK_REMOVE_USAGE, options: SILENCE_OPTIONS, words: 3 },
  // Older spellings of --help and --version.
  help: { usage: USAGE, options: [] },
  version: { usage: USAGE, options: [] },
};

/** What is wrong with the command line for `command` (parseArgs' tokens), if anything. */
function usageProblem(tokens: NonNullable<ReturnType<typeof parseArgs>['tokens']>, command: Command): string | undefined {
  let positionals = 0;
  for (const t of tokens) {
    if (t.kind === 'positional' && ++positionals > (command.words ?? 1) && !command.rest) return `unexpected argument "${t.value}"`;
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
  // A group (`canary`, `silence`) takes a subcommand: `canary status` is a command of its own (usage, options).
  const group = positionals[0] !== undefined && Object.hasOwn(GROUPS, positionals[0]) ? positionals[0] : undefined;
  const name = group !== undefined && positionals[1] !== undefined ? `${group} ${positionals[1]}` : (positionals[0] ?? '');
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name]! : undefined;
  if (!command) {
    const [prefix, usage] = group !== undefined ? [`tocsin ${group}`, GROUPS[group]!] : ['tocsin', USAGE];
    process.stderr.write(`${prefix}: unknown command "${group === undefined ? name : positionals[1]}"\n\n${usage}`);
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
    case 'silence add':
    case 'silence list':
    case 'silence expire': {
      const { silenceCommand } = await import('./cli/silence-command.ts');
      return silenceCommand({
        command: name.slice('silence '.length) as 'add' | 'list' | 'expire',
        args: positionals.slice(2),
        // usageProblem let through only string values for string options and none for --json.
        values: values as import('./cli/silence-command.ts').SilenceValues,
        env: process.env,
        usage: command.usage,
      });
    }
    case 'check add':
    case 'check list':
    case 'check pause':
    case 'check resume':
    case 'check remove': {
      const { checkCommand } = await import('./cli/check-command.ts');
      return checkCommand({
        command: name.slice('check '.length) as import('./cli/check-command.ts').CheckSubcommand,
        args: positionals.slice(2),
        // usageProblem let through only string values for string options and none for --json.
        values: values as import('./cli/check-command.ts').CheckValues,
        env: process.env,
        usage: command.usage,
      });
    }
    case 'canary': // no subcommand
    case 'silence':
    case 'check':
      process.stderr.write(GROUPS[name]!);
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
