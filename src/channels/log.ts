/**
 * @module channels/log
 * Print the envelope as one JSON line (stdout by default).
 */
import * as z from 'zod';
import { toEnvelope } from '../domain/envelope.ts';
import { coerceError } from '../lib/errors.ts';
import { defineChannel, type Channel, type ChannelDeps } from './types.ts';

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

export const logChannel = defineChannel({
  type: 'log',
  summary: 'print the notification envelope as one JSON line on stdout (the built-in `log` method); a notification counts as sent once its line is written, and is retried while stdout is closed',
  fields: z.strictObject({}),
  defaults: {},
  secrets: {},
  settings: () => ({}),
  carriesSeveral: () => true,
  create: (method, _settings, deps) => createLogChannel(method, deps),
});
