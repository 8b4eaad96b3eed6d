/**
 * @module channels/registry
 * Config → Channel. A new channel is one file plus one line here.
 */
import type { MethodConfig } from '../config/types.ts';
import { createLogChannel } from './log.ts';
import type { Channel, ChannelDeps } from './types.ts';
import { createWebhookChannel } from './webhook.ts';

export const CHANNEL_TYPES = ['log', 'webhook'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export function createChannel(cfg: MethodConfig, deps: ChannelDeps): Channel {
  const s = cfg.settings;
  switch (s.type) {
    case 'log': return createLogChannel(cfg.name, deps);
    case 'webhook': return createWebhookChannel(cfg.name, s, cfg.delivery, deps);
    default: {
      const unknown: never = s;
      throw new Error(`unknown method type: ${(unknown as { type: string }).type}`);
    }
  }
}
