#!/usr/bin/env node
/**
 * @module main
 * The thin CLI: `tocsin serve`, `tocsin check-config`, `tocsin canary status`, `tocsin test-method`,
 * `tocsin silence add|list|expire`, `tocsin check add|list|pause|resume|remove`, and the operator commands
 * `tocsin alarms`, `notifications`, `dead-letters`, `methods`, `reload`; `tocsin --version`. Each
 * command loads only what it needs: `--version` and `--help` (of any command) load nothing else,
 * `check-config` loads the config parser, `canary status` the parser and the database (not the relay),
 * the commands that talk to a running relay (`silence ...`, `check ...`, `alarms`, `dead-letters`, ...,
 * `test-method --url`) their HTTP client alone, and only `serve` loads the relay.
 * A command line it cannot use (an unknown option, a missing value, a stray argument) gets the
 * command's usage on stderr and exit code 2.
 */
import { parseArgs } from 'node:util';
import { COMMIT, VERSION } from './version.ts';

/** The exit-code table of src/cli/exit-codes.ts (EXIT_CODES_TEXT; a test keeps the two equal), here so --help loads nothing. */
const EXIT_CODES = `Exit codes:
  0   ok
  1   the operation failed (an error answer of the relay, a replay partly skipped, a test not sent)
  2   usage error (nothing was sent)
  3   the relay could not be reached (connection refused, no answer in time)
  4   authentication or authorization failed (HTTP 401 or 403: no, unknown or non-admin token)
`;

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
  tocsin alarms [--state S] [--source S] [--name N] [--label K=V]... [--since T] [--until T] [--all]
                                                      a running relay's alarms, newest first
  tocsin alarms show ID                               one alarm, its state and its notifications
  tocsin notifications ID                             one notification and its attempts, by series
  tocsin dead-letters [--method M] [--reason R] [--since T] [--until T]
                                                      the dead letters; act on them with --replay ID,
                                                      --replay-all, --discard ID, --discard-all
  tocsin methods [list] | show NAME | add NAME --type T [--set K=V]... | remove NAME
                                                      a running relay's notification methods
  tocsin test-method NAME --url URL                   the test notification sent by a running relay
  tocsin reload                                       a running relay re-reads its config file (as SIGHUP)
  tocsin --version
  tocsin COMMAND --help                               the command's usage

The commands that talk to a running relay take --url URL and --token TOKEN (one of its admin.tokens), or
$TOCSIN_URL and $TOCSIN_TOKEN; --json prints the relay's JSON answer instead of a table.

With no config, tocsin listens on 127.0.0.1:9095, keeps its data in ./data/tocsin.db and prints every
notification as one JSON line on stdout (the built-in "log" method).

${EXIT_CODES}`;

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
       tocsin test-method NAME --url URL [--token TOKEN] [--json]

Sends one clearly labelled test notification (alarm TocsinTestNotification, severity info, label
tocsin_test=true) through the configured method NAME, with its settings, secrets and templates, and prints
the answer: "sent (HTTP 202)", or why not ("failed, permanent: HTTP 400: …"). Nothing is written to the
database; no running relay is needed. Exit 0 if sent, 1 if not, 2 for a bad command line or method name.

With --url (or $TOCSIN_URL and no config file given), the running relay sends it instead, through its
method NAME (one of the file or one added with tocsin methods add): exit 0 if sent, 1 if not, 3 if the
relay cannot be reached, 4 if it refuses the token.

Options:
  -c, --config FILE   the config file (default: $TOCSIN_CONFIG; with neither, the built-in defaults)
      --url URL       ask the running relay at URL (default: $TOCSIN_URL when no config file is given)
      --token TOKEN   one of the relay's admin.tokens (default: $TOCSIN_TOKEN); never printed
      --json          print the relay's answer as JSON
  -h, --help          this text
`;

const CANARY_USAGE = `Usage: tocsin canary status [--config FILE] [--limit N] [--json]

Commands:
  status   each heartbeat canary's last runs (tocsin canary status --help for more)
`;

