/**
 * @module channels/types
 * The one small interface every channel implements, the descriptor a channel module exports (so adding a
 * channel is one file plus one registry line), and the transport ports channels use.
 *
 * Words: a *channel* is a kind of destination (`webhook`, `log`, ...): one module here. A *method* is a
 * named, configured instance of a channel (`methods.ops-hook` with `type: webhook`).
 */
import type * as z from 'zod';
import type { Delivery, SendResult } from '../domain/notification.ts';
import type { Clock } from '../lib/clock.ts';
import type { Secret } from '../lib/secret.ts';
import type { ChannelTemplates, Renderer } from '../render/template.ts';

export interface HttpRequest {
  readonly url: string;
  readonly method: 'POST' | 'PUT' | 'PATCH' | 'GET';
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

/** One mail to send through a mail transport. */
export interface MailMessage {
  readonly from: string;
  readonly to: readonly string[];
  /** Carbon copies: in the Cc header and recipients of the envelope. */
  readonly cc?: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Where and how a mail transport connects (an SMTP server). */
export interface MailServer {
  readonly host: string;
  readonly port: number;
  /** `tls`: TLS from the start (465); `starttls`: upgrade required; `none`: plain (loopback relays only). */
  readonly security: 'tls' | 'starttls' | 'none';
  readonly username?: string;
  readonly password?: Secret;
}

/**
 * Outbound mail: a non-HTTP transport port. Rejects with an error carrying `responseCode` (the SMTP reply
 * code) or `code` (a network error code), which the mail channel classifies like HTTP statuses.
 */
export interface MailTransport {
  send(message: MailMessage, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface Channel {
  /** The method name from config (e.g. "ops-hook"). */
  readonly method: string;
  /**
   * True when the channel reads and writes remote references (`Delivery.remoteRefs`, `SendResult.remoteRefs`):
   * the dispatcher then loads the stored references of each notification's dedup keys before sending.
   * A firing's reference reaches its resolve only if they are delivered in that order; ordering per
   * (method, dedup key) comes with the alarm lifecycle.
   */
  readonly remoteRefs?: boolean;
  /** One attempt. Never throws: every failure is a SendResult. */
  send(delivery: Delivery, signal: AbortSignal): Promise<SendResult>;
}

export interface ChannelDeps {
  readonly http: HttpClient;
  readonly clock: Clock;
  /** Where the `log` channel prints (stdout by default); a returned promise settles when the line is written. */
  readonly writeLine: (line: string) => void | Promise<void>;
  /** Opens a mail transport for an SMTP server (provided by the runtime; absent where no mail channel is configured). */
  readonly mail?: (server: MailServer) => MailTransport;
}

/** A secret setting, written in config as `<name>` or `<name>_file` (a file holding it), never both. */
export interface SecretSpec {
  readonly required: boolean;
  /** For the docs table. */
  readonly description: string;
  /** Returns a problem (never echoing the value) or undefined. */
  readonly check?: (value: string) => string | undefined;
}

/** Reports a configuration problem at a field of the method ("url", "headers.X-Key"). */
export type Problem = (field: string, message: string) => void;

/**
 * What a channel module exports: everything config parsing, the docs table and the app need to know.
 * `fields` holds the channel's own settings (no `type`, no delivery overrides, no secrets); its defaults
 * are `defaults`, applied before validation. Secrets are resolved to `Secret`s before `settings` runs.
 */
export interface ChannelDescriptor<S = unknown> {
  /** The `type:` value in config. */
  readonly type: string;
  /** One line for the docs table. */
  readonly summary: string;
  readonly fields: z.ZodObject;
  readonly defaults: Readonly<Record<string, unknown>>;
  readonly secrets: Readonly<Record<string, SecretSpec>>;
  /**
   * Validated fields + resolved secrets → the channel's settings. Cross-field checks zod cannot express
   * are reported through `problem(field, message)` (the settings are then never used).
   */
  settings(fields: Record<string, unknown>, secrets: Readonly<Record<string, Secret | undefined>>, problem: Problem): S;
  /** Its message templates (eta): the parts it renders and their defaults; a method's `template:` overrides them. */
  readonly templates?: ChannelTemplates;
  /** The provider's documented rate limit, applied unless a method sets `rate_limit` (or `off`). */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
  /** A firing opens something only its resolve closes (a PagerDuty incident): `test-method` sends both. */
  readonly opensIncidents?: boolean;
  /**
   * Whether a method of this channel can carry several alarms in one notification (routes[].group_by
   * gathers them only for such methods; the others get one notification per alarm).
   */
  carriesSeveral?(settings: S): boolean;
  /** `renderer`: the method's templates, compiled (renders nothing for a channel without templates). */
  create(method: string, settings: S, deps: ChannelDeps, renderer: Renderer): Channel;
}

/**
 * Typed helper for writing a descriptor: `fields` output and secret names flow into `settings`, and
 * `settings`' result into `create`.
 */
export function defineChannel<F extends z.ZodObject, K extends string, S>(d: {
  readonly type: string;
  readonly summary: string;
  readonly fields: F;
  readonly defaults: Partial<z.input<F>>;
  readonly secrets: Readonly<Record<K, SecretSpec>>;
  settings(fields: z.output<F>, secrets: Readonly<Record<K, Secret | undefined>>, problem: Problem): S;
  readonly templates?: ChannelTemplates;
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
  readonly opensIncidents?: boolean;
  carriesSeveral?(settings: S): boolean;
  create(method: string, settings: S, deps: ChannelDeps, renderer: Renderer): Channel;
}): ChannelDescriptor<S> {
  return d as unknown as ChannelDescriptor<S>;
}
