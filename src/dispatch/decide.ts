/**
 * @module dispatch/decide
 * Pure: what happens to a notification after an attempt — sent, retried at a time, or dead-lettered.
 */
import type { SendResult } from '../domain/notification.ts';
import type { RetryPolicy } from '../config/types.ts';
import { backoffDelay } from '../lib/backoff.ts';

export type Decision =
  | { readonly kind: 'sent' }
  | { readonly kind: 'retry'; readonly nextAttemptAt: number }
  | { readonly kind: 'dead'; readonly reason: string; readonly permanent: boolean };

export interface AttemptFacts {
  /** 1-based number of the attempt that just finished. */
  readonly attempt: number;
  /** When the notification was enqueued (epoch ms). */
  readonly createdAt: number;
  readonly now: number;
}

function human(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * Every notification gets at least one attempt. After a retryable failure it is retried with
 * full-jitter backoff, or later if the server's Retry-After (capped by retry_after_cap) asks for more, never past its max_age deadline,
 * and dead-lettered once max_attempts attempts failed or the deadline has passed.
 */
export function decide(result: SendResult, f: AttemptFacts, policy: RetryPolicy, random: () => number): Decision {
  if (result.outcome === 'sent') return { kind: 'sent' };
  if (result.outcome === 'permanent') return { kind: 'dead', reason: `permanent failure: ${result.error}`, permanent: true };
  if (f.attempt >= policy.maxAttempts) {
    return { kind: 'dead', reason: `gave up after ${f.attempt} attempts (max_attempts): ${result.error}`, permanent: false };
  }
  const deadline = f.createdAt + policy.maxAgeMs;
  if (f.now >= deadline) {
    return { kind: 'dead', reason: `gave up after max_age ${human(policy.maxAgeMs)}: ${result.error}`, permanent: false };
  }
  // Retry-After is a floor: a receiver saying "0" (or a date already past) must not burn every attempt at once.
  // It is capped here (retry_after_cap), whatever channel reported it.
  const backoff = backoffDelay(f.attempt, { baseMs: policy.backoffBaseMs, capMs: policy.backoffCapMs }, random);
  const asked = Math.min(result.retryAfterMs ?? 0, policy.retryAfterCapMs);
  const delay = Math.max(asked, backoff);
  return { kind: 'retry', nextAttemptAt: Math.min(f.now + delay, deadline) };
}