const SILENCE_COMMON_OPTIONS = `      --url URL           the running relay (default: $TOCSIN_URL, else http://127.0.0.1:9095)
      --token TOKEN       one of the relay's admin.tokens (default: $TOCSIN_TOKEN); never printed`;

const SILENCE_EXIT_CODES = `Exit code: 0 on success; 1 when the relay answered an error (its message is printed, e.g.
"404 no such silence"); 3 when the relay cannot be reached; 4 when it refuses the token (401 or 403); 2 on a usage error`;

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

const ADMIN_EXIT_CODES = `Exit code: 0 on success; 1 when the relay answered an error (its message is printed); 2 on a usage
error; 3 when the relay cannot be reached; 4 when it refuses the token (401 or 403)`;

const ALARMS_USAGE = `Usage: tocsin alarms [list] [--state firing|resolved] [--source S] [--name N] [--label K=V]...
                     [--since T] [--until T] [--limit N] [--cursor C | --all] [OPTIONS]
       tocsin alarms show ID [OPTIONS]

Prints a running relay's alarms, one a line, newest first: the current state of each alarm (one line per
source and dedup key): STATUS, NAME, SOURCE, SEVERITY, SINCE, LAST SEEN, COUNT (occurrences), SILENCED BY,
ID (its latest occurrence) and LABELS. "alarms show ID" prints one occurrence, its alarm's state and its
notifications (their IDs go to tocsin notifications ID).

Options:
      --state STATE       firing or resolved
      --source S          only alarms of this source
      --name N            only alarms of this name
      --label K=V         only alarms with this label; repeat it for more (all must match)
      --since T           last seen at or after T: RFC 3339 like 2026-12-01T12:00:00Z, or a duration ago: 2h
      --until T           last seen at or before T (as --since)
      --limit N           alarms per page, 1 to 1000 (default 100)
      --cursor C          the page after the one that printed this cursor
      --all               every page
${SILENCE_COMMON_OPTIONS}
      --json              print the relay's JSON answer ({"items": [...], "next_cursor": ...})
  -h, --help              print this usage

${ADMIN_EXIT_CODES}.
`;

const ALARMS_SHOW_USAGE = `Usage: tocsin alarms show ID [--url URL] [--token TOKEN] [--json]

Prints one alarm occurrence of a running relay (its fields, labels and annotations), the current state of
its alarm, and its notifications: ID, METHOD, STATE (pending, inflight, sent, dead), ATTEMPTS, CREATED,
SENT/DEAD/NEXT (when it was sent, died, or is next tried), LAST STATUS and LAST ERROR.

Options:
${SILENCE_COMMON_OPTIONS}
      --json              print the relay's JSON answer
  -h, --help              print this usage

${ADMIN_EXIT_CODES}.
`;

const NOTIFICATIONS_USAGE = `Usage: tocsin notifications ID [--url URL] [--token TOKEN] [--json]

Prints one notification of a running relay (its method, state, alarm, times, last error) and every
attempt to deliver it: ATTEMPT, AT, OUTCOME (sent, retry, permanent, aborted), STATUS, LATENCY, ERROR,
grouped by series: series 0 is the first delivery, series n the one after the n-th replay (with when and
by whom it was replayed).

Options:
${SILENCE_COMMON_OPTIONS}
      --json              print the relay's JSON answer
  -h, --help              print this usage

${ADMIN_EXIT_CODES}.
`;

