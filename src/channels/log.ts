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
        deps.writeLine(JSON.stringify(toEnvelope(d)));
        return { outcome: 'sent' };
      } catch (e) {
        return { outcome: 'retry', error: coerceError(e).message || 'write failed' };
      }
    },
  };
}
