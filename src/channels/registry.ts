/**
 * @module channels/registry
 * Every channel, as the list of descriptors config parsing, the docs table and the app are derived from.
 * A new channel is one file plus one line here.
 */
import type { ChannelDescriptor, Channel, ChannelDeps } from './types.ts';
import { logChannel } from './log.ts';
import { webhookChannel } from './webhook.ts';

export const CHANNELS: readonly ChannelDescriptor[] = [logChannel, webhookChannel];

export function channelDescriptor(type: string): ChannelDescriptor | undefined {
  return CHANNELS.find((c) => c.type === type);
}

/** A configured method → its channel. An unknown type is an error, never a silent fallback. */
export function createChannel(method: { readonly name: string; readonly type: string; readonly settings: unknown }, deps: ChannelDeps): Channel {
  const d = channelDescriptor(method.type);
  if (!d) throw new Error(`method ${method.name}: unknown channel type "${method.type}"; expected one of: ${CHANNELS.map((c) => c.type).join(', ')}`);
  return d.create(method.name, method.settings, deps);
}