const DEAD_LETTERS_USAGE = `Usage: tocsin dead-letters [FILTER] [--limit N] [--cursor C | --all] [OPTIONS]
       tocsin dead-letters --replay ID[,ID...] [--replay ID...] [--by WHO] [OPTIONS]
       tocsin dead-letters --replay-all FILTER [--yes] [--by WHO] [OPTIONS]
       tocsin dead-letters --discard ID[,ID...] [OPTIONS]
       tocsin dead-letters --discard FILTER | --discard-all FILTER [--yes] [OPTIONS]

Without an action, prints a running relay's dead letters (notifications it gave up on), newest first:
ID, METHOD, DEAD AT, ATTEMPTS, LAST STATUS, ALARM and REASON.
--replay sends the given dead letters again: each goes back to pending with a new series of attempts, and
who replayed it is recorded (tocsin notifications ID shows it). --replay-all replays every dead letter the
filter matches, a thousand per request, with the progress on stderr. A dead letter of a method that is no
longer configured is skipped and reported.
--discard deletes the given dead letters; --discard-all (or --discard with filter flags) every one the
filter matches; with --method of a method that is no longer configured, also its pending notifications.
--replay-all and --discard-all without a filter act on EVERY dead letter: they need --yes.

Filter:
      --method M          dead letters of this method
      --reason R          whose reason contains R (any case)
      --since T           dead at or after T: RFC 3339 like 2026-12-01T12:00:00Z, or a duration ago: 2h
      --until T           dead at or before T (as --since)
Options:
      --limit N           dead letters per page, or per request of an action on a filter, 1 to 1000
      --cursor C          the page after the one that printed this cursor
      --all               every page
      --yes               act on every dead letter (--replay-all or --discard-all without a filter)
      --by WHO            who replays or discards (default: $USER@hostname)
${SILENCE_COMMON_OPTIONS}
      --json              print the relay's JSON answer (of an action: the totals and the IDs)
  -h, --help              print this usage

${ADMIN_EXIT_CODES}; an unknown ID, a skipped dead letter, or dead letters
left over also exit 1.
`;

const METHODS_USAGE = `Usage: tocsin methods [list] [OPTIONS]
       tocsin methods show NAME [OPTIONS]
       tocsin methods add NAME (--type T | --file FILE) [--set KEY=VALUE]... [--by WHO] [OPTIONS]
       tocsin methods remove NAME [OPTIONS]

Manages the notification methods of a running relay through its admin API. Secrets are never shown
("***"). Methods of the config file are read-only (edit the file and tocsin reload); a method added here is
kept in the relay's database, checked as one of the file would be.

Commands:
  list     the methods: NAME, TYPE, ORIGIN (file or api), CREATED, CREATED BY, SETTINGS
  show     one method and its settings
  add      add a method (tocsin methods add --help for more)
  remove   remove a method added here (not one a route still names)

Options of every methods command:
${SILENCE_COMMON_OPTIONS}
      --json              print the relay's JSON answer instead of text
  -h, --help              print the command's usage

${ADMIN_EXIT_CODES}.
`;

const METHODS_ADD_USAGE = `Usage: tocsin methods add NAME (--type T | --file FILE) [--set KEY=VALUE]... [--by WHO]
                         [--url URL] [--token TOKEN] [--json]

Adds a method to a running relay, with the keys of a method in the config file: from --file (YAML or
JSON, one method: type and settings), then --type, then each --set (its value read as YAML: 5 is a
number, true a boolean; a dotted key sets a nested key: --set headers.X-Team=ops). A secret is best given
in the file, not on the command line. Example:
  tocsin methods add ops-hook --type webhook --set url=https://hooks.example.com/tocsin

Options:
      --type T            the method's type: webhook, slack, pagerduty, email, ...
      --file FILE         the method as YAML or JSON
      --set KEY=VALUE     one setting; repeat it for more
      --by WHO            who adds it (default: $USER@hostname)
${SILENCE_COMMON_OPTIONS}
      --json              print the new method as JSON
  -h, --help              print this usage

${ADMIN_EXIT_CODES}.
`;

