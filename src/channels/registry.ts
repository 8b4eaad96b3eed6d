/**
 * @module channels/registry
 * Every channel, as the list of descriptors config parsing, the docs table and the app are derived from.
 * A new channel is one file plus one line here.
 */
import { coerceError } from '../lib/errors.ts';
import { redact, secretsIn, type Secret } from '../lib/secret.ts';
import type { SendResult } from '../domain/notification.ts';
import type { ChannelDescriptor, Channel, ChannelDeps } from './types.ts';
import { createRenderer, type ChannelTemplates, type MessageTemplates } from '../render/template.ts';
import { logChannel } from './log.ts';
import { webhookChannel } from './webhook.ts';
import { slackChannel } from './slack.ts';
import { pagerdutyChannel } from './pagerduty.ts';
import { emailChannel } from './email.ts';

export const CHANNELS: readonly ChannelDescriptor[] = [logChannel, webhookChannel, slackChannel, pagerdutyChannel, emailChannel];

export function channelDescriptor(type: string): ChannelDescriptor | undefined {
  return CHANNELS.find((c) => c.type === type);
}

/**
 * A configured method → its channel. An unknown type is an error, never a silent fallback. Whatever the
 * channel does, its results never carry one of the method's secrets, and a channel that throws gets a
 * retry (with the error text redacted) rather than an unexplained failure.
 */
export function createChannel(
  method: { readonly name: string; readonly type: string; readonly settings: unknown; readonly template?: MessageTemplates; readonly timezone?: string },
  deps: ChannelDeps,
): Channel {
  const d = channelDescriptor(method.type);
  if (!d) throw new Error(`method ${method.name}: unknown channel type "${method.type}"; expected one of: ${CHANNELS.map((c) => c.type).join(', ')}`);
  // Compiled here, where the channel runs (a delivery thread gets the sources: functions do not cross).
  const renderer = createRenderer(d.templates ?? NO_TEMPLATES, method.template ?? {}, method.timezone ?? 'UTC');
  return guardChannel(d.create(method.name, method.settings, deps, renderer), secretsIn(method.settings));
}

/** Can a method carry several alarms in one notification (grouping)? */
export function carriesSeveral(method: { readonly type: string; readonly settings: unknown }): boolean {
  return channelDescriptor(method.type)?.carriesSeveral?.(method.settings) ?? false;
}

const NO_TEMPLATES: ChannelTemplates = { parts: [], firing: {}, resolved: {} };

/** The channel, with its failures' texts redacted against `secrets` and a throw turned into a retry. */
export function guardChannel(channel: Channel, secrets: readonly Secret[]): Channel {
  const clean = (r: SendResult): SendResult => (r.outcome === 'sent' || secrets.length === 0 ? r : { ...r, error: redact(r.error, secrets) });
  return {
    method: channel.method,
    ...(channel.remoteRefs !== undefined && { remoteRefs: channel.remoteRefs }),
    async send(delivery, signal) {
      try {
        return clean(await channel.send(delivery, signal));
      } catch (e) {
        return clean({ outcome: 'retry', error: `channel failed: ${coerceError(e).message}` });
      }
    },
  };
}
