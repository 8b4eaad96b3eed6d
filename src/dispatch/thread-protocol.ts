/**
 * @module dispatch/thread-protocol
 * What the relay's main thread and its delivery thread say to each other. The delivery thread runs the
 * dispatcher on a connection of its own to the same database; the main thread ingests, keeps the count of
 * undelivered notifications and the metrics, and owns the log and stdout (the thread sends lines to it).
 * Everything here is plain data (structured clone); secrets travel sealed (lib/thread-data).
 */
import type { ClockLink } from '../lib/monotonic-clock.ts';
import type { Sealed } from '../lib/thread-data.ts';
import type { SendResult } from '../domain/notification.ts';
import type { Alarm } from '../domain/alarm.ts';
import type { DeliverySettings, MethodConfig } from '../config/types.ts';

/** What the delivery thread starts from (its workerData). */
export interface DeliveryThreadInit {
  readonly databaseFile: string;
  /** Synchronous level of its connection (see outbox/delivery: NORMAL at most). */
  readonly synchronous: 'OFF' | 'NORMAL';
  readonly batchSize: number;
  readonly pollIntervalMs: number;
  /** The cell of the write lock shared with the main thread (outbox/write-lock). */
  readonly writeLock: SharedArrayBuffer;
  /** The relay's clock, to follow (lib/monotonic-clock); without it, the wall clock (tests). */
  readonly clock?: ClockLink;
  /** The methods and delivery settings (a sealed DeliveryView). */
  readonly view: Sealed;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type ToDeliveryThread =
  /** New work may be due; `alarms`: alarms just committed, with their notification counts (for its cache). */
  | { readonly type: 'nudge'; readonly alarms?: readonly (readonly [alarm: Alarm, notifications: number])[] }
  /** Methods and delivery settings after a reload (a sealed DeliveryView). */
  | { readonly type: 'reload'; readonly view: Sealed }
  | { readonly type: 'idle'; readonly id: number }
  | { readonly type: 'stop'; readonly graceMs: number }
  | { readonly type: 'line-written'; readonly id: number; readonly error?: string };

export type FromDeliveryThread =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly error: string }
  /** Since the last report: notifications that left the outbox, attempts and dead letters by method. */
  | {
      readonly type: 'report';
      readonly settled: number;
      readonly inFlight: number;
      readonly attempts: readonly (readonly [method: string, outcome: SendResult['outcome'], latencyMs: number, canary: boolean])[];
      readonly dead: readonly (readonly [method: string, canary: boolean])[];
    }
  | { readonly type: 'log'; readonly level: LogLevel; readonly fields: Record<string, unknown>; readonly msg: string }
  /** A line for the `log` channel: the main thread writes it and answers line-written. */
  | { readonly type: 'line'; readonly id: number; readonly line: string }
  | { readonly type: 'idle'; readonly id: number }
  | { readonly type: 'stopped' };

/** The main thread's handle on a started delivery thread. */
export interface ThreadHandle {
  post(msg: ToDeliveryThread): void;
  onMessage(fn: (msg: FromDeliveryThread) => void): void;
  /** The thread ended: `error` when it threw or could not start. */
  onExit(fn: (code: number, error?: Error) => void): void;
  terminate(): Promise<void>;
}

/** The delivery thread's side. */
export interface ThreadPort {
  post(msg: FromDeliveryThread): void;
  onMessage(fn: (msg: ToDeliveryThread) => void): void;
  /** Lets the thread end once its work is done. */
  close(): void;
}

/** The part of the configuration the delivery thread needs (sealed for the trip). */
export interface DeliveryView {
  readonly methods: Readonly<Record<string, MethodConfig>>;
  readonly delivery: DeliverySettings;
}
