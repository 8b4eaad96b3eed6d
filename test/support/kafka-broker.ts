/**
 * The Kafka broker the tests talk to: the single-node broker of scripts/kafka, which scripts/run-tests.mjs
 * starts before the suite (through scripts/kafka-peer.mjs) and names in the environment: TOCSIN_TEST_KAFKA
 * holds its bootstrap address (127.0.0.1:PORT), or TOCSIN_TEST_KAFKA_ERROR says why there is none.
 *
 * A test that needs it: `if (!needs(t, kafkaMissing())) return;` (needs from ./peers.ts), then
 * `kafkaBootstrap()!`. By hand: `scripts/kafka start`, then TOCSIN_TEST_KAFKA=127.0.0.1:19092 on the
 * test command.
 */

/** host:port of the broker, or undefined when the runner started none. */
export function kafkaBootstrap(): string | undefined {
  const bootstrap = process.env.TOCSIN_TEST_KAFKA?.trim();
  return bootstrap ? bootstrap : undefined;
}

/** Why there is no broker (for `needs`), or undefined when there is one. */
export function kafkaMissing(): string | undefined {
  if (kafkaBootstrap() !== undefined) return undefined;
  const error = process.env.TOCSIN_TEST_KAFKA_ERROR?.trim();
  if (error) return `no Kafka broker: ${error}`;
  return 'TOCSIN_TEST_KAFKA is not set: run the suite with npm test, which starts scripts/kafka';
}