/** The usage of methods show and remove. */
const methodsNameUsage = (command: string, what: string) => `Usage: tocsin methods ${command} NAME [--url URL] [--token TOKEN] [--json]

${what}

Options:
${SILENCE_COMMON_OPTIONS}
      --json              print the relay's JSON answer
  -h, --help              print this usage

${ADMIN_EXIT_CODES}.
`;
const METHODS_SHOW_USAGE = methodsNameUsage('show', 'Prints one method of a running relay and its settings (secrets as "***").');
const METHODS_REMOVE_USAGE = methodsNameUsage('remove', 'Removes a method added with tocsin methods add. A method of the config file, or one a route still\nnames, is not removed (the relay answers 409).');

const RELOAD_USAGE = `Usage: tocsin reload [--url URL] [--token TOKEN] [--json]

Asks a running relay to re-read its config file, as SIGHUP does, and prints what changed: the methods
added, removed and changed, and the settings that need a restart to apply. Deliveries in flight go on.
An invalid file is refused: the relay keeps its running configuration and its problems are printed, one a
line (exit 1).

Options:
${SILENCE_COMMON_OPTIONS}
      --json              print the relay's JSON answer
  -h, --help              print this usage

${ADMIN_EXIT_CODES}.
`;

/** The commands made of two words (`canary status`): the group's usage lists its subcommands. */
const GROUPS: Readonly<Record<string, string>> = { canary: CANARY_USAGE, silence: SILENCE_USAGE, check: CHECK_USAGE, alarms: ALARMS_USAGE, methods: METHODS_USAGE };

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
  source: { type: 'string' },
  name: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean' },
  method: { type: 'string' },
  reason: { type: 'string' },
  replay: { type: 'string', multiple: true },
  'replay-all': { type: 'boolean' },
  discard: { type: 'string', multiple: true },
  'discard-all': { type: 'boolean' },
  yes: { type: 'boolean' },
  by: { type: 'string' },
  type: { type: 'string' },
  set: { type: 'string', multiple: true },
  file: { type: 'string' },
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
/** The options of a paged list (alarms, dead letters). */
const LIST_OPTIONS = ['since', 'until', 'limit', 'cursor', 'all'] as const;
const ALARMS_OPTIONS = [...SILENCE_OPTIONS, ...LIST_OPTIONS, 'state', 'source', 'name', 'label'] as const;

/** Every command by name; '' is the command line without one. */
const COMMANDS: Readonly<Record<string, Command>> = {
  '': { usage: USAGE, options: ['help', 'version'] },
  serve: { usage: SERVE_USAGE, options: ['config', 'listen', 'insecure-no-auth', 'help', 'version'] },
  'check-config': { usage: CHECK_CONFIG_USAGE, options: ['config', 'help', 'version'] },
  canary: { usage: CANARY_USAGE, options: ['help', 'version'] },
  'canary status': { usage: CANARY_STATUS_USAGE, options: ['config', 'limit', 'json', 'help', 'version'], words: 2 },
  'test-method': { usage: TEST_METHOD_USAGE, options: ['config', 'url', 'token', 'json', 'help', 'version'], words: 2 },
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
  alarms: { usage: ALARMS_USAGE, options: [...ALARMS_OPTIONS] },
  'alarms list': { usage: ALARMS_USAGE, options: [...ALARMS_OPTIONS], words: 2 },
  'alarms show': { usage: ALARMS_SHOW_USAGE, options: SILENCE_OPTIONS, words: 3 },
  notifications: { usage: NOTIFICATIONS_USAGE, options: SILENCE_OPTIONS, words: 2 },
  'dead-letters': {
    usage: DEAD_LETTERS_USAGE,
    options: [...SILENCE_OPTIONS, ...LIST_OPTIONS, 'method', 'reason', 'replay', 'replay-all', 'discard', 'discard-all', 'yes', 'by'],
  },
  methods: { usage: METHODS_USAGE, options: SILENCE_OPTIONS },
  'methods list': { usage: METHODS_USAGE, options: SILENCE_OPTIONS, words: 2 },
  'methods show': { usage: METHODS_SHOW_USAGE, options: SILENCE_OPTIONS, words: 3 },
  'methods add': { usage: METHODS_ADD_USAGE, options: [...SILENCE_OPTIONS, 'type', 'set', 'file', 'by'], words: 3 },
  'methods remove': { usage: METHODS_REMOVE_USAGE, options: SILENCE_OPTIONS, words: 3 },
  reload: { usage: RELOAD_USAGE, options: SILENCE_OPTIONS },
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

/** The arguments as parseArgs reads them (not strict: what is wrong is reported in the command's terms). */
const parse = (args: string[]) => parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: false, tokens: true });

