// The Kafka broker for the test suite, from plain Node (scripts/run-tests.mjs): uses the broker of
// scripts/kafka when it is already running, starts it otherwise (fetching its jars the first time), and
// stops it afterwards only if it was started here.
//
//   const kafka = startKafkaForSuite();
//   ... run the tests with kafkaTestEnv(kafka) added to their environment ...
//   stopKafkaIfStarted(kafka.startedHere);
//
// The tests read the outcome from their environment (test/support/kafka-broker.ts): TOCSIN_TEST_KAFKA
// holds the bootstrap address, or TOCSIN_TEST_KAFKA_ERROR says why there is no broker.
// scripts/kafka reads its own settings (TOCSIN_KAFKA_PORT, TOCSIN_KAFKA_DIR, ...) from the environment,
// which it inherits from here.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'kafka');
/** `start` may fetch the jars first (tens of seconds from an empty cache), then waits for the broker. */
const START_TIMEOUT_MS = 180_000;
/** `stop` waits up to 30 s for SIGTERM, then SIGKILLs and waits up to 10 s more. */
const STOP_TIMEOUT_MS = 60_000;

/** Runs scripts/kafka COMMAND: stdout captured, stderr (its progress and errors) straight to ours. */
function kafka(command, timeout) {
  return spawnSync(SCRIPT, [command], { encoding: 'utf8', timeout, killSignal: 'SIGTERM', stdio: ['ignore', 'pipe', 'inherit'] });
}

/** The last non-empty line of `text`. */
function lastLine(text) {
  const lines = (text ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines[lines.length - 1] ?? '';
}

/** Why a run of scripts/kafka failed, in one line. */
function failure(command, r) {
  if (r.error?.code === 'ETIMEDOUT') return `scripts/kafka ${command} did not finish within ${(command === 'start' ? START_TIMEOUT_MS : STOP_TIMEOUT_MS) / 1000} s`;
  if (r.error) return `cannot run scripts/kafka ${command}: ${r.error.message}`;
  return `scripts/kafka ${command} failed (${r.signal ? `killed by ${r.signal}` : `exit ${r.status}`}; see its output above)`;
}

/**
 * The broker for this run of the suite.
 * @returns {{ bootstrap?: string; startedHere: boolean; error?: string }} `bootstrap`: host:port for the
 *   clients; `startedHere`: whether this call started it (so it should be stopped after the suite);
 *   `error`: why there is no broker.
 */
export function startKafkaForSuite() {
  // Already running (a developer's broker, or one left by an earlier run): use it, and leave it running.
  const status = kafka('status', 30_000);
  if (status.error) return { startedHere: false, error: failure('status', status) };
  const running = /^running (\S+:\d+) \(pid \d+\)$/.exec(lastLine(status.stdout));
  if (status.status === 0 && running) return { bootstrap: running[1], startedHere: false };

  console.log('== scripts/kafka start (a Kafka broker for the tests)');
  const start = kafka('start', START_TIMEOUT_MS);
  const bootstrap = lastLine(start.stdout);
  if (start.status === 0 && /^\S+:\d+$/.test(bootstrap)) return { bootstrap, startedHere: true };
  const error = start.status === 0 ? `scripts/kafka start printed no bootstrap address (stdout: ${JSON.stringify(start.stdout)})` : failure('start', start);
  // A start that failed by itself has stopped its broker already; one cut off here (the timeout) may have
  // left it starting up.
  if (start.error) kafka('stop', STOP_TIMEOUT_MS);
  return { startedHere: false, error };
}

/** The environment variables that tell the tests about the broker (see test/support/kafka-broker.ts). */
export function kafkaTestEnv(result) {
  return result.bootstrap !== undefined ? { TOCSIN_TEST_KAFKA: result.bootstrap } : { TOCSIN_TEST_KAFKA_ERROR: result.error ?? 'no Kafka broker' };
}

/** Stops the broker if startKafkaForSuite started it; a broker that was already running is left alone. */
export function stopKafkaIfStarted(startedHere) {
  if (!startedHere) return;
  const r = kafka('stop', STOP_TIMEOUT_MS);
  if (r.status !== 0) console.error(failure('stop', r));
}
