/**
 * @module runtime/logger
 * The relay's pino logger: JSON lines, or human-readable lines when stderr is a terminal
 * (`TOCSIN_LOG_FORMAT=json|pretty` decides instead). Pretty lines are made in the same thread, synchronously
 * (pino-pretty's formatter, not a worker transport: it works in the compiled binary too), and written to
 * the same destination; pino-pretty is loaded only for the pretty format (lines logged while it loads are
 * kept, and written in order once it is there). Fields that name a secret (tokens, passwords, authorization headers, URLs that
 * carry credentials) are replaced by `<secret>` whatever logs them; Secret values print as `<secret>`
 * anyway (lib/secret).
 */
import pino from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export type LogFormat = 'json' | 'pretty';

/** Where the lines go (the relay's LogDestination on stderr, or a test's array). */
export interface LogSink {
  write(line: string): void;
  /** Calls cb once every line so far is written (or dropped). */
  flush?(cb?: () => void): void;
}

/** Field paths whose values are never logged. */
export const REDACTED_PATHS: readonly string[] = [
  'token', 'password', 'secret', 'authorization', 'api_key', 'routing_key', 'ping_key', 'ping_url', 'webhook_url', 'url',
  '*.token', '*.password', '*.secret', '*.authorization', '*.api_key', '*.routing_key', '*.ping_key', '*.ping_url', '*.webhook_url', '*.url',
  'headers.cookie', '*.headers.cookie', '*.headers.authorization',
];

/**
 * The format: TOCSIN_LOG_FORMAT when set (json or pretty), else pretty on a terminal and JSON otherwise.
 * `problem`: TOCSIN_LOG_FORMAT has another value (JSON is used, and the logger says so).
 */
export function logFormat(env: Readonly<Record<string, string | undefined>>, isTty: boolean): { format: LogFormat; problem?: string } {
  const given = env.TOCSIN_LOG_FORMAT?.trim().toLowerCase();
  if (given === undefined || given === '') return { format: isTty ? 'pretty' : 'json' };
  if (given === 'json' || given === 'pretty') return { format: given };
  return { format: 'json', problem: `TOCSIN_LOG_FORMAT must be json or pretty, not ${JSON.stringify(env.TOCSIN_LOG_FORMAT!.slice(0, 40))}; logging JSON` };
}

/** Lines kept while pino-pretty loads, at most (later ones are dropped). */
const MAX_EARLY_LINES = 10_000;

type PrettyFactory = (line: string) => string;

async function loadPretty(colorize: boolean): Promise<PrettyFactory> {
  const { default: pinoPretty } = await import('pino-pretty');
  return pinoPretty.prettyFactory({ colorize, translateTime: false, ignore: 'pid,hostname' });
}

/**
 * A sink that turns each JSON line into a pretty one before writing it to `sink`. Its `flush` waits for
 * pino-pretty to load; should it not load, lines go out as JSON.
 */
export function prettySink(sink: LogSink, colorize: boolean, load: (colorize: boolean) => Promise<PrettyFactory> = loadPretty): LogSink {
  let pretty: PrettyFactory | undefined;
  let early: string[] = [];
  const loaded = load(colorize).then(
    (p) => {
      pretty = p;
    },
    () => {
      pretty = (line) => line;
    },
  ).then(() => {
    for (const line of early) sink.write(pretty!(line));
    early = [];
  });
  return {
    write(line) {
      if (pretty) sink.write(pretty(line));
      else if (early.length < MAX_EARLY_LINES) early.push(line);
    },
    flush(cb) {
      void loaded.then(() => (sink.flush ? sink.flush(cb) : cb?.()));
    },
  };
}

export interface LoggerOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Is the sink a terminal (stderr)? Decides the format when TOCSIN_LOG_FORMAT does not; colors too. */
  readonly isTty?: boolean;
}

/**
 * @example
 * const logger = buildLogger(config.logLevel, new LogDestination(2), { env: process.env, isTty: process.stderr.isTTY === true });
 */
export function buildLogger(level: LogLevel, sink: LogSink, opts: LoggerOptions = {}): pino.Logger {
  const isTty = opts.isTty ?? false;
  const { format, problem } = logFormat(opts.env ?? {}, isTty);
  const logger = pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACTED_PATHS], censor: '<secret>' },
    },
    format === 'pretty' ? prettySink(sink, isTty) : sink,
  );
  if (problem) logger.warn({}, problem);
  return logger;
}