/**
 * `dead-letters --discard` takes IDs, or none before another option (`--discard --method M`): without an ID
 * it means --discard-all, which parseArgs cannot tell (a string option takes the next argument).
 */
function bareDiscard(argv: string[]): string[] {
  return argv.map((a, i) => (a === '--discard' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('-')) ? '--discard-all' : a));
}

async function main(argv: string[]): Promise<number> {
  let parsed = parse(argv);
  if (parsed.positionals[0] === 'dead-letters') parsed = parse(bareDiscard(argv));
  const { values, positionals, tokens } = parsed;
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
      const { checkConfig } = await import('./cli/check-config-command.ts');
      return checkConfig({
        configPath,
        env: process.env,
        // Only for a file that names methods it does not define (created through the admin API).
        openDatabase: async () => (await (await import('./runtime/detect.ts')).loadPlatform()).loadSqlite(),
        stdout: (t) => void process.stdout.write(t),
      });
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
      // --url (or $TOCSIN_URL without a config file): the running relay sends it.
      if (values.url !== undefined || (process.env.TOCSIN_URL && !configPath)) {
        if (values.config !== undefined) {
          process.stderr.write(`tocsin test-method: give either --config (test here) or --url (the running relay tests), not both\n\n${TEST_METHOD_USAGE}`);
          return 2;
        }
        const { methodsCommand } = await import('./cli/methods-command.ts');
        return methodsCommand({ command: 'test', args: [method], values: values as import('./cli/methods-command.ts').MethodsValues, env: process.env, usage: command.usage });
      }
      if (values.token !== undefined || values.json !== undefined) {
        process.stderr.write(`tocsin test-method: --token and --json go with --url (the running relay tests)\n\n${TEST_METHOD_USAGE}`);
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
    case 'alarms':
    case 'alarms list':
    case 'alarms show': {
      const { alarmsCommand } = await import('./cli/alarms-command.ts');
      return alarmsCommand({
        command: name === 'alarms show' ? 'show' : 'list',
        args: positionals.slice(2),
        values: values as import('./cli/alarms-command.ts').AlarmsValues,
        env: process.env,
        usage: command.usage,
      });
    }
    case 'notifications': {
      const { notificationsCommand } = await import('./cli/notifications-command.ts');
      return notificationsCommand({ command: '', args: positionals.slice(1), values: values as import('./cli/notifications-command.ts').NotificationsValues, env: process.env, usage: command.usage });
    }
    case 'dead-letters': {
      const { deadLettersCommand } = await import('./cli/dead-letters-command.ts');
      return deadLettersCommand({ command: '', values: values as import('./cli/dead-letters-command.ts').DeadLettersValues, env: process.env, usage: command.usage });
    }
    case 'methods':
    case 'methods list':
    case 'methods show':
    case 'methods add':
    case 'methods remove': {
      const { methodsCommand } = await import('./cli/methods-command.ts');
      return methodsCommand({
        command: name === 'methods' ? 'list' : (name.slice('methods '.length) as 'list' | 'show' | 'add' | 'remove'),
        args: positionals.slice(2),
        values: values as import('./cli/methods-command.ts').MethodsValues,
        env: process.env,
        usage: command.usage,
      });
    }
    case 'reload': {
      const { reloadCommand } = await import('./cli/reload-command.ts');
      return reloadCommand({ command: '', values: values as import('./cli/reload-command.ts').ReloadValues, env: process.env, usage: command.usage });
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
