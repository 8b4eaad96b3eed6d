/**
 * @module domain/notification
 * A notification: one alarm to one method. Its id is stable across retries and restarts,
 * so receivers can de-duplicate at-least-once deliveries.
 */
import type { Alarm } from './alarm.ts';

export type NotificationState = 'pending' | 'inflight' | 'dead';

/** What a channel is handed for one delivery attempt. */
export interface Delivery {
  readonly notificationId: string;
  /** 1-based number of this attempt. */
  readonly attempt: number;
  readonly method: string;
  readonly alarm: Alarm;
  /** Epoch ms when the notification was enqueued. */
  readonly createdAt: number;
}

/** Outcome of one attempt, as every channel reports it. */
export type SendResult =
  | { readonly outcome: 'sent'; readonly status?: number }
  | {
      readonly outcome: 'retry';
      readonly status?: number;
      readonly error: string;
      /** Server-requested delay (Retry-After), in ms, already capped by the classifier. */
      readonly retryAfterMs?: number;
    }
  | { readonly outcome: 'permanent'; readonly status?: number; readonly error: string };
