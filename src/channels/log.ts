/**
 * @module channels/log
 * Print the envelope as one JSON line (stdout by default).
 */
import { toEnvelope } from '../domain/envelope.ts';
import { coerceError } from '../lib/errors.ts';
import type { Channel, ChannelDeps } from './types.ts';

export function createLogChannel(method: string, deps: ChannelDeps): Channel {
  return {
    method,
    async send(d) {
      try {
        // Sent only once the line is really written: a closed stdout means retry, not loss.
        await deps.writeLine(JSON.stringify(toEnvelope(d)));
        return { outcome: 'sent' };
      } catch (e) {
        return { outcome: 'retry', error: coerceError(e).message || 'write failed' };
      }
    },
  };
}
