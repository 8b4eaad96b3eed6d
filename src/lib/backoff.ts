/**
 * Exponential backoff with full jitter: delay = random() * min(cap, base * 2^(attempt-1)).
 * `attempt` is the 1-based number of the attempt that just failed.
 */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
}

export function backoffCeiling(attempt: number, p: BackoffPolicy): number {
  const exp = Math.min(Math.max(attempt - 1, 0), 62);
  return Math.min(p.capMs, p.baseMs * 2 ** exp);
}

export function backoffDelay(attempt: number, p: BackoffPolicy, random: () => number): number {
  return Math.floor(random() * backoffCeiling(attempt, p));
}
