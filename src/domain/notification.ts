/**
 * @module domain/notification
 * A notification: one or more alarms to one method. Its id is stable across retries and restarts,
 * so receivers can de-duplicate at-least-once deliveries. Today every notification carries exactly one
 * alarm; grouping will hand a channel several in one notification.
 */
import type { Alarm } from './alarm.ts';

export type NotificationState = 'pending' | 'inflight' | 'dead';

/** What a channel is handed for one delivery attempt. */
export interface Delivery {
  readonly notificationId: string;
  /** 1-based number of this attempt. */
  readonly attempt: number;
  readonly method: string;
  /** The alarms this notification carries (at least one; in the order they were grouped). */
  readonly alarms: readonly Alarm[];
  /** Epoch ms when the notification was enqueued. */
  readonly createdAt: number;
  /** 0 or absent: a state change; n: the n-th reminder that the alarm still fires (repeat_interval). */
  readonly repeat?: number;
  /**
   * Remote references stored for this method, by dedup key (a PagerDuty dedup_key, a Jira issue key, a
   * Slack message ts), so a resolve can address what the firing created. Loaded only for channels that
   * ask for them (Channel.remoteRefs); empty otherwise.
   */
  readonly remoteRefs: Readonly<Record<string, string>>;
}

/** Remote references to store after a successful send, by dedup key; null removes one. */
export type RemoteRefUpdates = Readonly<Record<string, string | null>>;

/** Outcome of one attempt, as every channel reports it. */
export type SendResult =
  | { readonly outcome: 'sent'; readonly status?: number; readonly remoteRefs?: RemoteRefUpdates }
  | {
      readonly outcome: 'retry';
      readonly status?: number;
      readonly error: string;
      /** Server-requested delay (Retry-After), in ms, as the server asked; the retry policy caps it. */
      readonly retryAfterMs?: number;
    }
  | { readonly outcome: 'permanent'; readonly status?: number; readonly error: string };
