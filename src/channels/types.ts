/**
 * @module channels/types
 * The one small interface every notification method implements, and the outbound HTTP port.
 */
import type { Delivery, SendResult } from '../domain/notification.ts';
import type { Clock, Random } from '../lib/clock.ts';

export interface HttpRequest {
  readonly url: string;
  readonly method: 'POST' | 'PUT' | 'GET';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface HttpResponse {
  readonly status: number;
  /** Header lookup, case-insensitive. */
  header(name: string): string | undefined;
  /** At most the first 1 KiB of the body, as text. */
  readonly bodyExcerpt: string;
}

/** Outbound HTTP, provided by the runtime (undici Pool on Node, fetch on Bun/Deno). Rejects on network errors and abort. */
export type HttpClient = (req: HttpRequest, signal: AbortSignal) => Promise<HttpResponse>;

export interface Channel {
  /** The method name from config (e.g. "ops-hook"). */
  readonly method: string;
  /** One attempt. Never throws: every failure is a SendResult. */
  send(delivery: Delivery, signal: AbortSignal): Promise<SendResult>;
}

export interface ChannelDeps {
  readonly http: HttpClient;
  readonly clock: Clock;
  readonly random: Random;
  /** Where the `log` method prints (stdout by default); a returned promise settles when the line is written. */
  readonly writeLine: (line: string) => void | Promise<void>;
}
