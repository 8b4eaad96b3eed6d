/**
 * The tocsin side of the real-peer tests (test/e2e/alertmanager-peer.test.ts, prometheus-peer.test.ts): in a
 * fresh temp directory, a webhook sink and tocsin (node target) routing every alarm to it, with the sources
 * a peer authenticates as; all of it stopped and removed at the end of the test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sinkRelayConfig, startRelay, type RelayProcess } from '../e2e/relay-process.ts';
import { startWebhookSink, type ReceivedRequest, type WebhookSink } from '../e2e/webhook-sink.ts';
import type { Later } from './peer-process.ts';

/** tocsin's config: every alarm to the sink; sources `name: { token | basic_auth }` as given (YAML flow text). */
export function relayConfig(dataDir: string, sinkUrl: string, sources: Record<string, string>): string {
  return [
    sinkRelayConfig(0, dataDir, sinkUrl).trimEnd(),
    'sources:',
    ...Object.entries(sources).map(([name, credentials]) => `  ${name}: ${credentials}`),
    '',
  ].join('\n');
}

/** A source authenticated by this bearer token (YAML flow text, for relayConfig). */
export const tokenSource = (token: string) => `{ token: ${JSON.stringify(token)} }`;

export interface SinkRelay {
  /** The temp directory (tocsin's data directory is in it; a test may put its peer's files there too). */
  readonly dir: string;
  readonly sink: WebhookSink;
  readonly relay: RelayProcess;
}

/**
 * A temp directory named `dirPrefix…`, a webhook sink, and tocsin with its data in that directory, every
 * alarm routed to the sink and `sources` configured (see relayConfig); each stopped or removed by `later`.
 */
export async function startSinkRelay(later: Later, dirPrefix: string, sources: Record<string, string>): Promise<SinkRelay> {
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  later(() => rmSync(dir, { recursive: true, force: true }));
  const sink = await startWebhookSink();
  later(() => sink.close());
  const dataDir = join(dir, 'tocsin-data');
  const relay = await startRelay({ configYaml: relayConfig(dataDir, sink.url, sources), dataDir });
  later(() => relay.stop());
  return { dir, sink, relay };
}

/** What the sink accepted for the alarm named `name`, in order: its statuses and envelopes. */
export function received(sink: WebhookSink, name: string): ReceivedRequest[] {
  return sink.requests.filter((r) => r.accepted && r.envelope?.alarm?.name === name);
}
